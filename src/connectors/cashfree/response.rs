//! Reading Cashfree's answers: created payments and links, declines, and the
//! payment status mapping (shared by status queries and webhooks).

use serde_json::Value;

use crate::connectors::classify::{self, DeclineInfo, id_str, reason_from_word, str_of};
use crate::connectors::{Created, Outcome, StatusReport};
use crate::model::{Method, NextAction, Paise, PaymentStatus, Reason};

/// `{"message", "code", "type"}`.
pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let code = v.get("code").and_then(str_of).unwrap_or("invalid_request");
    let message = v.get("message").and_then(str_of).unwrap_or_default();
    let reason = reason_from_word(code)
        .or_else(|| {
            let t = format!("{code} {message}").to_ascii_lowercase();
            (t.contains("upi_id") || t.contains("vpa") || t.contains("upi id"))
                .then_some(Reason::InvalidVpa)
        })
        .unwrap_or(Reason::Other);
    DeclineInfo {
        code: code.to_string(),
        reason,
        message: message.to_string(),
    }
}

pub(super) fn pay_created(body: &[u8], method: Method) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let Some(cf_payment_id) = v.get("cf_payment_id").and_then(id_str) else {
        return Outcome::SentUnknown {
            detail: format!("2xx without cf_payment_id: {}", classify::body_detail(body)),
        };
    };
    let payload = v.pointer("/data/payload").unwrap_or(&Value::Null);
    let (status, next_action) = match method {
        Method::UpiCollect => (PaymentStatus::Pending, NextAction::AwaitCustomer),
        Method::UpiQr => match payload.get("qrcode").and_then(str_of) {
            Some(q) => (
                PaymentStatus::Initiated,
                NextAction::UpiQr {
                    qr_payload: q.into(),
                },
            ),
            None => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
        },
        _ => match payload.get("default").and_then(str_of) {
            Some(u) => (
                PaymentStatus::Initiated,
                NextAction::UpiIntent { uri: u.into() },
            ),
            None => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
        },
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(cf_payment_id),
        status,
        next_action,
        raw_status: v
            .get("action")
            .and_then(str_of)
            .unwrap_or("custom")
            .to_string(),
    })
}

pub(super) fn link_created(body: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match v.get("link_url").and_then(str_of) {
        Some(url) => Outcome::Created(Created {
            gateway_payment_id: v.get("cf_link_id").and_then(id_str),
            status: PaymentStatus::Initiated,
            next_action: NextAction::Redirect { url: url.into() },
            raw_status: v
                .get("link_status")
                .and_then(str_of)
                .unwrap_or("ACTIVE")
                .to_string(),
        }),
        None => Outcome::SentUnknown {
            detail: format!("2xx without link_url: {}", classify::body_detail(body)),
        },
    }
}

fn payment_status(raw: &str) -> PaymentStatus {
    match raw {
        "SUCCESS" => PaymentStatus::Succeeded,
        "PENDING" | "NOT_ATTEMPTED" => PaymentStatus::Pending,
        "FAILED" | "USER_DROPPED" | "CANCELLED" => PaymentStatus::Failed,
        "VOID" => PaymentStatus::Cancelled,
        _ => PaymentStatus::Unknown,
    }
}

/// The NPCI code: `error_details.error_code_raw`, else the `Z9::…` prefix of the message.
fn npci_code(payment: &Value, error: Option<&Value>) -> Option<String> {
    error
        .and_then(|e| e.get("error_code_raw"))
        .and_then(id_str)
        .or_else(|| {
            payment
                .get("payment_message")
                .and_then(Value::as_str)
                .and_then(|m| m.split_once("::"))
                .map(|(c, _)| c.trim().to_string())
                .filter(|c| !c.is_empty() && c.len() <= 4 && c != "00")
        })
}

fn failure_reason(raw: &str, code: Option<&str>, error: Option<&Value>) -> Option<Reason> {
    if raw == "USER_DROPPED" {
        return Some(Reason::CustomerDropped);
    }
    if payment_status(raw) != PaymentStatus::Failed {
        return None;
    }
    code.and_then(Reason::from_npci)
        .or_else(|| {
            error
                .and_then(|e| e.get("error_reason"))
                .and_then(str_of)
                .and_then(reason_from_word)
        })
        .or(Some(Reason::Other))
}

pub(super) fn payment_report(p: &Value) -> StatusReport {
    let raw = p
        .get("payment_status")
        .and_then(str_of)
        .unwrap_or("")
        .to_string();
    let error = p.get("error_details").filter(|e| e.is_object());
    let code = npci_code(p, error);
    StatusReport {
        tpv_failed: false,
        status: payment_status(&raw),
        reason: failure_reason(&raw, code.as_deref(), error),
        gateway_payment_id: p.get("cf_payment_id").and_then(id_str),
        utr: p.get("bank_reference").and_then(id_str),
        rrn: None,
        raw_status: raw,
        raw_code: code,
        amount: p
            .get("payment_amount")
            .and_then(|a| Paise::from_rupees_json(a).ok()),
    }
}

pub(super) fn rank(p: &Value) -> u8 {
    match p.get("payment_status").and_then(Value::as_str) {
        Some("SUCCESS") => 5,
        Some("PENDING") => 3,
        Some("NOT_ATTEMPTED") => 2,
        Some(_) => 1,
        None => 0,
    }
}
