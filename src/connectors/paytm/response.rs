//! Reading Paytm: the status word and response-code tables, the initiate /
//! process answers and the `/v3/order/status` answer.

use serde_json::Value;

use crate::connectors::classify::{DeclineInfo, id_str, str_of};
use crate::connectors::{Created, Outcome, StatusReport, amount, classify};
use crate::model::{Method, NextAction, PaymentStatus, Reason};

/// `STATUS` / `resultStatus` → unified.
pub const STATUS_TABLE: &[(&str, PaymentStatus)] = &[
    ("TXN_SUCCESS", PaymentStatus::Succeeded),
    ("TXN_FAILURE", PaymentStatus::Failed),
    ("PENDING", PaymentStatus::Pending),
];

/// `RESPCODE` / `resultCode` → reason for failures (developer.paytm.com transaction
/// response codes). `227`/`401` are the bank's generic decline (`other`).
pub const RESPCODE_TABLE: &[(&str, Reason)] = &[
    ("141", Reason::CustomerDropped),
    ("810", Reason::CustomerDropped),
    ("227", Reason::Other),
    ("401", Reason::Other),
    ("235", Reason::InsufficientFunds),
    ("295", Reason::InvalidVpa),
    ("501", Reason::GatewayError),
];

/// `resultCode` of an initiate refused because the order id was used already.
pub const DUPLICATE_ORDER: &str = "325";
/// `resultCode` of a status query for an order Paytm does not know.
pub const INVALID_ORDER: &str = "334";

pub fn status_of(word: &str) -> PaymentStatus {
    STATUS_TABLE
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word.trim()))
        .map_or(PaymentStatus::Unknown, |(_, s)| *s)
}

pub fn reason_of(code: &str, message: &str) -> Reason {
    RESPCODE_TABLE
        .iter()
        .find(|(c, _)| *c == code.trim())
        .map(|(_, r)| *r)
        .or_else(|| {
            let m = message.to_ascii_lowercase();
            (m.contains("upi id") || m.contains("vpa")).then_some(Reason::InvalidVpa)
        })
        .unwrap_or(Reason::Other)
}

/// `body.resultInfo` of a JSON answer: `(resultStatus, resultCode, resultMsg)`.
pub fn result_info(v: &Value) -> (String, String, String) {
    let r = v.pointer("/body/resultInfo").unwrap_or(&Value::Null);
    let g = |k: &str| r.get(k).and_then(id_str).unwrap_or_default();
    (g("resultStatus"), g("resultCode"), g("resultMsg"))
}

pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let (_, code, msg) = result_info(v);
    DeclineInfo {
        reason: reason_of(&code, &msg),
        code: if code.is_empty() {
            "failed".into()
        } else {
            code
        },
        message: msg,
    }
}

/// `/v3/order/status`; `Ok(None)` for an unknown order.
pub(super) fn order_report(body: &[u8]) -> Result<Option<StatusReport>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let (word, code, msg) = result_info(&v);
    if code == INVALID_ORDER {
        return Ok(None);
    }
    let b = v.get("body").unwrap_or(&Value::Null);
    let status = status_of(&word);
    let bank = b.get("bankTxnId").and_then(id_str);
    Ok(Some(StatusReport {
        tpv_failed: false,
        status,
        reason: (status == PaymentStatus::Failed).then(|| reason_of(&code, &msg)),
        gateway_payment_id: b.get("txnId").and_then(id_str),
        utr: bank.clone().filter(|_| {
            super::webhook::upi_mode(b.get("paymentMode").and_then(str_of).unwrap_or(""))
        }),
        rrn: bank,
        raw_status: word,
        raw_code: (!code.is_empty()).then_some(code),
        amount: amount::rupees_at(text, &["body", "txnAmount"]).map_err(|e| e.to_string())?,
    }))
}

