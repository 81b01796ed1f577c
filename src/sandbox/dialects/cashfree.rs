//! The Cashfree dialect as the sandbox answers it: orders, order payments
//! (sessions), payment links and an order's payments.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{S, hold, json, rrn, upi_uri};
use crate::model::Paise;
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::state::{Shared, Verdict};

use serde_json::Value;
use time::OffsetDateTime;

use crate::connectors::cashfree;
use crate::sandbox::callbacks::format::{Callback, Phase, ist, rrn as cb_rrn, s};
use crate::sandbox::dialects::Dialect;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// `(paise, order id)` from a sandbox session id (`session_sbx<seq>_<paise>_<order id>`).
fn session_parts(session: &str) -> Option<(i64, &str)> {
    let mut it = session.splitn(4, '_');
    let (_, _, paise, order) = (it.next()?, it.next()?, it.next()?, it.next()?);
    Some((paise.parse().ok()?, order))
}

/// Queues the callback for an accepted payment (Cashfree's `order_id` is ours).
fn callback(s: &Shared, order_id: &str, cf_payment_id: &str, paise: i64) {
    if s.callbacks.active() {
        let ok = s.would_settle_ok(order_id);
        s.callbacks.accepted(Accepted::new(
            order_id,
            cf_payment_id,
            Some(order_id),
            paise,
            ok,
        ));
    }
}

fn cf_error(status: StatusCode, code: &str, typ: &str, message: &str) -> Response {
    json(
        status,
        format!(r#"{{"message":"{message}","code":"{code}","type":"{typ}"}}"#),
    )
}

#[derive(Deserialize)]
struct CfOrder<'a> {
    order_id: &'a str,
    #[serde(borrow)]
    order_amount: &'a RawValue,
}

async fn cf_order(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<CfOrder<'_>>(&body) else {
        return cf_error(
            StatusCode::BAD_REQUEST,
            "order_amount_missing",
            "invalid_request_error",
            "order_amount : is missing in the request",
        );
    };
    let seq = s.next_seq();
    // The session id carries the amount and the order id, so the payment call (which
    // only sends the session id) can write the callback without stored state.
    let paise = Paise::from_rupees_str(req.order_amount.get()).map_or(0, |p| p.0);
    let session = serde_json::Value::from(format!("session_sbx{seq}_{paise}_{}", req.order_id));
    json(
        StatusCode::OK,
        format!(
            r#"{{"cf_order_id":"{seq}","order_id":{},"entity":"order","order_currency":"INR","order_amount":{},"order_status":"ACTIVE","payment_session_id":{session}}}"#,
            serde_json::Value::from(req.order_id),
            req.order_amount.get()
        ),
    )
}

#[derive(Deserialize)]
struct CfPay<'a> {
    payment_session_id: Option<&'a str>,
    #[serde(borrow)]
    payment_method: CfMethod<'a>,
}

#[derive(Deserialize)]
struct CfMethod<'a> {
    #[serde(borrow)]
    upi: Option<CfUpi<'a>>,
}

#[derive(Deserialize)]
struct CfUpi<'a> {
    channel: &'a str,
}

async fn cf_pay(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<CfPay<'_>>(&body) else {
        return cf_error(
            StatusCode::BAD_REQUEST,
            "payment_method_invalid",
            "invalid_request_error",
            "payment_method : is invalid",
        );
    };
    let channel = req.payment_method.upi.map_or("link", |u| u.channel);
    match s.decide().await {
        Verdict::Created => {
            let id = s.next_seq();
            let tr = format!("cf{id}");
            if let Some((paise, order_id)) = req.payment_session_id.and_then(session_parts) {
                callback(&s, order_id, &id.to_string(), paise);
            }
            let data = match channel {
                "collect" => {
                    r#"{"url":null,"payload":null,"content_type":null,"method":null}"#.to_string()
                }
                "qrcode" => format!(
                    r#"{{"url":null,"payload":{{"qrcode":"{}"}},"content_type":"application/json","method":"post"}}"#,
                    upi_uri(&s, &tr, None)
                ),
                _ => format!(
                    r#"{{"url":null,"payload":{{"default":"{}"}},"content_type":"application/json","method":"post"}}"#,
                    upi_uri(&s, &tr, None)
                ),
            };
            json(
                StatusCode::OK,
                format!(
                    r#"{{"cf_payment_id":"{id}","payment_method":"upi","channel":"{channel}","action":"custom","data":{data}}}"#
                ),
            )
        }
        Verdict::Declined if channel == "collect" => cf_error(
            StatusCode::BAD_REQUEST,
            "upi_id_invalid",
            "invalid_request_error",
            "upi_id : is invalid",
        ),
        Verdict::Declined => cf_error(
            StatusCode::BAD_REQUEST,
            "payment_declined",
            "invalid_request_error",
            "payment was declined by the bank",
        ),
        Verdict::Error(code) => {
            cf_error(code, "internal_server_error", "api_error", "internal error")
        }
        Verdict::Timeout => hold().await,
    }
}

#[derive(Deserialize)]
struct CfLink<'a> {
    link_id: &'a str,
    #[serde(borrow)]
    link_amount: &'a RawValue,
}

