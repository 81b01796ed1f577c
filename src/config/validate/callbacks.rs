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
        rate_limit_per_second: raw.rate_limit_per_second.unwrap_or(d.rate_limit_per_second),
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
    WatchdogPolicy {
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
    }
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
    fn bad_watchdog_values_are_reported() {
        let text =
            format!("{BASE}[watchdog]\nmax_checks = 0\nttl_by_method = {{ cash = \"1m\" }}\n");
        let errs = load_str(&text, "t.toml", &|_| None, 1).unwrap_err();
        let all = errs.to_string();
        assert!(all.contains("watchdog.max_checks"), "{all}");
        assert!(all.contains("watchdog.ttl_by_method.cash"), "{all}");
    }
}
