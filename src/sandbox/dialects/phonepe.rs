//! The PhonePe PG v2 dialect as the sandbox answers it: the OAuth token, the
//! custom-checkout pay (UPI intent / collect / QR), the standard-checkout pay
//! (redirect), order status, and v2 callbacks with `Authorization` =
//! SHA-256(`username:password`).
//!
//! Checked as PhonePe does: client credentials at the token endpoint (when the
//! sandbox knows them), an `O-Bearer` token it issued on every call, integer paise
//! of at least 100, `merchantOrderId` present and unused, a known payment mode, a
//! VPA for collect. Unknown orders answer 404 `ORDER_NOT_FOUND`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Dialect, S, hold, json, rrn, rupees, upi_uri, webhook_secret};
use crate::connectors::form::Form;
use crate::connectors::phonepe;
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::callbacks::format::{Callback, Phase};
use crate::sandbox::state::{Shared, Verdict};

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/json",
    callback_headers,
    callback_secret: webhook_secret,
};

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(phonepe::TOKEN_PATH, post(token))
        .route(phonepe::PAY_PATH, post(pay))
        .route(phonepe::CHECKOUT_PATH, post(pay))
        .route("/payments/v2/order/{id}/status", get(status))
        .route("/checkout/v2/order/{id}/status", get(status))
}

const TOKEN_PREFIX: &str = "sbx-phonepe-";

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        json!({"code": code, "message": message}).to_string(),
    )
}

async fn token(State(s): S, body: Bytes) -> Response {
    let f = Form::parse(&body);
    if f.get("grant_type") != "client_credentials" || f.raw("client_id").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "grant_type and client_id are required",
        );
    }
    let id_ok = s
        .cred(|c| c.key_id.as_ref())
        .is_none_or(|id| id.split(':').next() == Some(f.get("client_id")));
    let secret_ok = s
        .cred(|c| c.key_secret.as_ref())
        .is_none_or(|sec| sec == f.get("client_secret"));
    if !(id_ok && secret_ok) {
        return json(
            StatusCode::UNAUTHORIZED,
            json!({"errorCode": "INVALID_CLIENT", "message": "Client Not Found"}).to_string(),
        );
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json(
        StatusCode::OK,
        json!({"access_token": format!("{TOKEN_PREFIX}{}", s.next_seq()), "token_type": "O-Bearer",
               "issued_at": now, "expires_at": now + 3600, "expires_in": 3600})
        .to_string(),
    )
}

pub(crate) fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("O-Bearer "))
        .is_some_and(|t| t.starts_with(TOKEN_PREFIX))
}

pub(crate) fn unauthorized() -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        json!({"code": "AUTHORIZATION_FAILED", "message": "Unauthorized"}).to_string(),
    )
}

async fn pay(State(s): S, h: HeaderMap, body: Bytes) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "Invalid request body",
        );
    };
    let Some(order) = v
        .get("merchantOrderId")
        .and_then(Value::as_str)
        .filter(|o| !o.is_empty() && o.len() <= 63)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "merchantOrderId is invalid",
        );
    };
    let Some(amount) = v
        .get("amount")
        .and_then(Value::as_i64)
        .filter(|a| *a >= 100)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "amount must be an integer in paise, at least 100",
        );
    };
    let flow = v
        .pointer("/paymentFlow/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mode = v
        .pointer("/paymentFlow/paymentMode/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    match (flow, mode) {
        ("PG", "UPI_INTENT" | "UPI_QR") | ("PG_CHECKOUT", _) => {}
        ("PG", "UPI_COLLECT")
            if v.pointer("/paymentFlow/paymentMode/details/vpa")
                .and_then(Value::as_str)
                .is_some() => {}
        ("PG", "UPI_COLLECT") => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_VPA",
                "vpa is required for collect",
            );
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "paymentFlow is invalid",
            );
        }
    }
    if s.record(order).is_some() {
        return error(
            StatusCode::CONFLICT,
            "DUPLICATE_ORDER",
            "merchantOrderId already exists",
        );
    }
    match s.decide().await {
        Verdict::Created => {
            let id = format!("OMO{:022}", s.next_seq());
            if s.remember(order, &id, amount).is_err() {
                return error(
                    StatusCode::CONFLICT,
                    "DUPLICATE_ORDER",
                    "merchantOrderId already exists",
                );
            }
            if s.callbacks.active() {
                let ok = s.would_settle_ok(order);
                s.callbacks
                    .accepted(Accepted::new(order, &id, Some(order), amount, ok));
            }
            let uri = upi_uri(&s, &id, Some(&rupees(amount)));
            let expire = OffsetDateTime::now_utc().unix_timestamp() * 1000 + 600_000;
            let mut out = json!({"orderId": id, "state": "PENDING", "expireAt": expire});
            if let Some(o) = out.as_object_mut() {
                match (flow, mode) {
                    ("PG_CHECKOUT", _) => {
                        o.insert(
                            "redirectUrl".into(),
                            json!(format!("http://{}/checkout/{id}", s.addr)),
                        );
                    }
                    (_, "UPI_INTENT") => {
                        o.insert("intentUrl".into(), json!(uri));
                    }
                    (_, "UPI_QR") => {
                        o.insert("qrData".into(), json!(uri));
                    }
                    _ => {}
                }
            }
            json(StatusCode::OK, out.to_string())
        }
        Verdict::Declined => error(StatusCode::BAD_REQUEST, "INVALID_VPA", "Invalid VPA"),
        Verdict::Error(code) => error(
            code,
            "INTERNAL_SERVER_ERROR",
            "There is an error trying to process your transaction at the moment",
        ),
        Verdict::Timeout => hold().await,
    }
}

