//! Reading PhonePe PG v2: order state → unified status, error codes → reasons
//! (NPCI `detailedErrorCode` first), the pay answers and the order-status answer.

use serde_json::Value;

use crate::connectors::classify::{DeclineInfo, id_str, reason_from_word, str_of};
use crate::connectors::{Created, Outcome, StatusReport, amount, npci};
use crate::model::{Method, NextAction, PaymentStatus, Reason};

/// `payload.state` / order `state` → unified (GATEWAYS.md section 4). A failed
/// attempt inside a `PENDING` order keeps the order pending (the customer may retry).
pub const STATE_TABLE: &[(&str, PaymentStatus)] = &[
    ("COMPLETED", PaymentStatus::Succeeded),
    ("FAILED", PaymentStatus::Failed),
    ("PENDING", PaymentStatus::Pending),
    ("CREATED", PaymentStatus::Initiated),
    ("EXPIRED", PaymentStatus::Failed),
];

/// PhonePe's own error codes that name a reason (the rest fall to the NPCI code).
pub const ERROR_TABLE: &[(&str, Reason)] = &[
    ("INVALID_VPA", Reason::InvalidVpa),
    ("INSUFFICIENT_FUNDS", Reason::InsufficientFunds),
    ("REQUEST_DECLINE_BY_REQUESTEE", Reason::DeclinedByCustomer),
    ("USER_CANCEL", Reason::CustomerDropped),
    ("TXN_AUTO_FAILED", Reason::Expired),
    ("EXPIRED", Reason::Expired),
    ("TIMED_OUT", Reason::Expired),
    ("LIMIT_EXCEEDED", Reason::LimitExceeded),
    ("AUTHORIZATION_ERROR", Reason::Other),
    ("PAYMENT_ERROR", Reason::Other),
];

pub fn state_status(state: &str) -> PaymentStatus {
    STATE_TABLE
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(state.trim()))
        .map_or(PaymentStatus::Unknown, |(_, p)| *p)
}

/// A failure's reason: `detailedErrorCode` as an NPCI code, then either code in
/// [`ERROR_TABLE`], then `other`; `EXPIRED` orders are `expired`.
pub fn reason_of(status: PaymentStatus, state: &str, p: &Value) -> Option<Reason> {
    if status != PaymentStatus::Failed {
        return None;
    }
    if state.eq_ignore_ascii_case("EXPIRED") {
        return Some(Reason::Expired);
    }
    let codes = [p.get("detailedErrorCode"), p.get("errorCode")];
    let codes = codes.iter().flatten().filter_map(|c| c.as_str());
    let mut reason = None;
    for c in codes {
        reason = npci::reason(c)
            .or_else(|| {
                ERROR_TABLE
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(c))
                    .map(|(_, r)| *r)
                    .filter(|r| *r != Reason::Other)
            })
            .or(reason);
        if reason.is_some() {
            break;
        }
    }
    Some(reason.unwrap_or(Reason::Other))
}

/// `POST /payments/v2/pay` (`intentUrl` / `qrData`) or `/checkout/v2/pay`
/// (`redirectUrl`): `{orderId, state, expireAt, …}`.
pub(super) fn pay_created(body: &[u8], method: Method) -> Outcome {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Outcome::SentUnknown {
            detail: "PhonePe answered 2xx with an unreadable body".into(),
        };
    };
    let Some(order_id) = v.get("orderId").and_then(id_str) else {
        return Outcome::SentUnknown {
            detail: "PhonePe answered without orderId".into(),
        };
    };
    let s = |k: &str| v.get(k).and_then(str_of).map(str::to_string);
    let (status, next_action) = match (method, s("intentUrl"), s("qrData"), s("redirectUrl")) {
        (Method::UpiCollect, ..) => (PaymentStatus::Pending, NextAction::AwaitCustomer),
        (Method::UpiQr, _, Some(q), _) | (Method::UpiQr, Some(q), None, _) => (
            PaymentStatus::Initiated,
            NextAction::UpiQr { qr_payload: q },
        ),
        (_, Some(u), _, _) => (PaymentStatus::Initiated, NextAction::UpiIntent { uri: u }),
        (_, _, _, Some(url)) => (PaymentStatus::Initiated, NextAction::Redirect { url }),
        _ => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(order_id),
        status,
        next_action,
        raw_status: s("state").unwrap_or_else(|| "PENDING".into()),
    })
}

/// `{"code": "BAD_REQUEST", "message": …}` (or `errorCode` on auth answers).
pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let code = v
        .get("code")
        .or_else(|| v.get("errorCode"))
        .and_then(str_of)
        .unwrap_or("BAD_REQUEST")
        .to_string();
    let message = v.get("message").and_then(str_of).unwrap_or("").to_string();
    let reason = ERROR_TABLE
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&code))
        .map(|(_, r)| *r)
        .or_else(|| reason_from_word(&code))
        .or_else(|| {
            message
                .to_ascii_lowercase()
                .contains("vpa")
                .then_some(Reason::InvalidVpa)
        })
        .unwrap_or(Reason::Other);
    DeclineInfo {
        code,
        reason,
        message,
    }
}

/// A refusal that means "this merchantOrderId exists already".
pub(super) fn is_duplicate(code: &str, message: &str) -> bool {
    let t = format!("{code} {message}").to_ascii_uppercase();
    t.contains("DUPLICATE") || t.contains("ALREADY_EXISTS") || t.contains("ALREADY EXISTS")
}

/// A 4xx status answer that says there is no such order.
pub(super) fn is_not_found(status: u16, body: &[u8]) -> bool {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v.get("code").and_then(Value::as_str).unwrap_or("");
    status == 404 || (400..500).contains(&status) && code.to_ascii_uppercase().contains("NOT_FOUND")
}

/// `GET /payments/v2/order/{merchantOrderId}/status`.
pub(super) fn order_report(body: &[u8]) -> Result<StatusReport, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let state = v.get("state").and_then(str_of).unwrap_or("").to_string();
    let status = state_status(&state);
    let d = v
        .get("paymentDetails")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .find(|d| d.get("state").and_then(Value::as_str) == Some("COMPLETED"))
                .or_else(|| l.last())
        });
    let utr = d
        .and_then(|d| {
            d.pointer("/rail/utr")
                .or_else(|| d.pointer("/splitInstruments/0/rail/utr"))
        })
        .and_then(id_str);
    Ok(StatusReport {
        tpv_failed: false,
        status,
        reason: reason_of(status, &state, &v),
        gateway_payment_id: v.get("orderId").and_then(id_str),
        utr,
        rrn: None,
        raw_status: state,
        raw_code: v
            .get("detailedErrorCode")
            .or_else(|| v.get("errorCode"))
            .and_then(id_str),
        amount: amount::minor_at(text, &["amount"]).map_err(|e| e.to_string())?,
    })
}
