//! Reading Adyen's answers: `/payments` result codes and actions, payment links,
//! API errors, and the refusal-reason table shared with notifications.

use serde_json::Value;

use crate::connectors::classify::{self, DeclineInfo, id_str, str_of};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{Created, Outcome, StatusReport};
use crate::model::{NextAction, Paise, PaymentStatus, Reason};

/// Adyen refusal reasons (docs.adyen.com `development-resources/refusal-reasons`):
/// `refusalReasonCode`, the `refusalReason` / notification `reason` text, ours.
pub const REFUSALS: &[(&str, &str, Reason)] = &[
    ("2", "Refused", Reason::Other),
    ("3", "Referral", Reason::Other),
    ("4", "Acquirer Error", Reason::GatewayError),
    ("5", "Blocked Card", Reason::AccountBlocked),
    ("6", "Expired Card", Reason::Other),
    ("7", "Invalid Amount", Reason::Other),
    ("9", "Issuer Unavailable", Reason::IssuerUnavailable),
    ("11", "3D Not Authenticated", Reason::DeclinedByCustomer),
    ("12", "Not enough balance", Reason::InsufficientFunds),
    ("14", "Acquirer Fraud", Reason::RiskDeclined),
    ("15", "Cancelled", Reason::CustomerDropped),
    ("16", "Shopper Cancelled", Reason::CustomerDropped),
    ("17", "Invalid Pin", Reason::IncorrectPin),
    ("18", "Pin tries exceeded", Reason::PinTriesExceeded),
    ("20", "FRAUD", Reason::RiskDeclined),
    ("22", "FRAUD-CANCELLED", Reason::RiskDeclined),
    ("23", "Transaction Not Permitted", Reason::Other),
    ("25", "Restricted Card", Reason::AccountBlocked),
    ("28", "Withdrawal amount exceeded", Reason::LimitExceeded),
    ("29", "Withdrawal count exceeded", Reason::LimitExceeded),
    ("31", "Issuer Suspected Fraud", Reason::RiskDeclined),
];

/// A refusal reason (code or text, case-insensitive; a text may carry a suffix such as
/// `Refused: ...`) → ours; unknown ones are `other`.
pub fn refusal_reason(code: Option<&str>, text: Option<&str>) -> Reason {
    if let Some(c) = code
        && let Some((_, _, r)) = REFUSALS.iter().find(|(k, _, _)| *k == c)
    {
        return *r;
    }
    let t = text.unwrap_or("").trim();
    REFUSALS
        .iter()
        .find(|(_, w, _)| {
            t.len() >= w.len()
                && t[..w.len()].eq_ignore_ascii_case(w)
                && t.is_char_boundary(w.len())
        })
        .map_or(Reason::Other, |(_, _, r)| *r)
}

/// The API error shape `{status, errorCode, message, errorType, pspReference}`.
pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let code = v
        .get("errorCode")
        .and_then(id_str)
        .unwrap_or_else(|| "validation".into());
    let message = v.get("message").and_then(str_of).unwrap_or_default();
    let m = message.to_ascii_lowercase();
    let reason = if m.contains("virtualpaymentaddress") || m.contains("vpa") {
        Reason::InvalidVpa
    } else {
        Reason::Other
    };
    DeclineInfo {
        code,
        reason,
        message: message.to_string(),
    }
}

/// `resultCode` → ours (docs.adyen.com `online-payments/payment-result-codes`). For
/// UPI an `Authorised` is final (no separate capture).
pub fn result_status(code: &str) -> PaymentStatus {
    match code {
        "Authorised" => PaymentStatus::Succeeded,
        "Pending" | "Received" | "PresentToShopper" => PaymentStatus::Pending,
        "RedirectShopper" | "IdentifyShopper" | "ChallengeShopper" => PaymentStatus::Initiated,
        "Refused" | "Error" => PaymentStatus::Failed,
        "Cancelled" => PaymentStatus::Cancelled,
        _ => PaymentStatus::Unknown,
    }
}

