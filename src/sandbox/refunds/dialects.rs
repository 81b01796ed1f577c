//! The refund endpoints of each dialect as the sandbox answers them, and the
//! sandbox's own refund control (`GET|POST /_sandbox_refunds`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{RefundKnobs, SbxRefund, SbxRefundStatus, Taken, after_take};
use crate::connectors::ConnectorKind;
use crate::model::Paise;
use crate::sandbox::state::Shared;

type S = State<Arc<Shared>>;

/// How long an unanswered refund call is held.
const HOLD: std::time::Duration = std::time::Duration::from_secs(300);

/// The refund routes of `kind`'s dialect plus the control routes.
pub(crate) fn router(kind: ConnectorKind) -> Router<Arc<Shared>> {
    let r = Router::new().route("/_sandbox_refunds", get(truth).post(set_knobs));
    match kind {
        ConnectorKind::Generic => r
            .route("/v1/refunds", post(generic_refund))
            .route("/v1/refunds/{id}", get(generic_status)),
        ConnectorKind::Razorpay => r
            .route("/v1/payments/{id}/refund", post(rzp_refund))
            .route("/v1/payments/{id}/refunds", get(rzp_list))
            .route("/v1/refunds/{id}", get(rzp_status)),
        ConnectorKind::Cashfree => r
            .route("/pg/orders/{id}/refunds", post(cf_refund))
            .route("/pg/orders/{id}/refunds/{rid}", get(cf_status)),
        ConnectorKind::Phonepe => super::phonepe::routes(r),
        ConnectorKind::Paytm => super::paytm::routes(r),
        ConnectorKind::Adyen => super::adyen::routes(r),
        ConnectorKind::JuspayEc => super::juspay_ec::routes(r),
        ConnectorKind::Ebanx => super::ebanx::routes(r),
        // PayU's refund commands share its postservice route (sandbox/dialects/payu.rs);
        // the Juspay UPI stack is callbacks only.
        ConnectorKind::Payu | ConnectorKind::JuspayUpi => r,
    }
}

pub(super) fn json_resp(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

pub(super) async fn hold() -> Response {
    tokio::time::sleep(HOLD).await;
    json_resp(StatusCode::GATEWAY_TIMEOUT, json!({}))
}

async fn truth(State(s): S) -> Response {
    json_resp(
        StatusCode::OK,
        json!({ "knobs": s.refunds.knobs(), "refunds": s.refunds.all() }),
    )
}

async fn set_knobs(State(s): S, body: Bytes) -> Response {
    match serde_json::from_slice::<RefundKnobs>(&body) {
        Ok(k) => {
            s.refunds.set_knobs(k);
            json_resp(StatusCode::OK, json!({ "knobs": k }))
        }
        Err(e) => json_resp(StatusCode::BAD_REQUEST, json!({ "error": e.to_string() })),
    }
}

/// The payment's amount from a sandbox id (`pay_sbx7a29900`), when it carries one.
fn captured(gateway_payment_id: &str) -> Option<i64> {
    gateway_payment_id
        .rsplit_once('a')
        .and_then(|(_, a)| a.parse().ok())
}

pub(super) fn take(
    s: &Arc<Shared>,
    prefix: &str,
    refund_id: &str,
    gpid: &str,
    pid: Option<&str>,
    amount: i64,
    captured: Option<i64>,
) -> Taken {
    let before = s.refunds.get(refund_id).is_some();
    let taken = s
        .refunds
        .take(&s.name, prefix, refund_id, gpid, pid, amount, captured);
    if let Taken::Refund(r) = &taken {
        after_take(s, r, !before);
    }
    taken
}

// === generic ===

fn generic_json(r: &SbxRefund) -> Value {
    json!({
        "id": r.gateway_refund_id,
        "refund_id": r.refund_id,
        "payment_id": r.gateway_payment_id,
        "merchant_txn_id": r.payment_id,
        "amount": r.amount,
        "status": match r.status {
            SbxRefundStatus::Pending => "pending",
            SbxRefundStatus::Processed => "succeeded",
            SbxRefundStatus::Failed => "failed",
        },
        "reference": r.arn,
    })
}

async fn generic_refund(State(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let rid = headers
        .get("idempotency-key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            v.get("refund_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let (Some(rid), Some(gpid), Some(amount)) = (
        rid,
        v.get("payment_id").and_then(Value::as_str),
        v.get("amount").and_then(Value::as_i64),
    ) else {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "invalid_request", "message": "malformed refund"}}),
        );
    };
    // Ground truth: only money this gateway took can go back, up to what it took.
    let took = if s.truth.on() {
        let Some(t) = s.truth.took(gpid) else {
            return json_resp(
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "not_found", "message": "no such payment"}}),
            );
        };
        Some(t)
    } else {
        captured(gpid)
    };
    let pid = v.get("merchant_txn_id").and_then(Value::as_str);
    match take(&s, "grf_sbx", &rid, gpid, pid, amount, took) {
        Taken::Refund(r) => json_resp(StatusCode::CREATED, generic_json(&r)),
        Taken::TooMuch => json_resp(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "refund_exceeds_payment", "message": "refund above the payment"}}),
        ),
        Taken::Hold => hold().await,
    }
}