async fn cf_link(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<CfLink<'_>>(&body) else {
        return cf_error(
            StatusCode::BAD_REQUEST,
            "link_amount_missing",
            "invalid_request_error",
            "link_amount : is missing in the request",
        );
    };
    match s.decide().await {
        Verdict::Created => {
            let seq = s.next_seq();
            let paise = Paise::from_rupees_str(req.link_amount.get()).map_or(0, |p| p.0);
            callback(&s, req.link_id, &seq.to_string(), paise);
            json(
                StatusCode::OK,
                format!(
                    r#"{{"cf_link_id":"{seq}","link_id":{id},"link_status":"ACTIVE","link_amount":{},"link_currency":"INR","link_url":"http://{}/cf/links/{seq}"}}"#,
                    req.link_amount.get(),
                    s.addr,
                    id = serde_json::Value::from(req.link_id)
                ),
            )
        }
        Verdict::Declined => cf_error(
            StatusCode::BAD_REQUEST,
            "payment_declined",
            "invalid_request_error",
            "link was declined",
        ),
        Verdict::Error(code) => {
            cf_error(code, "internal_server_error", "api_error", "internal error")
        }
        Verdict::Timeout => hold().await,
    }
}

async fn cf_payments(State(s): S, Path(id): Path<String>) -> Response {
    let ok = s.settles_ok(&id);
    let oid = serde_json::Value::from(id.as_str());
    let body = if ok {
        format!(
            r#"[{{"cf_payment_id":"{}","order_id":{oid},"entity":"payment","payment_status":"SUCCESS","payment_currency":"INR","payment_message":"00::Transaction success","bank_reference":"{:012}","payment_group":"upi"}}]"#,
            rrn(&id) % 1_000_000,
            rrn(&id)
        )
    } else {
        format!(
            r#"[{{"cf_payment_id":"{}","order_id":{oid},"entity":"payment","payment_status":"FAILED","payment_currency":"INR","payment_message":"Z9::Insufficient funds","bank_reference":null,"payment_group":"upi","error_details":{{"error_code":"TRANSACTION_DECLINED","error_reason":"insufficient_funds","error_code_raw":"Z9"}}}}]"#,
            rrn(&id) % 1_000_000
        )
    };
    json(StatusCode::OK, body)
}

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/pg/orders", post(cf_order))
        .route("/pg/orders/sessions", post(cf_pay))
        .route("/pg/orders/{id}/payments", get(cf_payments))
        .route("/pg/links", post(cf_link))
}

// === callbacks ===

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/json",
    callback_headers,
    callback_secret: super::webhook_or_key_secret,
};

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    _event_id: &str,
    _secret: &str,
) -> Vec<u8> {
    let rupees = Paise(a.amount).to_rupees_string();
    let (typ, status, message, bank_ref, errors) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => (
            "PAYMENT_USER_DROPPED_WEBHOOK",
            "USER_DROPPED",
            "User dropped and did not complete the payment",
            Value::Null,
            "null".to_string(),
        ),
        (Phase::Final | Phase::FailedFirst, true) => (
            "PAYMENT_SUCCESS_WEBHOOK",
            "SUCCESS",
            "00::Transaction success",
            s(&cb_rrn(a)),
            "null".to_string(),
        ),
        (Phase::Final | Phase::FailedFirst, false) => (
            "PAYMENT_FAILED_WEBHOOK",
            "FAILED",
            "Z9::Insufficient funds",
            Value::Null,
            r#"{"error_code":"TRANSACTION_DECLINED","error_description":"insufficient balance","error_reason":"insufficient_funds","error_source":"customer","error_code_raw":"Z9","error_description_raw":"INSUFFICIENT FUNDS"}"#.to_string(),
        ),
    };
    let pid = s(&a.payment_id);
    format!(
        r#"{{"data":{{"order":{{"order_id":{pid},"order_amount":{rupees},"order_currency":"INR","order_tags":null}},"payment":{{"cf_payment_id":{},"payment_status":"{status}","payment_amount":{rupees},"payment_currency":"INR","payment_message":"{message}","payment_time":"{t}","bank_reference":{bank_ref},"auth_id":null,"payment_method":{{"upi":{{"channel":"collect","upi_id":null}}}},"payment_group":"upi"}},"customer_details":{{"customer_id":{pid}}},"error_details":{errors}}},"event_time":"{t}","type":"{typ}"}}"#,
        s(&a.gateway_payment_id),
        t = ist(at),
    )
    .into_bytes()
}

fn callback_headers(
    secret: &str,
    cb: &Callback,
    attempt: u32,
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    vec![
        (cashfree::TIMESTAMP_HEADER, ms.to_string()),
        (
            cashfree::SIGNATURE_HEADER,
            cashfree::sign_callback(secret, ms, &cb.body),
        ),
        ("x-webhook-version", "2025-01-01".to_string()),
        ("x-webhook-attempt", attempt.to_string()),
        (cashfree::IDEMPOTENCY_HEADER, cb.event_id.clone()),
    ]
}
