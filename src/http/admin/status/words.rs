//! Evidence in plain words, IST times, and the customer-facing line per incident.
//!
//! Inside, time is UTC; the on-call people read IST, so this is the edge where it
//! is converted. Customer lines follow the incident-communication playbooks: say
//! what customers may notice, never which gateway or detector.

use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use crate::health::Event;

/// India Standard Time, UTC+05:30 (no daylight saving).
pub const IST: UtcOffset = match UtcOffset::from_hms(5, 30, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// `14:02 IST`.
pub fn ist_hm(t: OffsetDateTime) -> String {
    let t = t.to_offset(IST);
    format!("{:02}:{:02} IST", t.hour(), t.minute())
}

/// `2 Dec 14:02:09 IST`.
pub fn ist_full(t: OffsetDateTime) -> String {
    let t = t.to_offset(IST);
    format!(
        "{} {} {:02}:{:02}:{:02} IST",
        t.day(),
        &t.month().to_string()[..3],
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `1,240`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `78.1%`.
pub fn pct(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// `ejected 14:02 IST: success 78.1% vs peers 94.9% over 1,240 payments`.
pub fn transition_line(e: &Event, at: OffsetDateTime, public: bool) -> String {
    let why = evidence_words(e, public);
    if why.is_empty() {
        format!("{} {}", e.to, ist_hm(at))
    } else {
        format!("{} {}: {why}", e.to, ist_hm(at))
    }
}

/// The headline of an event's evidence, as a person would say it.
pub fn evidence_words(e: &Event, public: bool) -> String {
    let ev = &e.evidence;
    match e.trigger.as_str() {
        "success_drop" => {
            let sprt = &ev["sprt"];
            let rate = num(sprt, "observed_rate").unwrap_or(0.0);
            let n = count(sprt, "samples");
            match ev.get("baseline").filter(|b| !b.is_null()) {
                Some(b) => {
                    let whom = if b["source"] == "peers" {
                        "peers"
                    } else {
                        "its usual"
                    };
                    format!(
                        "success {} vs {whom} {} over {} payments",
                        pct(rate),
                        pct(num(b, "rate").unwrap_or(0.0)),
                        thousands(n)
                    )
                }
                None => format!("success {} over {} payments", pct(rate), thousands(n)),
            }
        }
        "hard_down" => {
            let run = count(ev, "consecutive_technical_failures");
            let limit = count(ev, "consecutive_threshold");
            if limit > 0 && run >= limit {
                format!(
                    "{run} payments in a row got no usable answer (errors, timeouts or refused connections)"
                )
            } else {
                format!(
                    "{} of {} attempts failed technically in {}s",
                    pct(num(ev, "ratio").unwrap_or(0.0)),
                    thousands(count(ev, "attempts")),
                    count(ev, "window_secs")
                )
            }
        }
        "error_spike" => format!(
            "{} of {} attempts were server errors or timeouts in {}s (limit {})",
            pct(num(ev, "ratio").unwrap_or(0.0)),
            thousands(count(ev, "attempts")),
            count(ev, "window_secs"),
            pct(num(ev, "threshold").unwrap_or(0.0))
        ),
        "latency" => format!(
            "answers took {} ms on average vs {} ms usual over {} payments",
            thousands(num(ev, "mean_ms").unwrap_or(0.0) as u64),
            thousands(num(ev, "baseline_mean_ms").unwrap_or(0.0) as u64),
            thousands(count(ev, "samples"))
        ),
        "manual" => {
            let who = if public {
                "an operator"
            } else {
                e.actor.as_str()
            };
            match e.reason.as_deref().filter(|_| !public) {
                Some(r) => format!("by {who}: {r}"),
                None => format!("by {who}"),
            }
        }
        "recheck" => "its numbers were not good enough during recovery".to_string(),
        "recovered" => "recovery checks passed".to_string(),
        "cooldown" => "cooldown over: trying a small share of traffic".to_string(),
        _ => String::new(),
    }
}

/// What support may tell customers about an incident, by state and trigger.
pub fn customer_line(state: &str, trigger: &str) -> &'static str {
    match (state, trigger) {
        ("route_outage", _) => {
            "Many customers may be experiencing failed payments. We are aware of the issue and working on it; customers can retry in a few minutes."
        }
        ("drained", _) => "Payments are working normally. Planned maintenance is in progress.",
        (_, "latency") => {
            "Some customers may find that payments take longer than usual. We are aware of the issue and working on it."
        }
        ("probing" | "ramping", _) => {
            "Payments are recovering. A small number of customers may still see failed payments; retrying usually works."
        }
        _ => {
            "Some customers may be experiencing failed payments. We are aware of the issue and working on it; customers can retry in a few minutes."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Severity;
    use crate::health::detectors::Trigger;
    use serde_json::json;

    fn event(trigger: Trigger, evidence: Value) -> Event {
        Event {
            at_ms: 0,
            kind: "rollback",
            severity: Severity::Critical,
            gateway: Some("b".into()),
            route: None,
            from: "healthy",
            to: "ejected",
            trigger,
            actor: "health".into(),
            reason: None,
            text: String::new(),
            evidence,
            transition: true,
        }
    }

    #[test]
    fn ist_is_utc_plus_five_thirty() {
        let t = time::macros::datetime!(2026-12-02 08:32:09 UTC);
        assert_eq!(ist_hm(t), "14:02 IST");
        assert_eq!(ist_full(t), "2 Dec 14:02:09 IST");
    }

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1240), "1,240");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(pct(0.781), "78.1%");
    }

    #[test]
    fn a_success_drop_says_rate_baseline_and_volume() {
        let e = event(
            Trigger::SuccessDrop,
            json!({"sprt": {"observed_rate": 0.781, "samples": 1240},
                   "baseline": {"rate": 0.949, "samples": 5000, "source": "peers"}}),
        );
        let at = time::macros::datetime!(2026-12-02 08:32:00 UTC);
        assert_eq!(
            transition_line(&e, at, false),
            "ejected 14:02 IST: success 78.1% vs peers 94.9% over 1,240 payments"
        );
    }

    #[test]
    fn hard_down_and_manual_in_plain_words() {
        let e = event(
            Trigger::HardDown,
            json!({"consecutive_technical_failures": 10, "consecutive_threshold": 10}),
        );
        assert!(evidence_words(&e, false).starts_with("10 payments in a row"));
        let mut m = event(Trigger::Manual, json!({"command": "eject"}));
        m.actor = "admin".into();
        m.reason = Some("bank maintenance".into());
        assert_eq!(evidence_words(&m, false), "by admin: bank maintenance");
        assert_eq!(evidence_words(&m, true), "by an operator");
    }

    #[test]
    fn customer_lines_never_name_gateways_or_detectors() {
        for (s, t) in [
            ("ejected", "success_drop"),
            ("ejected", "latency"),
            ("drained", "manual"),
            ("probing", ""),
            ("route_outage", ""),
        ] {
            let line = customer_line(s, t).to_lowercase();
            for jargon in [
                "gateway", "eject", "sprt", "5xx", "razorpay", "cashfree", "route",
            ] {
                assert!(!line.contains(jargon), "{line}");
            }
        }
    }
}
