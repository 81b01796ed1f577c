//! NPCI UPI response codes (UPI.md section 2) → unified status, reason, and whether
//! the code means "not processed, safe to try another gateway".
//!
//! One table, shared by every connector whose gateway passes the NPCI code through
//! (Juspay's payer/payee codes, PhonePe's `detailedErrorCode`, Cashfree's
//! `error_code_raw`, PayU's and Paytm's bank codes, the generic dialect's `npci_code`).
//! A gateway's own status word decides first; the NPCI code refines a failure's
//! reason and tells a deemed or pending outcome from a final one.
//!
//! `safe_to_fail_over` is true only for technical declines at the issuer / NPCI
//! health gates before any debit (XY, U28, U90, U91, Y1, UB, U09, U20): UPI.md marks
//! them "retryable" / "consider another route". Customer declines (ZA, Z9, ZM, …) are
//! final and never re-routed; timeouts after the debit leg (UT, BT, U67, U68, RB, RR,
//! RP, 96, U48) may have moved money and are never safe.

use crate::model::{PaymentStatus, Reason};

/// What one NPCI code means for a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NpciCode {
    pub code: &'static str,
    pub status: PaymentStatus,
    /// The failure's reason (`None` for success, pending and deemed).
    pub reason: Option<Reason>,
    /// Nothing was debited and another gateway may be tried.
    pub safe_to_fail_over: bool,
    /// NPCI's meaning, for logs and docs.
    pub meaning: &'static str,
}

const fn c(
    code: &'static str,
    status: PaymentStatus,
    reason: Option<Reason>,
    safe_to_fail_over: bool,
    meaning: &'static str,
) -> NpciCode {
    NpciCode {
        code,
        status,
        reason,
        safe_to_fail_over,
        meaning,
    }
}

use PaymentStatus::{Deemed, Failed, Pending, Succeeded};

const fn fail(r: Reason) -> Option<Reason> {
    Some(r)
}

/// UPI.md section 2, plus `X1` (intent/QR expired) from GATEWAYS.md section 5.
pub const TABLE: &[NpciCode] = &[
    c("00", Succeeded, None, false, "approved / completed"),
    c("01", Pending, None, false, "transaction pending"),
    c(
        "ZA",
        Failed,
        fail(Reason::DeclinedByCustomer),
        false,
        "declined by customer",
    ),
    c(
        "U69",
        Failed,
        fail(Reason::Expired),
        false,
        "collect request expired",
    ),
    c(
        "X1",
        Failed,
        fail(Reason::Expired),
        false,
        "request expired (intent / QR)",
    ),
    c(
        "ZM",
        Failed,
        fail(Reason::IncorrectPin),
        false,
        "invalid MPIN",
    ),
    c(
        "Z6",
        Failed,
        fail(Reason::PinTriesExceeded),
        false,
        "PIN tries exceeded",
    ),
    c(
        "Z9",
        Failed,
        fail(Reason::InsufficientFunds),
        false,
        "insufficient funds",
    ),
    c(
        "Z8",
        Failed,
        fail(Reason::LimitExceeded),
        false,
        "per-transaction limit exceeded",
    ),
    c(
        "Z7",
        Failed,
        fail(Reason::LimitExceeded),
        false,
        "frequency limit exceeded",
    ),
    c(
        "U16",
        Failed,
        fail(Reason::LimitExceeded),
        false,
        "risk threshold exceeded",
    ),
    c(
        "FL",
        Failed,
        fail(Reason::LimitExceeded),
        false,
        "first-transaction limit",
    ),
    c(
        "FP",
        Failed,
        fail(Reason::LimitExceeded),
        false,
        "new-user freeze period",
    ),
    c(
        "ZH",
        Failed,
        fail(Reason::InvalidVpa),
        false,
        "invalid beneficiary / VPA",
    ),
    c(
        "YE",
        Failed,
        fail(Reason::AccountBlocked),
        false,
        "remitting account blocked",
    ),
    c(
        "B3",
        Failed,
        fail(Reason::AccountBlocked),
        false,
        "not permitted to the account",
    ),
    c(
        "XH",
        Failed,
        fail(Reason::AccountBlocked),
        false,
        "remitter account does not exist",
    ),
    c(
        "ZX",
        Failed,
        fail(Reason::AccountBlocked),
        false,
        "remitter account dormant",
    ),
    c(
        "59",
        Failed,
        fail(Reason::RiskDeclined),
        false,
        "suspected fraud",
    ),
    c(
        "K1",
        Failed,
        fail(Reason::RiskDeclined),
        false,
        "declined on risk score",
    ),
    c(
        "U30",
        Failed,
        fail(Reason::Other),
        false,
        "debit has been failed",
    ),
    c(
        "XY",
        Failed,
        fail(Reason::IssuerUnavailable),
        true,
        "remitter CBS offline",
    ),
    c(
        "U28",
        Failed,
        fail(Reason::IssuerUnavailable),
        true,
        "remitter bank not available",
    ),
    c(
        "U90",
        Failed,
        fail(Reason::IssuerUnavailable),
        true,
        "remitter deemed high response time",
    ),
    c(
        "U91",
        Failed,
        fail(Reason::BeneficiaryUnavailable),
        true,
        "beneficiary deemed high response time",
    ),
    c(
        "Y1",
        Failed,
        fail(Reason::BeneficiaryUnavailable),
        true,
        "beneficiary CBS offline",
    ),
    c(
        "UB",
        Failed,
        fail(Reason::BeneficiaryUnavailable),
        true,
        "beneficiary internal exception",
    ),
    c(
        "U09",
        Failed,
        fail(Reason::IssuerUnavailable),
        true,
        "ReqAuth timeout",
    ),
    c(
        "U20",
        Failed,
        fail(Reason::IssuerUnavailable),
        true,
        "ReqAuth timeout",
    ),
    c(
        "UT",
        Failed,
        fail(Reason::IssuerUnavailable),
        false,
        "remitter unavailable (timeout)",
    ),
    c(
        "BT",
        Failed,
        fail(Reason::BeneficiaryUnavailable),
        false,
        "acquirer unavailable (timeout)",
    ),
    c("U67", Pending, None, false, "debit timeout"),
    c("U68", Pending, None, false, "credit timeout"),
    c("RR", Pending, None, false, "debit reversal timeout"),
    c("RP", Pending, None, false, "partial debit reversal timeout"),
    c(
        "U48",
        Pending,
        None,
        false,
        "transaction id not present (status check)",
    ),
    c(
        "RB",
        Deemed,
        None,
        false,
        "credit reversal timeout (deemed)",
    ),
    c(
        "96",
        Deemed,
        None,
        false,
        "reversal failure (deemed success)",
    ),
];