/// A 2xx `/payments` answer. `Refused`, `Error` and `Cancelled` come with HTTP 200:
/// they are business declines (the payment was processed and refused).
pub(super) fn payment_created(body: &[u8]) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let code = v.get("resultCode").and_then(str_of).unwrap_or("");
    let psp = v.get("pspReference").and_then(id_str);
    let status = result_status(code);
    if matches!(
        status,
        PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Unknown
    ) {
        if status == PaymentStatus::Unknown {
            return Outcome::SentUnknown {
                detail: format!("unknown resultCode: {}", classify::body_detail(body)),
            };
        }
        let rc = v.get("refusalReasonCode").and_then(id_str);
        let text = v.get("refusalReason").and_then(str_of);
        return Outcome::Declined {
            code: rc.clone().unwrap_or_else(|| code.to_string()),
            reason: refusal_reason(rc.as_deref(), text),
            message: text.unwrap_or(code).to_string(),
        };
    }
    let action = v.get("action").unwrap_or(&Value::Null);
    let next_action = match action.get("type").and_then(str_of) {
        Some("qrCode") => match action.get("qrCodeData").and_then(str_of) {
            Some(q) => NextAction::UpiQr {
                qr_payload: q.into(),
            },
            None => NextAction::AwaitCustomer,
        },
        Some("redirect" | "sdk") => match action.get("url").and_then(str_of) {
            Some(u) if u.starts_with("upi:") => NextAction::UpiIntent { uri: u.into() },
            Some(u) => NextAction::Redirect { url: u.into() },
            None => NextAction::AwaitCustomer,
        },
        _ => NextAction::AwaitCustomer,
    };
    if psp.is_none() {
        return Outcome::SentUnknown {
            detail: format!("2xx without pspReference: {}", classify::body_detail(body)),
        };
    }
    Outcome::Created(Created {
        gateway_payment_id: psp,
        status,
        next_action,
        raw_status: code.to_string(),
    })
}

/// A 2xx `/paymentLinks` answer `{id, url, status, ...}`.
pub(super) fn link_created(body: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (v.get("id").and_then(id_str), v.get("url").and_then(str_of)) {
        (Some(id), Some(url)) => Outcome::Created(Created {
            gateway_payment_id: Some(id),
            status: PaymentStatus::Initiated,
            next_action: NextAction::Redirect { url: url.into() },
            raw_status: v
                .get("status")
                .and_then(str_of)
                .unwrap_or("active")
                .to_string(),
        }),
        _ => Outcome::SentUnknown {
            detail: format!("2xx without link id/url: {}", classify::body_detail(body)),
        },
    }
}

/// Payment link `status` → ours.
pub fn link_status(s: &str) -> PaymentStatus {
    match s {
        "active" => PaymentStatus::Initiated,
        "paymentPending" => PaymentStatus::Pending,
        "completed" => PaymentStatus::Succeeded,
        "expired" => PaymentStatus::Expired,
        _ => PaymentStatus::Unknown,
    }
}

/// `GET /v71/paymentLinks/{id}` → report. A 404, or a 422 whose message says the
/// link was not found, is "no such payment".
pub(super) fn link_report(status: u16, body: &[u8]) -> Result<StatusReport, UpstreamError> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let not_found = v
        .get("message")
        .and_then(str_of)
        .is_some_and(|m| m.to_ascii_lowercase().contains("not found"));
    if status == 404 || (status == 422 && not_found) {
        return Err(UpstreamError::not_found(format!(
            "adyen: {}",
            classify::body_detail(body)
        )));
    }
    if !(200..300).contains(&status) {
        return Err(UpstreamError::Status {
            status,
            body: classify::body_detail(body),
        });
    }
    let raw = v.get("status").and_then(str_of).unwrap_or("").to_string();
    let st = link_status(&raw);
    Ok(StatusReport {
        tpv_failed: false,
        status: st,
        reason: (st == PaymentStatus::Expired).then_some(Reason::Expired),
        gateway_payment_id: v.get("id").and_then(id_str),
        utr: None,
        rrn: None,
        raw_status: raw,
        raw_code: None,
        amount: v.pointer("/amount/value").and_then(minor_units),
    })
}

