//! `[callbacks]` and `[watchdog]`.

use std::time::Duration;

use super::super::raw::{RawCallbacks, RawWatchdog};
use super::super::spans::Diagnostics;
use super::super::{CallbackPolicy, WatchdogPolicy};
use super::{duration, int_in};
use crate::model::Method;

pub(super) fn callbacks(raw: &RawCallbacks, diag: &mut Diagnostics<'_>) -> CallbackPolicy {
    let d = CallbackPolicy::default();
    let max_body_bytes = match raw.max_body_bytes {
        None => d.max_body_bytes,
        Some(0) => {
            diag.error("callbacks.max_body_bytes", "must be at least 1");
            d.max_body_bytes
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let replay_tolerance = match raw.replay_tolerance.as_deref() {
        None => d.replay_tolerance,
        Some(s) if s.trim().eq_ignore_ascii_case("off") => None,
        Some(s) => Some(duration(diag, "callbacks.replay_tolerance", Some(s), 300)),
    };
    CallbackPolicy {
        max_body_bytes,
        replay_tolerance,
        late_success_refund: raw.late_success_refund.unwrap_or(d.late_success_refund),
        orphan_grace: duration(
            diag,
            "callbacks.orphan_grace",
            raw.orphan_grace.as_deref(),
            secs(d.orphan_grace),
        ),
        rate_limit_per_second: raw.rate_limit_per_second.unwrap_or(d.rate_limit_per_second),
    }
}

/// NPCI's status-check floor (UPI.md section 1.4): the first check no sooner than
/// 90 s after initiation, checks at least 90 s apart, at most 3 in the first 2 hours.
pub const NPCI_MIN_WAIT: Duration = Duration::from_secs(90);
pub const NPCI_MAX_CHECKS_IN_WINDOW: u32 = 3;
pub const NPCI_WINDOW: Duration = Duration::from_secs(2 * 3600);

/// How many checks of the schedule fall inside NPCI's 2-hour window (checks at
/// `first + k * interval`, k < `max`).
pub fn checks_in_npci_window(first: Duration, interval: Duration, max: u32) -> u32 {
    (0..max)
        .filter(|k| first + interval * *k < NPCI_WINDOW)
        .count() as u32
}

fn npci_floor(p: &WatchdogPolicy, diag: &mut Diagnostics<'_>) {
    if p.first_check_after < NPCI_MIN_WAIT {
        diag.error(
            "watchdog.first_check_after",
            "NPCI allows no status check sooner than 90s after initiation \
             (set watchdog.npci_floor = false only for a sandbox or load test)",
        );
    }
    if p.check_interval < NPCI_MIN_WAIT {
        diag.error(
            "watchdog.check_interval",
            "NPCI requires status checks at least 90s apart \
             (set watchdog.npci_floor = false only for a sandbox or load test)",
        );
    }
    let n = checks_in_npci_window(p.first_check_after, p.check_interval, p.max_checks);
    if n > NPCI_MAX_CHECKS_IN_WINDOW {
        diag.error(
            "watchdog.max_checks",
            format!("this schedule makes {n} status checks in the first 2 hours; NPCI allows 3"),
        );
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

pub(super) fn watchdog(raw: &RawWatchdog, diag: &mut Diagnostics<'_>) -> WatchdogPolicy {
    let d = WatchdogPolicy::default();
    let mut ttl_by_method = std::collections::HashMap::new();
    for (m, v) in &raw.ttl_by_method {
        let path = format!("watchdog.ttl_by_method.{m}");
        match Method::parse(m) {
            Some(method) => {
                ttl_by_method.insert(method, duration(diag, &path, Some(v), secs(d.ttl)));
            }
            None => diag.error(
                &path,
                format!(
                    "unknown method \"{m}\"; expected one of {}",
                    Method::ALL.map(|m| m.as_str()).join(", ")
                ),
            ),
        }
    }
    let p = WatchdogPolicy {
        enabled: raw.enabled.unwrap_or(d.enabled),
        ttl: duration(diag, "watchdog.ttl", raw.ttl.as_deref(), secs(d.ttl)),
        ttl_by_method,
        first_check_after: duration(
            diag,
            "watchdog.first_check_after",
            raw.first_check_after.as_deref(),
            secs(d.first_check_after),
        ),
        check_interval: duration(
            diag,
            "watchdog.check_interval",
            raw.check_interval.as_deref(),
            secs(d.check_interval),
        ),
        max_checks: int_in(
            diag,
            "watchdog.max_checks",
            raw.max_checks,
            1..=10,
            d.max_checks,
        ),
        scan_interval: duration(
            diag,
            "watchdog.scan_interval",
            raw.scan_interval.as_deref(),
            secs(d.scan_interval),
        ),
        expire_after: duration(
            diag,
            "watchdog.expire_after",
            raw.expire_after.as_deref(),
            secs(d.expire_after),
        ),
    };
    if raw.npci_floor.unwrap_or(true) {
        npci_floor(&p, diag);
    }
    p
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const BASE: &str = "[[gateway]]\nname = \"g\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:9\"\n\
        [[route]]\nname = \"r\"\nsplit = [{ gateway = \"g\", weight = 1 }]\n";

    #[test]
    fn replay_window_can_be_switched_off_and_ttls_set_per_method() {
        let text = format!(
            "{BASE}[callbacks]\nreplay_tolerance = \"off\"\n[watchdog]\nttl_by_method = {{ upi_collect = \"10m\" }}\n"
        );
        let s = load_str(&text, "t.toml", &|_| None, 1).unwrap();
        assert_eq!(s.callbacks.replay_tolerance, None);
        let ttl = s.watchdog.ttl_for(Some(crate::model::Method::UpiCollect));
        assert_eq!(ttl.as_secs(), 600);
        assert_eq!(s.watchdog.ttl_for(None).as_secs(), 420);
        let defaults = load_str(BASE, "t.toml", &|_| None, 1).unwrap();
        assert_eq!(
            defaults.callbacks.replay_tolerance.map(|d| d.as_secs()),
            Some(300)
        );
    }

    #[test]
    fn check_refuses_a_schedule_below_the_npci_floor() {
        for (extra, key) in [
            ("first_check_after = \"30s\"", "watchdog.first_check_after"),
            ("check_interval = \"60s\"", "watchdog.check_interval"),
            ("max_checks = 4", "watchdog.max_checks"),
        ] {
            let text = format!("{BASE}[watchdog]\n{extra}\n");
            let errs = load_str(&text, "t.toml", &|_| None, 1).unwrap_err();
            assert!(errs.to_string().contains(key), "{extra}: {errs}");
            // The documented override for sandboxes and compressed load tests.
            let text = format!("{BASE}[watchdog]\n{extra}\nnpci_floor = false\n");
            load_str(&text, "t.toml", &|_| None, 1).unwrap();
        }
        // Four checks, the fourth after the 2-hour window: allowed.
        let text = format!(
            "{BASE}[watchdog]\nmax_checks = 4\nfirst_check_after = \"90s\"\ncheck_interval = \"1h\"\n"
        );
        load_str(&text, "t.toml", &|_| None, 1).unwrap();
        assert_eq!(
            super::checks_in_npci_window(
                std::time::Duration::from_secs(90),
                std::time::Duration::from_secs(3600),
                4
            ),
            2
        );
    }

    #[test]
    fn bad_watchdog_values_are_reported() {
        let text =
            format!("{BASE}[watchdog]\nmax_checks = 0\nttl_by_method = {{ cash = \"1m\" }}\n");
        let errs = load_str(&text, "t.toml", &|_| None, 1).unwrap_err();
        let all = errs.to_string();
        assert!(all.contains("watchdog.max_checks"), "{all}");
        assert!(all.contains("watchdog.ttl_by_method.cash"), "{all}");
    }
}
