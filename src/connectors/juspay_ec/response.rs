//! Reading Juspay EC answers: orders, transactions, errors and the order status
//! table (juspay.io `ec-api/docs/resources/transaction-status`; GATEWAYS.md 3.7).

use serde_json::Value;

use crate::connectors::amount;
use crate::connectors::classify::{self, DeclineInfo, id_str, reason_from_word, str_of};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{Created, Outcome, StatusReport};
use crate::model::{NextAction, Paise, PaymentStatus, Reason};

/// `status` (with its `status_id`) → ours.
pub const STATUSES: &[(&str, u16, PaymentStatus)] = &[
    ("NEW", 10, PaymentStatus::Initiated),
    ("STARTED", 20, PaymentStatus::Pending),
    ("CHARGED", 21, PaymentStatus::Succeeded),
    ("JUSPAY_DECLINED", 22, PaymentStatus::Failed),
    ("PENDING_VBV", 23, PaymentStatus::Pending),
    ("VBV_SUCCESSFUL", 24, PaymentStatus::Pending),
    ("AUTHORIZED", 25, PaymentStatus::Authorized),
    ("AUTHENTICATION_FAILED", 26, PaymentStatus::Failed),
    ("AUTHORIZATION_FAILED", 27, PaymentStatus::Failed),
    ("AUTHORIZING", 28, PaymentStatus::Pending),
    ("VOIDED", 31, PaymentStatus::Cancelled),
    ("VOID_INITIATED", 32, PaymentStatus::Authorized),
    ("CAPTURE_INITIATED", 33, PaymentStatus::Authorized),
    ("CAPTURE_FAILED", 34, PaymentStatus::Authorized),
    ("VOID_FAILED", 35, PaymentStatus::Authorized),
    ("AUTO_REFUNDED", 36, PaymentStatus::Reversed),
];

/// `NOT_FOUND` (status id 40): the documented "no such order".
pub const NOT_FOUND: (&str, u16) = ("NOT_FOUND", 40);

pub fn order_status(status: &str, status_id: Option<u64>) -> PaymentStatus {
    STATUSES
        .iter()
        .find(|(s, id, _)| *s == status || status_id == Some(u64::from(*id)))
        .map_or(PaymentStatus::Unknown, |(_, _, p)| *p)
}

/// The failure reason of a failed order: the UPI response code (NPCI) in
/// `payment_gateway_response.resp_code`, else Juspay's `txn_detail.error_code` word.
pub fn failure_reason(order: &Value, st: PaymentStatus) -> Option<Reason> {
    if st != PaymentStatus::Failed {
        return None;
    }
    let npci = order
        .pointer("/payment_gateway_response/resp_code")
        .and_then(id_str);
    let word = order
        .pointer("/txn_detail/error_code")
        .and_then(str_of)
        .or_else(|| order.get("bank_error_code").and_then(str_of));
    Some(
        npci.as_deref()
            .and_then(crate::connectors::npci::reason)
            .or_else(|| word.and_then(reason_from_word))
            .unwrap_or(match order.get("status").and_then(str_of) {
                Some("AUTHENTICATION_FAILED") => Reason::DeclinedByCustomer,
                _ => Reason::Other,
            }),
    )
}

/// `{"status":"invalid_request_error","error_code","error_message"}`.
pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let code = v
        .get("error_code")
        .and_then(str_of)
        .or_else(|| v.get("status").and_then(str_of))
        .unwrap_or("invalid_request");
    let message = v.get("error_message").and_then(str_of).unwrap_or_default();
    let m = message.to_ascii_lowercase();
    let reason = if m.contains("vpa") {
        Reason::InvalidVpa
    } else {
        reason_from_word(code).unwrap_or(Reason::Other)
    };
    DeclineInfo {
        code: code.to_string(),
        reason,
        message: message.to_string(),
    }
}

/// `upi://pay?...` from the `sdk_params` Juspay returns for `UPI_PAY`.
fn intent_uri(p: &Value) -> Option<String> {
    let pa = p.get("merchant_vpa").and_then(str_of)?;
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("pa", pa);
    for (k, f) in [
        ("pn", "merchant_name"),
        ("am", "amount"),
        ("tr", "tr"),
        ("mc", "mcc"),
        ("tn", "tn"),
    ] {
        if let Some(v) = p.get(f).and_then(id_str) {
            s.append_pair(k, &v);
        }
    }
    s.append_pair("cu", "INR");
    Some(format!("upi://pay?{}", s.finish()))
}

/// A 2xx `/txns` answer `{order_id, txn_id, status, payment:{authentication, sdk_params}}`.
pub(super) fn txn_created(body: &[u8], order_uuid: &str, qr: bool) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let Some(raw) = v.get("status").and_then(str_of) else {
        return Outcome::SentUnknown {
            detail: format!("2xx without status: {}", classify::body_detail(body)),
        };
    };
    let st = order_status(raw, None);
    if st == PaymentStatus::Failed {
        return Outcome::Declined {
            code: raw.to_string(),
            reason: failure_reason(&v, st).unwrap_or(Reason::Other),
            message: raw.to_string(),
        };
    }
    // Collect: the customer approves in their app. Intent / QR: the `sdk_params`
    // make the `upi://pay` URI.
    let next_action = match v.pointer("/payment/sdk_params").and_then(intent_uri) {
        Some(u) if qr => NextAction::UpiQr { qr_payload: u },
        Some(u) => NextAction::UpiIntent { uri: u },
        None => NextAction::AwaitCustomer,
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(order_uuid.to_string()),
        status: if st == PaymentStatus::Unknown {
            PaymentStatus::Pending
        } else {
            st
        },
        next_action,
        raw_status: raw.to_string(),
    })
}