async fn status(State(s): S, h: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let Some(rec) = s.record(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "ORDER_NOT_FOUND",
            "No order found for this merchantOrderId",
        );
    };
    let ok = s.settles_ok(&id);
    json(
        StatusCode::OK,
        order_json(&rec.gateway_id, &id, rec.amount, ok, None).to_string(),
    )
}

fn order_json(
    order_id: &str,
    merchant_order_id: &str,
    amount: i64,
    ok: bool,
    ts: Option<i64>,
) -> Value {
    let ts = ts.unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp() * 1000);
    let utr = format!("{:012}", rrn(order_id));
    if ok {
        json!({"orderId": order_id, "merchantId": "SANDBOX", "merchantOrderId": merchant_order_id, "state": "COMPLETED",
            "amount": amount, "paymentDetails": [{"transactionId": format!("OM{order_id}"), "paymentMode": "UPI_INTENT",
            "timestamp": ts, "amount": amount, "state": "COMPLETED", "rail": {"type": "UPI", "utr": utr}}]})
    } else {
        json!({"orderId": order_id, "merchantId": "SANDBOX", "merchantOrderId": merchant_order_id, "state": "FAILED",
            "amount": amount, "errorCode": "PAYMENT_ERROR", "detailedErrorCode": "Z9",
            "paymentDetails": [{"transactionId": format!("OM{order_id}"), "paymentMode": "UPI_INTENT",
            "timestamp": ts, "amount": amount, "state": "FAILED", "errorCode": "PAYMENT_ERROR", "detailedErrorCode": "Z9"}]})
    }
}

// === callbacks ===

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    _event_id: &str,
    _secret: &str,
) -> Vec<u8> {
    let ts = at.unix_timestamp() * 1000;
    let (event, payload) = match phase {
        // An attempt failed while the order stays open for a retry.
        Phase::Earlier => {
            let mut p = order_json(
                &a.gateway_payment_id,
                &a.payment_id,
                a.amount,
                false,
                Some(ts),
            );
            if let Some(o) = p.as_object_mut() {
                o.insert("state".into(), json!("PENDING"));
            }
            ("checkout.transaction.attempt.failed", p)
        }
        Phase::Final | Phase::FailedFirst if a.succeeded => (
            "checkout.order.completed",
            order_json(
                &a.gateway_payment_id,
                &a.payment_id,
                a.amount,
                true,
                Some(ts),
            ),
        ),
        Phase::Final | Phase::FailedFirst => (
            "checkout.order.failed",
            order_json(
                &a.gateway_payment_id,
                &a.payment_id,
                a.amount,
                false,
                Some(ts),
            ),
        ),
    };
    json!({"event": event, "payload": payload})
        .to_string()
        .into_bytes()
}

fn callback_headers(
    secret: &str,
    _cb: &Callback,
    _attempt: u32,
    _now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    vec![("authorization", phonepe::v2_authorization(secret))]
}
