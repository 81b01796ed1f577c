//! The Razorpay dialect as the sandbox answers it: orders, S2S UPI, payment links
//! and payment/order status.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{S, amount_of, hold, json, rrn, rupees, upi_uri};
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::state::{Shared, Verdict};

use serde_json::Value;
use time::OffsetDateTime;

use crate::connectors::razorpay;
use crate::sandbox::callbacks::format::{Callback, Phase, opt, rrn as cb_rrn, s};
use crate::sandbox::dialects::Dialect;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

#[derive(Deserialize)]
struct RzpAmount<'a> {
    amount: i64,
    #[serde(borrow)]
    notes: Option<RzpNotes<'a>>,
}

#[derive(Deserialize)]
struct RzpNotes<'a> {
    switchyard_payment_id: Option<&'a str>,
}

/// Queues the callback for an accepted payment (the payment id travels in the notes).
fn callback(s: &Shared, notes: Option<&RzpNotes<'_>>, id: &str, order: Option<&str>, amount: i64) {
    if !s.callbacks.active() {
        return;
    }
    let pid = notes.and_then(|n| n.switchyard_payment_id).unwrap_or(id);
    let ok = s.would_settle_ok(id);
    s.callbacks
        .accepted(Accepted::new(pid, id, order, amount, ok));
}

fn rzp_error(status: StatusCode, code: &str, reason: &str, description: &str) -> Response {
    json(
        status,
        format!(
            r#"{{"error":{{"code":"{code}","description":"{description}","source":"NA","step":"payment_initiation","reason":"{reason}","metadata":{{}}}}}}"#
        ),
    )
}

async fn rzp_order(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<RzpAmount<'_>>(&body) else {
        return rzp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST_ERROR",
            "input_validation_failed",
            "The amount field is required.",
        );
    };
    let id = format!("order_sbx{}a{}", s.next_seq(), req.amount);
    json(
        StatusCode::OK,
        format!(
            r#"{{"id":"{id}","entity":"order","amount":{a},"amount_paid":0,"amount_due":{a},"currency":"INR","status":"created","attempts":0,"notes":[]}}"#,
            a = req.amount
        ),
    )
}

#[derive(Deserialize)]
struct RzpUpi<'a> {
    amount: i64,
    order_id: Option<&'a str>,
    #[serde(borrow)]
    notes: Option<RzpNotes<'a>>,
    #[serde(borrow)]
    upi: Option<RzpFlow<'a>>,
}

#[derive(Deserialize)]
struct RzpFlow<'a> {
    flow: &'a str,
}

async fn rzp_upi(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<RzpUpi<'_>>(&body) else {
        return rzp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST_ERROR",
            "input_validation_failed",
            "Invalid request body.",
        );
    };
    let collect = req.upi.as_ref().is_some_and(|u| u.flow == "collect");
    match s.decide().await {
        Verdict::Created => {
            let id = format!("pay_sbx{}a{}", s.next_seq(), req.amount);
            callback(&s, req.notes.as_ref(), &id, req.order_id, req.amount);
            let body = if collect {
                format!(r#"{{"razorpay_payment_id":"{id}"}}"#)
            } else {
                format!(
                    r#"{{"razorpay_payment_id":"{id}","link":"{}"}}"#,
                    upi_uri(&s, &id, Some(&rupees(req.amount)))
                )
            };
            json(StatusCode::OK, body)
        }
        Verdict::Declined if collect => rzp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST_ERROR",
            "invalid_vpa",
            "Invalid VPA. Please enter a valid Virtual Payment Address",
        ),
        Verdict::Declined => rzp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST_ERROR",
            "payment_risk_check_failed",
            "The payment was declined.",
        ),
        Verdict::Error(code) => rzp_error(
            code,
            "SERVER_ERROR",
            "NA",
            "The server encountered an error. The incident has been reported to admins.",
        ),
        Verdict::Timeout => hold().await,
    }
}

async fn rzp_link(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<RzpAmount<'_>>(&body) else {
        return rzp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST_ERROR",
            "input_validation_failed",
            "The amount field is required.",
        );
    };
    match s.decide().await {
        Verdict::Created => {
            let id = format!("plink_sbx{}a{}", s.next_seq(), req.amount);
            let pay = format!("pay_{}", id.trim_start_matches("plink_"));
            callback(&s, req.notes.as_ref(), &pay, None, req.amount);
            json(
                StatusCode::OK,
                format!(
                    r#"{{"id":"{id}","amount":{},"currency":"INR","status":"created","short_url":"http://{}/rzp/{id}"}}"#,
                    req.amount, s.addr
                ),
            )
        }
        Verdict::Declined => rzp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST_ERROR",
            "payment_risk_check_failed",
            "The payment was declined.",
        ),
        Verdict::Error(code) => rzp_error(
            code,
            "SERVER_ERROR",
            "NA",
            "The server encountered an error.",
        ),
        Verdict::Timeout => hold().await,
    }
}