/// The hosted page of a created order (`payment_links.web`), for card and netbanking.
pub(super) fn order_redirect(body: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (
        v.get("id").and_then(id_str),
        v.pointer("/payment_links/web").and_then(str_of),
    ) {
        (Some(id), Some(url)) => Outcome::Created(Created {
            gateway_payment_id: Some(id),
            status: PaymentStatus::Initiated,
            next_action: NextAction::Redirect { url: url.into() },
            raw_status: v
                .get("status")
                .and_then(str_of)
                .unwrap_or("CREATED")
                .to_string(),
        }),
        _ => Outcome::SentUnknown {
            detail: format!(
                "2xx without id/payment_links.web: {}",
                classify::body_detail(body)
            ),
        },
    }
}

/// An order (status query answer, or a webhook's `content.order`) → report;
/// `amount` is read from the raw body by the caller (the strict parser).
pub fn order_report(o: &Value, amount: Option<Paise>) -> StatusReport {
    let raw = o.get("status").and_then(str_of).unwrap_or("").to_string();
    let st = order_status(&raw, o.get("status_id").and_then(Value::as_u64));
    StatusReport {
        tpv_failed: false,
        status: st,
        reason: failure_reason(o, st),
        gateway_payment_id: o.get("id").and_then(id_str),
        utr: None,
        rrn: o.pointer("/payment_gateway_response/rrn").and_then(id_str),
        raw_status: raw,
        raw_code: o
            .pointer("/payment_gateway_response/resp_code")
            .and_then(id_str),
        amount,
    }
}

/// `GET /orders/{order_id}`: a 404 or an answer with status `NOT_FOUND` / id 40 is
/// "no such payment".
pub(super) fn status_answer(status: u16, body: &[u8]) -> Result<StatusReport, UpstreamError> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let nf = v.get("status").and_then(Value::as_str) == Some(NOT_FOUND.0)
        || v.get("status_id").and_then(Value::as_u64) == Some(u64::from(NOT_FOUND.1));
    if status == 404 || nf {
        return Err(UpstreamError::not_found(format!(
            "juspay: {}",
            classify::body_detail(body)
        )));
    }
    if !(200..300).contains(&status) {
        return Err(UpstreamError::Status {
            status,
            body: classify::body_detail(body),
        });
    }
    if !v.is_object() {
        return Err(UpstreamError::BadResponse(classify::body_detail(body)));
    }
    let amount = amount::rupees_at(amount::text(body), &["amount"])
        .map_err(|e| UpstreamError::BadResponse(e.to_string()))?;
    Ok(order_report(&v, amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        assert_eq!(order_status("CHARGED", Some(21)), PaymentStatus::Succeeded);
        assert_eq!(order_status("", Some(26)), PaymentStatus::Failed);
        assert_eq!(order_status("AUTO_REFUNDED", None), PaymentStatus::Reversed);
        assert_eq!(order_status("VOIDED", None), PaymentStatus::Cancelled);
        assert_eq!(order_status("PENDING_VBV", None), PaymentStatus::Pending);
        assert_eq!(order_status("NEW", None), PaymentStatus::Initiated);
        assert_eq!(order_status("WHAT", None), PaymentStatus::Unknown);
    }

    #[test]
    fn reports_and_not_found() {
        let o = br#"{"id":"ordeh_1","order_id":"pay_1","status":"AUTHORIZATION_FAILED","status_id":27,"amount":299.0,"payment_gateway_response":{"resp_code":"Z9","rrn":"123"}}"#;
        let r = status_answer(200, o).unwrap();
        assert_eq!(
            (r.status, r.reason),
            (PaymentStatus::Failed, Some(Reason::InsufficientFunds))
        );
        assert_eq!(r.amount, Some(Paise(29900)));
        assert!(status_answer(404, b"{}").unwrap_err().is_not_found());
        let nf = br#"{"status":"NOT_FOUND","status_id":40,"error_message":"Order not found"}"#;
        assert!(status_answer(200, nf).unwrap_err().is_not_found());
        assert!(!status_answer(500, b"").unwrap_err().is_not_found());
    }

    #[test]
    fn txns() {
        let intent = br#"{"order_id":"pay_1","txn_id":"m-pay_1-1","status":"PENDING_VBV","payment":{"authentication":{"method":"GET","url":"https://api.juspay.in/v2/pay/start/m/1"},"sdk_params":{"merchant_vpa":"m@axis","merchant_name":"M","amount":"1.00","tr":"T1","mcc":"5411"}}}"#;
        let Outcome::Created(c) = txn_created(intent, "ordeh_1", false) else {
            panic!()
        };
        let NextAction::UpiIntent { uri } = c.next_action else {
            panic!()
        };
        assert!(uri.starts_with("upi://pay?pa=m%40axis&pn=M&am=1.00&tr=T1"));
        let collect = br#"{"order_id":"pay_1","txn_id":"m-pay_1-1","status":"PENDING_VBV","payment":{"authentication":{"method":"GET","url":"https://x"}}}"#;
        let Outcome::Created(c) = txn_created(collect, "ordeh_1", false) else {
            panic!()
        };
        assert_eq!(
            (c.status, c.next_action),
            (PaymentStatus::Pending, NextAction::AwaitCustomer)
        );
        let failed = br#"{"status":"AUTHENTICATION_FAILED"}"#;
        assert!(matches!(
            txn_created(failed, "o", false),
            Outcome::Declined { .. }
        ));
    }
}
