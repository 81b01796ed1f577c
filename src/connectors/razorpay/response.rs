//! Reading Razorpay's answers: created payments and links, declines, and the
//! payment and link status mapping (shared by status queries and webhooks).

use serde_json::Value;

use crate::connectors::classify::{self, DeclineInfo, id_str, reason_from_word, str_of};
use crate::connectors::{Created, Outcome, StatusReport};
use crate::model::{Method, NextAction, Paise, PaymentStatus, Reason};

pub(super) fn upi_created(body: &[u8], method: Method) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let Some(pid) = v.get("razorpay_payment_id").and_then(id_str) else {
        return Outcome::SentUnknown {
            detail: format!(
                "2xx without razorpay_payment_id: {}",
                classify::body_detail(body)
            ),
        };
    };
    let link = v.get("link").and_then(str_of).map(str::to_string);
    let (status, next_action) = match (method, link) {
        (Method::UpiCollect, _) => (PaymentStatus::Pending, NextAction::AwaitCustomer),
        (Method::UpiQr, Some(l)) => (
            PaymentStatus::Initiated,
            NextAction::UpiQr { qr_payload: l },
        ),
        (_, Some(l)) => (PaymentStatus::Initiated, NextAction::UpiIntent { uri: l }),
        (_, None) => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(pid),
        status,
        next_action,
        raw_status: "created".into(),
    })
}

pub(super) fn link_created(body: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (
        v.get("id").and_then(id_str),
        v.get("short_url").and_then(str_of),
    ) {
        (Some(id), Some(url)) => Outcome::Created(Created {
            gateway_payment_id: Some(id),
            status: PaymentStatus::Initiated,
            next_action: NextAction::Redirect {
                url: url.to_string(),
            },
            raw_status: v
                .get("status")
                .and_then(str_of)
                .unwrap_or("created")
                .to_string(),
        }),
        _ => Outcome::SentUnknown {
            detail: format!(
                "2xx without link id/short_url: {}",
                classify::body_detail(body)
            ),
        },
    }
}

/// `{"error": {"code": "BAD_REQUEST_ERROR", "description", "source", "step", "reason"}}`.
/// Razorpay asks integrators to match on `reason`, not `code`.
pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let e = v.get("error").unwrap_or(v);
    let code = e
        .get("code")
        .and_then(str_of)
        .unwrap_or("BAD_REQUEST_ERROR");
    let rzp_reason = e.get("reason").and_then(str_of).filter(|r| *r != "NA");
    let description = e.get("description").and_then(str_of).unwrap_or_default();
    let reason = rzp_reason
        .and_then(reason_from_word)
        .or_else(|| {
            let d = description.to_ascii_lowercase();
            (d.contains("vpa") || d.contains("upi id")).then_some(Reason::InvalidVpa)
        })
        .unwrap_or(Reason::Other);
    DeclineInfo {
        code: rzp_reason.unwrap_or(code).to_string(),
        reason,
        message: description.to_string(),
    }
}

/// A failed payment's reason: `error_reason` first, then the NPCI code some errors carry.
fn payment_reason(p: &Value) -> Option<Reason> {
    p.get("error_reason")
        .and_then(str_of)
        .and_then(reason_from_word)
        .or_else(|| {
            p.get("error_code")
                .and_then(str_of)
                .and_then(Reason::from_npci)
        })
}

fn payment_status(p: &Value) -> PaymentStatus {
    match p.get("status").and_then(Value::as_str).unwrap_or("") {
        "created" => PaymentStatus::Pending,
        "authorized" => PaymentStatus::Authorized,
        "captured" => PaymentStatus::Succeeded,
        "failed" => PaymentStatus::Failed,
        "refunded" => {
            let amount = p.get("amount").and_then(Value::as_i64).unwrap_or(0);
            let refunded = p
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if p.get("captured").and_then(Value::as_bool) == Some(false) {
                PaymentStatus::Reversed
            } else if refunded < amount {
                PaymentStatus::PartiallyRefunded
            } else {
                PaymentStatus::Refunded
            }
        }
        _ => PaymentStatus::Unknown,
    }
}

pub(super) fn payment_report(p: &Value) -> StatusReport {
    let status = payment_status(p);
    let acq = p.get("acquirer_data").unwrap_or(&Value::Null);
    StatusReport {
        tpv_failed: false,
        status,
        reason: if status == PaymentStatus::Failed {
            payment_reason(p).or(Some(Reason::Other))
        } else {
            None
        },
        gateway_payment_id: p.get("id").and_then(id_str),
        // GATEWAYS.md 3.1: `acquirer_data.rrn` is the UPI / card RRN (the UPI UTR);
        // netbanking's bank reference is `bank_transaction_id`. `upi_transaction_id`
        // is the PSP's transaction id, not the UTR (issue 12 item 12).
        utr: if p.get("method").and_then(Value::as_str) == Some("upi") {
            acq.get("rrn").and_then(id_str)
        } else {
            acq.get("bank_transaction_id").and_then(id_str)
        },
        rrn: acq.get("rrn").and_then(id_str),
        raw_status: p.get("status").and_then(str_of).unwrap_or("").to_string(),
        raw_code: p.get("error_reason").and_then(id_str),
        amount: p.get("amount").and_then(Value::as_i64).map(Paise),
    }
}

/// Ranks payments of one order so the most advanced one reports the order's state.
pub(super) fn rank(p: &Value) -> u8 {
    match p.get("status").and_then(Value::as_str) {
        Some("captured") | Some("refunded") => 4,
        Some("authorized") => 3,
        Some("created") => 2,
        Some("failed") => 1,
        _ => 0,
    }
}

pub(super) fn link_report(v: &Value) -> StatusReport {
    let raw = v.get("status").and_then(str_of).unwrap_or("").to_string();
    let status = match raw.as_str() {
        "created" => PaymentStatus::Initiated,
        "partially_paid" => PaymentStatus::Pending,
        "paid" => PaymentStatus::Succeeded,
        "expired" => PaymentStatus::Expired,
        "cancelled" => PaymentStatus::Cancelled,
        _ => PaymentStatus::Unknown,
    };
    StatusReport {
        tpv_failed: false,
        status,
        reason: (status == PaymentStatus::Expired).then_some(Reason::Expired),
        gateway_payment_id: v.get("id").and_then(id_str),
        utr: None,
        rrn: None,
        raw_status: raw,
        raw_code: None,
        amount: v.get("amount").and_then(Value::as_i64).map(Paise),
    }
}