fn rzp_payment_entity(s: &Shared, id: &str) -> String {
    let amount = amount_of(id).map_or("null".to_string(), |a| a.to_string());
    if s.settles_ok(id) {
        format!(
            r#"{{"id":"{id}","entity":"payment","amount":{amount},"currency":"INR","status":"captured","method":"upi","captured":true,"error_code":null,"error_reason":null,"acquirer_data":{{"rrn":"{:012}"}}}}"#,
            rrn(id)
        )
    } else {
        format!(
            r#"{{"id":"{id}","entity":"payment","amount":{amount},"currency":"INR","status":"failed","method":"upi","captured":false,"error_code":"BAD_REQUEST_ERROR","error_reason":"insufficient_funds","acquirer_data":{{"rrn":null}}}}"#
        )
    }
}

async fn rzp_payment(State(s): S, Path(id): Path<String>) -> Response {
    json(StatusCode::OK, rzp_payment_entity(&s, &id))
}

#[derive(Deserialize)]
pub(super) struct Receipt {
    receipt: Option<String>,
}

async fn rzp_orders_by_receipt(Query(q): Query<Receipt>) -> Response {
    match q.receipt {
        Some(r)
            if r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            json(
                StatusCode::OK,
                format!(
                    r#"{{"entity":"collection","count":1,"items":[{{"id":"order_r{r}","entity":"order","receipt":"{r}","status":"attempted"}}]}}"#
                ),
            )
        }
        _ => json(
            StatusCode::OK,
            r#"{"entity":"collection","count":0,"items":[]}"#.into(),
        ),
    }
}

async fn rzp_order_payments(State(s): S, Path(id): Path<String>) -> Response {
    let pid = format!("pay_{}", id.trim_start_matches("order_"));
    json(
        StatusCode::OK,
        format!(
            r#"{{"entity":"collection","count":1,"items":[{}]}}"#,
            rzp_payment_entity(&s, &pid)
        ),
    )
}

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/orders", post(rzp_order).get(rzp_orders_by_receipt))
        .route("/v1/orders/{id}/payments", get(rzp_order_payments))
        .route("/v1/payments/create/upi", post(rzp_upi))
        .route("/v1/payments/{id}", get(rzp_payment))
        .route("/v1/payment_links", post(rzp_link))
}

// === callbacks ===

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/json",
    callback_headers,
    callback_secret: super::webhook_secret,
};

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    _event_id: &str,
    _secret: &str,
) -> Vec<u8> {
    let (event, status, captured, err_code, err_reason, rrn) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => (
            "payment.authorized",
            "authorized",
            false,
            Value::Null,
            Value::Null,
            s(&cb_rrn(a)),
        ),
        (Phase::Final | Phase::FailedFirst, true) => (
            "payment.captured",
            "captured",
            true,
            Value::Null,
            Value::Null,
            s(&cb_rrn(a)),
        ),
        (Phase::Final | Phase::FailedFirst, false) => (
            "payment.failed",
            "failed",
            false,
            s("BAD_REQUEST_ERROR"),
            s("insufficient_funds"),
            Value::Null,
        ),
    };
    let ts = at.unix_timestamp();
    format!(
        r#"{{"entity":"event","account_id":"acc_sandbox","event":"{event}","contains":["payment"],"payload":{{"payment":{{"entity":{{"id":{},"entity":"payment","amount":{},"currency":"INR","status":"{status}","order_id":{},"method":"upi","captured":{captured},"error_code":{err_code},"error_reason":{err_reason},"acquirer_data":{{"rrn":{rrn}}},"notes":{{"{}":{}}},"created_at":{ts}}}}}}},"created_at":{ts}}}"#,
        s(&a.gateway_payment_id),
        a.amount,
        opt(a.order_id.as_deref()),
        razorpay::NOTE_PAYMENT_ID,
        s(&a.payment_id),
    )
    .into_bytes()
}

fn callback_headers(
    secret: &str,
    cb: &Callback,
    _attempt: u32,
    _now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    vec![
        (
            razorpay::SIGNATURE_HEADER,
            razorpay::sign_callback(secret, &cb.body),
        ),
        (razorpay::EVENT_ID_HEADER, cb.event_id.clone()),
    ]
}