/// A 2xx `processTransaction` answer. The documented success (`resultStatus "S"`)
/// is `Created` without a gateway id: Paytm names the payment by our ORDERID (the
/// TXNID comes with the callback and the status answer), see
/// `classify::outcome_on_reference`. A failure with a code is a decline; an answer
/// without a result (unreadable, no status word) is `SentUnknown`.
pub(super) fn process_created(b: &[u8], method: Method) -> Outcome {
    let v: Value = serde_json::from_slice(b).unwrap_or(Value::Null);
    let (status, code, _) = result_info(&v);
    if status != "S" {
        if status.is_empty() || code.is_empty() {
            return Outcome::SentUnknown {
                detail: format!(
                    "paytm answered 2xx without a result: {}",
                    classify::body_detail(b)
                ),
            };
        }
        let d = decline_info(&v);
        return Outcome::Declined {
            code: d.code,
            reason: d.reason,
            message: d.message,
        };
    }
    let next_action = match (method, deep_link(&v)) {
        (Method::UpiCollect, _) => NextAction::AwaitCustomer,
        (Method::UpiQr, Some(l)) => NextAction::UpiQr { qr_payload: l },
        (_, Some(l)) => NextAction::UpiIntent { uri: l },
        (_, None) => NextAction::AwaitCustomer,
    };
    Outcome::Created(Created {
        gateway_payment_id: None,
        status: if method == Method::UpiCollect {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Initiated
        },
        next_action,
        raw_status: "S".into(),
    })
}

/// `deepLinkInfo.deepLink` of a UPI intent `processTransaction` answer.
pub(super) fn deep_link(v: &Value) -> Option<String> {
    v.pointer("/body/deepLinkInfo/deepLink")
        .and_then(str_of)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_codes() {
        assert_eq!(status_of("TXN_SUCCESS"), PaymentStatus::Succeeded);
        assert_eq!(status_of("PENDING"), PaymentStatus::Pending);
        assert_eq!(reason_of("141", ""), Reason::CustomerDropped);
        assert_eq!(
            reason_of("999", "The UPI ID entered is incorrect"),
            Reason::InvalidVpa
        );
        let body = br#"{"head":{},"body":{"resultInfo":{"resultStatus":"TXN_SUCCESS","resultCode":"01","resultMsg":"Txn Success"},"txnId":"2025","bankTxnId":"512318034519","orderId":"sy_1","txnAmount":"1.00"}}"#;
        let r = order_report(body).unwrap().unwrap();
        assert_eq!(
            (r.status, r.amount),
            (PaymentStatus::Succeeded, Some(crate::model::Paise(100)))
        );
        let nf = br#"{"head":{},"body":{"resultInfo":{"resultStatus":"F","resultCode":"334","resultMsg":"Invalid Order Id."}}}"#;
        assert_eq!(order_report(nf), Ok(None));
        let bad = br#"{"body":{"resultInfo":{"resultStatus":"TXN_SUCCESS"},"txnAmount":"1.001"}}"#;
        assert!(order_report(bad).is_err());
    }

    fn answer(status: u16, body: &'static [u8]) -> crate::connectors::upstream::Response {
        crate::connectors::upstream::Response {
            status,
            body: body.to_vec().into(),
        }
    }

    /// The documented success is `Created` without Paytm's id (keyed by our
    /// ORDERID); a 2xx that is not it stays ambiguous or is the decline it says.
    #[test]
    fn process_answers_classify_on_our_reference() {
        let ok = br#"{"head":{},"body":{"resultInfo":{"resultStatus":"S","resultCode":"0000","resultMsg":"Success"},"deepLinkInfo":{"deepLink":"upi://pay?pa=x@y&tr=1"}}}"#;
        let o = classify::outcome_on_reference(
            Ok(answer(200, ok)),
            |b| process_created(b, Method::UpiIntent),
            decline_info,
        );
        let Outcome::Created(c) = o else {
            panic!("{o:?}")
        };
        assert_eq!(c.gateway_payment_id, None);
        assert_eq!(
            c.next_action,
            NextAction::UpiIntent {
                uri: "upi://pay?pa=x@y&tr=1".into()
            }
        );
        // The rule for gateways with ids of their own would make this unknown.
        assert!(matches!(
            classify::outcome(
                Ok(answer(200, ok)),
                |b| process_created(b, Method::UpiIntent),
                decline_info
            ),
            Outcome::SentUnknown { .. }
        ));
        for unproven in [
            &b"<html>busy</html>"[..],
            br#"{"body":{"resultInfo":{}}}"#,
            b"",
        ] {
            assert!(
                matches!(
                    process_created(unproven, Method::UpiCollect),
                    Outcome::SentUnknown { .. }
                ),
                "{unproven:?}"
            );
        }
        let f = br#"{"body":{"resultInfo":{"resultStatus":"F","resultCode":"295","resultMsg":"UPI ID incorrect"}}}"#;
        assert!(matches!(
            process_created(f, Method::UpiCollect),
            Outcome::Declined {
                reason: Reason::InvalidVpa,
                ..
            }
        ));
    }
}