async fn generic_status(State(s): S, Path(id): Path<String>) -> Response {
    match s.refunds.get(&id) {
        Some(r) => json_resp(StatusCode::OK, generic_json(&r)),
        None => json_resp(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "not_found", "message": "no such refund"}}),
        ),
    }
}

// === razorpay ===

pub(crate) fn rzp_json(r: &SbxRefund) -> Value {
    json!({
        "id": r.gateway_refund_id,
        "entity": "refund",
        "amount": r.amount,
        "currency": "INR",
        "payment_id": r.gateway_payment_id,
        "notes": { "switchyard_refund_id": r.refund_id },
        "receipt": r.refund_id,
        "acquirer_data": { "arn": if r.status == SbxRefundStatus::Processed { Value::from(r.arn.clone()) } else { Value::Null } },
        "status": match r.status {
            SbxRefundStatus::Pending => "pending",
            SbxRefundStatus::Processed => "processed",
            SbxRefundStatus::Failed => "failed",
        },
        "speed_requested": "normal",
        "speed_processed": "normal",
    })
}

fn rzp_error(code: &str, description: &str) -> Response {
    json_resp(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": code, "description": description, "source": "business", "step": "NA", "reason": "NA", "metadata": {}}}),
    )
}

async fn rzp_refund(
    State(s): S,
    Path(pay): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let rid = headers
        .get("x-refund-idempotency")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| v.get("receipt").and_then(Value::as_str).map(str::to_string));
    let (Some(rid), Some(amount)) = (rid, v.get("amount").and_then(Value::as_i64)) else {
        return rzp_error("BAD_REQUEST_ERROR", "The amount field is required.");
    };
    let pid = v
        .pointer("/notes/switchyard_payment_id")
        .and_then(Value::as_str);
    match take(&s, "rfnd_sbx", &rid, &pay, pid, amount, captured(&pay)) {
        Taken::Refund(r) => json_resp(StatusCode::OK, rzp_json(&r)),
        Taken::TooMuch => rzp_error(
            "BAD_REQUEST_ERROR",
            "The refund amount provided is greater than amount captured",
        ),
        Taken::Hold => hold().await,
    }
}

async fn rzp_list(State(s): S, Path(pay): Path<String>) -> Response {
    let items: Vec<Value> = s.refunds.of_payment(&pay).iter().map(rzp_json).collect();
    json_resp(
        StatusCode::OK,
        json!({"entity": "collection", "count": items.len(), "items": items}),
    )
}

async fn rzp_status(State(s): S, Path(id): Path<String>) -> Response {
    match s.refunds.get(&id) {
        Some(r) => json_resp(StatusCode::OK, rzp_json(&r)),
        None => json_resp(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "The id provided does not exist"}}),
        ),
    }
}

// === cashfree ===

pub(crate) fn cf_json(r: &SbxRefund) -> Value {
    let amount: Value =
        serde_json::from_str(&Paise(r.amount).to_rupees_string()).unwrap_or(Value::Null);
    json!({
        "cf_payment_id": format!("cfp_{}", r.gateway_payment_id),
        "cf_refund_id": r.gateway_refund_id,
        "refund_id": r.refund_id,
        "order_id": r.gateway_payment_id,
        "entity": "refund",
        "refund_amount": amount,
        "refund_currency": "INR",
        "refund_note": "refund",
        "refund_status": match r.status {
            SbxRefundStatus::Pending => "PENDING",
            SbxRefundStatus::Processed => "SUCCESS",
            SbxRefundStatus::Failed => "FAILED",
        },
        "refund_arn": if r.status == SbxRefundStatus::Processed { Value::from(r.arn.clone()) } else { Value::Null },
        "refund_type": "MERCHANT_INITIATED",
        "refund_speed": {"requested": "STANDARD", "accepted": "STANDARD"},
    })
}

fn cf_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_resp(
        status,
        json!({"message": message, "code": code, "type": "invalid_request_error"}),
    )
}

async fn cf_refund(State(s): S, Path(order): Path<String>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let amount = v
        .get("refund_amount")
        .and_then(|a| Paise::from_rupees_json(a).ok())
        .map(Paise::get);
    let (Some(rid), Some(amount)) = (v.get("refund_id").and_then(Value::as_str), amount) else {
        return cf_error(
            StatusCode::BAD_REQUEST,
            "refund_amount_missing",
            "refund_amount : is missing in the request",
        );
    };
    // The order id is switchyard's payment id; the sandbox does not know its amount.
    match take(&s, "cfr_sbx", rid, &order, Some(&order), amount, None) {
        Taken::Refund(r) => json_resp(StatusCode::OK, cf_json(&r)),
        Taken::TooMuch => cf_error(
            StatusCode::BAD_REQUEST,
            "refund_amount_invalid",
            "refund amount is greater than the order amount",
        ),
        Taken::Hold => hold().await,
    }
}

async fn cf_status(State(s): S, Path((order, rid)): Path<(String, String)>) -> Response {
    match s
        .refunds
        .get(&rid)
        .filter(|r| r.gateway_payment_id == order)
    {
        Some(r) => json_resp(StatusCode::OK, cf_json(&r)),
        None => cf_error(
            StatusCode::NOT_FOUND,
            "refund_not_found",
            "refund does not exist",
        ),
    }
}
