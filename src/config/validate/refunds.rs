//! `[refunds]` and `[refunds.auto]`.

use super::super::RefundPolicy;
use super::super::raw::RawRefunds;
use super::super::spans::Diagnostics;
use super::{duration_or, int_in};
use crate::config::AutoRefundPolicy;

pub(super) fn validate(raw: &RawRefunds, diag: &mut Diagnostics<'_>) -> RefundPolicy {
    let d = RefundPolicy::default();
    let first_check_after = duration_or(
        diag,
        "refunds.first_check_after",
        raw.first_check_after.as_deref(),
        d.first_check_after,
    );
    if first_check_after < std::time::Duration::from_secs(1) {
        diag.error("refunds.first_check_after", "must be at least 1s");
    }
    RefundPolicy {
        first_check_after,
        check_interval: duration_or(
            diag,
            "refunds.check_interval",
            raw.check_interval.as_deref(),
            d.check_interval,
        ),
        max_checks: int_in(
            diag,
            "refunds.max_checks",
            raw.max_checks,
            1..=100,
            d.max_checks,
        ),
        max_attempts: int_in(
            diag,
            "refunds.max_attempts",
            raw.max_attempts,
            1..=10,
            d.max_attempts,
        ),
        scan_interval: duration_or(
            diag,
            "refunds.scan_interval",
            raw.scan_interval.as_deref(),
            d.scan_interval,
        ),
        auto: AutoRefundPolicy {
            tpv_failed: raw.auto.tpv_failed.unwrap_or(false),
            duplicate_payment: raw.auto.duplicate_payment.unwrap_or(false),
            late_success: raw.auto.late_success.unwrap_or(false),
            dry_run: raw.auto.dry_run.unwrap_or(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const BASE: &str = "[[gateway]]\nname = \"g\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:9\"\n\
        [[route]]\nname = \"r\"\nsplit = [{ gateway = \"g\", weight = 1 }]\n";

    #[test]
    fn auto_refunds_are_off_by_default_and_on_per_reason() {
        let s = load_str(BASE, "t.toml", &|_| None, 1).unwrap();
        assert!(!s.refunds.auto.enabled("tpv_failed"));
        assert!(!s.refunds.auto.enabled("duplicate_payment"));
        assert!(!s.refunds.auto.dry_run);
        let text = format!("{BASE}[refunds]\nmax_checks = 4\n[refunds.auto]\ntpv_failed = true\n");
        let s = load_str(&text, "t.toml", &|_| None, 1).unwrap();
        assert!(s.refunds.auto.enabled("tpv_failed"));
        assert!(!s.refunds.auto.enabled("late_success"));
        assert_eq!(s.refunds.max_checks, 4);
    }

    #[test]
    fn bad_refund_values_are_reported() {
        let text = format!(
            "{BASE}[refunds]\nmax_checks = 0\ncheck_interval = \"soon\"\n[refunds.auto]\nnope = true\n"
        );
        let all = load_str(&text, "t.toml", &|_| None, 1)
            .unwrap_err()
            .to_string();
        assert!(all.contains("refunds.max_checks"), "{all}");
        assert!(all.contains("refunds.check_interval"), "{all}");
        assert!(all.contains("nope"), "{all}");
    }
}
