//! PhonePe PG v2 refunds as the sandbox answers them: `POST /payments/v2/refund`
//! (`{refundId, amount, state: PENDING}`, never final in the answer) and
//! `GET /payments/v2/refund/{merchantRefundId}/status`, both behind the `O-Bearer`
//! token; the `pg.refund.completed` / `pg.refund.failed` webhooks with the v2
//! `Authorization` header.
//!
//! Checked as PhonePe does: `merchantRefundId` present (≤ 63 characters),
//! `originalMerchantOrderId` a known order, `amount` integer paise of at least 100
//! and not above what is left. The same `merchantRefundId` again answers the same
//! refund. Unknown refund ids answer 404 `REFUND_NOT_FOUND`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::dialects::{hold, json_resp, take};
use super::{SbxRefund, SbxRefundStatus, Taken};
use crate::connectors::phonepe;
use crate::sandbox::dialects::phonepe::{authorized, error, unauthorized};
use crate::sandbox::state::Shared;

type S = State<Arc<Shared>>;

pub(super) fn routes(r: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    r.route(phonepe::REFUND_PATH, post(refund))
        .route("/payments/v2/refund/{id}/status", get(status))
}

fn state(r: &SbxRefund) -> &'static str {
    match r.status {
        SbxRefundStatus::Pending => "PENDING",
        SbxRefundStatus::Processed => "COMPLETED",
        SbxRefundStatus::Failed => "FAILED",
    }
}

/// The refund as the status API (and the webhook payload) carries it.
pub(crate) fn refund_json(r: &SbxRefund) -> Value {
    let mut v = json!({
        "originalMerchantOrderId": r.payment_id,
        "amount": r.amount,
        "state": state(r),
        "timestamp": OffsetDateTime::now_utc().unix_timestamp() * 1000,
        "refundId": r.gateway_refund_id,
    });
    if let Some(o) = v.as_object_mut() {
        match r.status {
            SbxRefundStatus::Processed => {
                o.insert(
                    "splitInstruments".into(),
                    json!([{"amount": r.amount, "rail": {"type": "UPI", "utr": r.arn,
                        "upiTransactionId": format!("YBL{}", r.gateway_refund_id)},
                        "instrument": {"type": "ACCOUNT", "maskedAccountNumber": "XXXXXXX7728",
                        "accountType": "SAVINGS"}}]),
                );
            }
            SbxRefundStatus::Failed => {
                o.insert("errorCode".into(), json!("UPI_BACKBONE_ERROR"));
                o.insert("detailedErrorCode".into(), json!("UPI_1231"));
            }
            SbxRefundStatus::Pending => {}
        }
    }
    v
}

/// The `pg.refund.*` webhook body for a settled refund.
pub(crate) fn webhook_body(r: &SbxRefund) -> Value {
    let (event, kind) = match r.status {
        SbxRefundStatus::Failed => ("pg.refund.failed", "PG_REFUND_FAILED"),
        SbxRefundStatus::Processed => ("pg.refund.completed", "PG_REFUND_COMPLETED"),
        SbxRefundStatus::Pending => ("pg.refund.accepted", "PG_REFUND_ACCEPTED"),
    };
    let mut payload = refund_json(r);
    if let Some(o) = payload.as_object_mut() {
        o.insert("merchantId".into(), json!("SANDBOX"));
        o.insert("merchantRefundId".into(), json!(r.refund_id));
    }
    json!({"event": event, "type": kind, "payload": payload})
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

async fn refund(State(s): S, h: HeaderMap, body: Bytes) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("Invalid request body");
    };
    let Some(rid) = v
        .get("merchantRefundId")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty() && r.len() <= 63)
    else {
        return bad("merchantRefundId is invalid");
    };
    let Some(order) = v.get("originalMerchantOrderId").and_then(Value::as_str) else {
        return bad("originalMerchantOrderId is required");
    };
    let Some(amount) = v
        .get("amount")
        .filter(|a| a.is_u64())
        .and_then(Value::as_i64)
        .filter(|a| *a >= 100)
    else {
        return bad("amount must be an integer in paise, at least 100");
    };
    let Some(rec) = s.record(order) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ORDER_NOT_FOUND",
            "No order found for this originalMerchantOrderId",
        );
    };
    match take(
        &s,
        "OMR",
        rid,
        &rec.gateway_id,
        Some(order),
        amount,
        Some(rec.amount),
    ) {
        Taken::Refund(r) => json_resp(
            StatusCode::OK,
            json!({"refundId": r.gateway_refund_id, "amount": r.amount, "state": "PENDING"}),
        ),
        Taken::TooMuch => bad("Refund amount cannot exceed the refundable amount"),
        Taken::Hold => hold().await,
    }
}

async fn status(State(s): S, h: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    match s.refunds.get(&id).filter(|r| r.refund_id == id) {
        Some(r) => json_resp(StatusCode::OK, refund_json(&r)),
        None => error(
            StatusCode::NOT_FOUND,
            "REFUND_NOT_FOUND",
            "No refund found for this merchantRefundId",
        ),
    }
}