/// The table row for `code` (case-insensitive, surrounding blanks ignored).
pub fn lookup(code: &str) -> Option<&'static NpciCode> {
    let code = code.trim();
    TABLE.iter().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// The failure reason an NPCI code implies (`None` for unknown or non-failure codes).
pub fn reason(code: &str) -> Option<Reason> {
    lookup(code).and_then(|r| r.reason)
}

/// The unified status an NPCI code implies on its own (`None` for unknown codes).
pub fn status(code: &str) -> Option<PaymentStatus> {
    lookup(code).map(|r| r.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_upi_md_code_is_mapped_once() {
        let upi_md = [
            "00", "01", "ZA", "U69", "ZM", "Z6", "Z9", "Z8", "Z7", "U16", "FL", "FP", "YE", "B3",
            "XH", "ZX", "59", "K1", "U30", "XY", "U28", "U90", "U91", "Y1", "UB", "UT", "BT",
            "U67", "U68", "RB", "RR", "RP", "96", "U48", "U09", "U20",
        ];
        for code in upi_md {
            assert!(lookup(code).is_some(), "{code} missing");
        }
        for r in TABLE {
            assert_eq!(
                TABLE.iter().filter(|o| o.code == r.code).count(),
                1,
                "{}",
                r.code
            );
            assert_eq!(r.reason.is_some(), r.status == Failed, "{}", r.code);
        }
    }

    #[test]
    fn model_reason_agrees_with_the_table() {
        // For failures they must agree; for pending/deemed codes the model may still
        // name a reason (used only if a gateway calls such a payment failed).
        for r in TABLE.iter().filter(|r| r.reason.is_some()) {
            assert_eq!(Reason::from_npci(r.code), r.reason, "{}", r.code);
        }
    }

    #[test]
    fn issue_12_item_12_codes() {
        assert_eq!(reason("ZH"), Some(Reason::InvalidVpa));
        assert_eq!(reason("X1"), Some(Reason::Expired));
        assert_eq!(status("x1"), Some(Failed));
    }

    #[test]
    fn deemed_and_timeouts_are_never_failures_or_safe() {
        for code in ["RB", "96", "U67", "U68", "RR", "RP", "U48", "01"] {
            let r = lookup(code).unwrap();
            assert_ne!(r.status, Failed, "{code}");
            assert!(!r.safe_to_fail_over, "{code}");
        }
        for code in ["ZA", "Z9", "ZM", "U69", "UT", "BT"] {
            assert!(!lookup(code).unwrap().safe_to_fail_over, "{code}");
        }
        assert!(lookup("XY").unwrap().safe_to_fail_over);
        assert_eq!(lookup(" zz "), None);
    }
}