/// `amount.value`: an integer in minor units (one library test sends the string
/// `"0"`), through the shared strict parser.
pub fn minor_units(v: &Value) -> Option<Paise> {
    crate::connectors::amount::minor_units(&v.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_table() {
        assert_eq!(refusal_reason(Some("12"), None), Reason::InsufficientFunds);
        assert_eq!(
            refusal_reason(None, Some("Not enough balance")),
            Reason::InsufficientFunds
        );
        assert_eq!(refusal_reason(None, Some("refused")), Reason::Other);
        assert_eq!(
            refusal_reason(None, Some("FRAUD-CANCELLED")),
            Reason::RiskDeclined
        );
        assert_eq!(refusal_reason(None, Some("é")), Reason::Other);
    }

    #[test]
    fn result_codes_and_actions() {
        // Shapes of docs.adyen.com payment-methods/upi (api-only) answers.
        let collect = br#"{"resultCode":"Pending","action":{"paymentMethodType":"upi_collect","type":"await","paymentData":"Ab02b4c0"},"pspReference":"PSP1"}"#;
        let Outcome::Created(c) = payment_created(collect) else {
            panic!()
        };
        assert_eq!(c.status, PaymentStatus::Pending);
        assert_eq!(c.next_action, NextAction::AwaitCustomer);
        assert_eq!(c.gateway_payment_id.as_deref(), Some("PSP1"));
        let qr = br#"{"resultCode":"Pending","action":{"paymentMethodType":"upi_qr","type":"qrCode","qrCodeData":"upi://pay?pa=x@y&am=1.00"},"pspReference":"PSP2"}"#;
        let Outcome::Created(c) = payment_created(qr) else {
            panic!()
        };
        assert!(matches!(c.next_action, NextAction::UpiQr { .. }));
        let refused = br#"{"resultCode":"Refused","refusalReason":"Not enough balance","refusalReasonCode":"12","pspReference":"PSP3"}"#;
        let Outcome::Declined { code, reason, .. } = payment_created(refused) else {
            panic!()
        };
        assert_eq!((code.as_str(), reason), ("12", Reason::InsufficientFunds));
        assert!(matches!(
            payment_created(b"{}"),
            Outcome::SentUnknown { .. }
        ));
        assert!(matches!(
            payment_created(b"\xff"),
            Outcome::SentUnknown { .. }
        ));
    }

    #[test]
    fn links_and_not_found() {
        let r = link_report(
            200,
            br#"{"id":"PL1","status":"completed","amount":{"currency":"INR","value":29900}}"#,
        )
        .unwrap();
        assert_eq!(
            (r.status, r.amount),
            (PaymentStatus::Succeeded, Some(Paise(29900)))
        );
        let e = link_report(422, br#"{"status":422,"errorCode":"14_030","message":"Payment link not found","errorType":"validation"}"#).unwrap_err();
        assert!(e.is_not_found());
        assert!(link_report(404, b"").unwrap_err().is_not_found());
        assert!(!link_report(500, b"").unwrap_err().is_not_found());
    }

    #[test]
    fn minor_units_strict() {
        assert_eq!(minor_units(&serde_json::json!(1130)), Some(Paise(1130)));
        assert_eq!(minor_units(&serde_json::json!("0")), Some(Paise(0)));
        assert_eq!(minor_units(&serde_json::json!(11.3)), None);
        assert_eq!(minor_units(&serde_json::json!(-1)), None);
        assert_eq!(minor_units(&serde_json::json!("1e3")), None);
    }
}
