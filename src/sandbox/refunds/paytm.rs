//! Paytm refunds as the sandbox answers them: `POST /refund/apply` (asynchronous:
//! `PENDING` `601` with Paytm's `refundId`) and `POST /v2/refund/status`, both with
//! the `head.signature` checksum over the exact `body` text; the accept-refund
//! (`FAILED`) and success-refund (`TXN_SUCCESS`) webhooks, JSON `{head: {signature},
//! body}` signed the same way.
//!
//! Checked as Paytm does: the checksum and MID (when the sandbox knows them),
//! `txnType: REFUND`, `orderId` / `txnId` / `refId` present and the txnId that of the
//! order, `refundAmount` a rupee decimal above zero (`619` Invalid refund amount) and
//! not above what is left. A refId already taken is refused `617` Refund Already
//! Raised; an unknown one in the status query answers `631` Record not found.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::dialects::{hold, take};
use super::{SbxRefund, SbxRefundStatus, Taken};
use crate::connectors::{amount, paytm};
use crate::model::Paise;
use crate::sandbox::dialects::paytm::{result, signed_body};
use crate::sandbox::state::Shared;

type S = State<Arc<Shared>>;

pub(super) fn routes(r: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    r.route(paytm::REFUND_PATH, post(refund))
        .route(paytm::REFUND_STATUS_PATH, post(status))
}

fn ist_now() -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].0");
    OffsetDateTime::now_utc()
        .to_offset(offset!(+5:30))
        .format(f)
        .unwrap_or_default()
}

/// The refund's fields as the status answer and the webhooks carry them.
fn fields(r: &SbxRefund) -> Value {
    let rupees = Paise(r.amount).to_rupees_string();
    let mut v = json!({"mid": "SANDBOX", "orderId": r.payment_id, "txnId": r.gateway_payment_id,
        "refId": r.refund_id, "refundId": r.gateway_refund_id, "refundAmount": rupees,
        "merchantRefundRequestTimestamp": ist_now(), "acceptRefundTimestamp": ist_now()});
    if let Some(o) = v.as_object_mut()
        && r.status == SbxRefundStatus::Processed
    {
        o.insert("totalRefundAmount".into(), json!(rupees));
        o.insert(
                "refundDetailInfoList".into(),
                json!([{"refundType": "TO_SOURCE", "payMethod": "UPI", "refundAmount": rupees, "rrn": r.arn}]),
            );
    }
    v
}

/// The signed refund webhook (`None`: the key cannot sign).
pub(crate) fn webhook_body(r: &SbxRefund, key: &str) -> Option<Vec<u8>> {
    let mut b = fields(r);
    let status = match r.status {
        SbxRefundStatus::Processed => "TXN_SUCCESS",
        SbxRefundStatus::Failed => "FAILED",
        SbxRefundStatus::Pending => "SUCCESS",
    };
    if let Some(o) = b.as_object_mut() {
        o.insert("status".into(), json!(status));
        if r.status == SbxRefundStatus::Failed {
            o.insert("rejectRefundReasonCode".into(), json!("1"));
            o.insert(
                "rejectRefundReasonMessage".into(),
                json!("Insufficient balance in your settlement account"),
            );
        }
    }
    let text = b.to_string();
    let sig = paytm::checksum::sign(&text, key)?;
    Some(
        format!(
            r#"{{"head":{{"signature":{},"version":"v1"}},"body":{text}}}"#,
            json!(sig)
        )
        .into_bytes(),
    )
}

fn invalid() -> Response {
    result("TXN_FAILURE", "600", "Invalid refund request.", Value::Null)
}

async fn refund(State(s): S, body: Bytes) -> Response {
    let v = match signed_body(&s, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|x| !x.is_empty());
    let (Some(order), Some(txn), Some(rid), Some("REFUND")) = (
        field("orderId"),
        field("txnId"),
        field("refId"),
        field("txnType"),
    ) else {
        return invalid();
    };
    let paise = match field("refundAmount").map(amount::rupees_text) {
        Some(Ok(p)) if p.get() > 0 => p.get(),
        _ => return result("TXN_FAILURE", "619", "Invalid refund amount", Value::Null),
    };
    let Some(rec) = s.record(order).filter(|r| r.gateway_id == txn) else {
        return result("TXN_FAILURE", "627", "Order Details not found", Value::Null);
    };
    let before = s.refunds.get(rid).is_some();
    match take(&s, "2025R", rid, txn, Some(order), paise, Some(rec.amount)) {
        Taken::Refund(_) if before => result(
            "TXN_FAILURE",
            paytm::ALREADY_RAISED,
            "Refund Already Raised",
            Value::Null,
        ),
        Taken::Refund(r) => result(
            "PENDING",
            "601",
            "Refund request was raised for this transaction. But it is pending state",
            json!({"orderId": order, "txnId": txn, "refId": rid, "refundId": r.gateway_refund_id,
                   "refundAmount": Paise(r.amount).to_rupees_string(), "mid": "SANDBOX"}),
        ),
        Taken::TooMuch => result("TXN_FAILURE", "619", "Invalid refund amount", Value::Null),
        Taken::Hold => hold().await,
    }
}

async fn status(State(s): S, body: Bytes) -> Response {
    let v = match signed_body(&s, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let order = v.get("orderId").and_then(Value::as_str).unwrap_or("");
    let rid = v.get("refId").and_then(Value::as_str).unwrap_or("");
    let Some(r) = s
        .refunds
        .get(rid)
        .filter(|r| r.refund_id == rid && r.payment_id.as_deref() == Some(order))
    else {
        return result("TXN_FAILURE", "631", "Record not found", Value::Null);
    };
    let (st, code, msg) = match r.status {
        SbxRefundStatus::Pending => ("PENDING", "601", "Refund is pending"),
        SbxRefundStatus::Processed => ("TXN_SUCCESS", "10", "Refund Successfull"),
        SbxRefundStatus::Failed => ("TXN_FAILURE", "602", "Refund Failed"),
    };
    result(st, code, msg, fields(&r))
}
