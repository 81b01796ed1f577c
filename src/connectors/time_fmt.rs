//! Time conversions at the edge: gateways send IST offsets, Unix seconds or
//! milliseconds; switchyard keeps UTC.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 3339 / ISO 8601 timestamp with an offset (`2025-02-03T18:04:11+05:30`)
/// and returns it in UTC.
pub fn parse_rfc3339_utc(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Unix seconds to UTC.
pub fn from_unix_seconds(secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// Unix milliseconds to UTC.
pub fn from_unix_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// RFC 3339 text in UTC (`2025-02-03T12:34:11Z`).
pub fn format_utc(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A naive IST wall-clock time as PayU and Paytm send it (`2026-03-04 14:46:14`,
/// Paytm adds `.0`), in UTC.
pub fn parse_ist_naive(s: &str) -> Option<OffsetDateTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = s.trim();
    let t = t.split_once('.').map_or(t, |(a, _)| a);
    time::PrimitiveDateTime::parse(t, &fmt).ok().map(|p| {
        p.assume_offset(time::macros::offset!(+5:30))
            .to_offset(UtcOffset::UTC)
    })
}

/// Whether `t` is within `tolerance` of `now` (either side).
pub fn within(t: OffsetDateTime, now: OffsetDateTime, tolerance: std::time::Duration) -> bool {
    let diff = (now - t).abs();
    diff <= tolerance
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ist_to_utc() {
        let t = parse_rfc3339_utc("2025-02-03T18:04:11+05:30").unwrap();
        assert_eq!(format_utc(t), "2025-02-03T12:34:11Z");
        assert_eq!(t.offset(), UtcOffset::UTC);
        assert_eq!(
            from_unix_millis(1_738_586_052_712)
                .unwrap()
                .unix_timestamp(),
            1_738_586_052
        );
        let p = parse_ist_naive("2026-03-04 14:46:14").unwrap();
        assert_eq!(format_utc(p), "2026-03-04T09:16:14Z");
        assert_eq!(
            parse_ist_naive("2025-05-03 15:13:02.0").map(format_utc),
            Some("2025-05-03T09:43:02Z".into())
        );
    }
}
