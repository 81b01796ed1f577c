//! The three dialects as the sandbox answers them. Ids carry the amount
//! (`pay_sbx7a29900`) so status answers need no stored state.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Shared, Verdict};
use crate::config::ConnectorKind;

type S = State<Arc<Shared>>;

/// How long a "timeout" request is held before the sandbox gives up on it.
const HOLD: Duration = Duration::from_secs(300);

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let r = match shared.kind {
        ConnectorKind::Generic => Router::new()
            .route("/v1/payments", post(generic_initiate))
            .route("/v1/payments/{id}", get(generic_status)),
        ConnectorKind::Razorpay => Router::new()
            .route("/v1/orders", post(rzp_order).get(rzp_orders_by_receipt))
            .route("/v1/orders/{id}/payments", get(rzp_order_payments))
            .route("/v1/payments/create/upi", post(rzp_upi))
            .route("/v1/payments/{id}", get(rzp_payment))
            .route("/v1/payment_links", post(rzp_link)),
        ConnectorKind::Cashfree => Router::new()
            .route("/pg/orders", post(cf_order))
            .route("/pg/orders/sessions", post(cf_pay))
            .route("/pg/orders/{id}/payments", get(cf_payments))
            .route("/pg/links", post(cf_link)),
    };
    r.with_state(shared)
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn hold() -> Response {
    tokio::time::sleep(HOLD).await;
    json(StatusCode::GATEWAY_TIMEOUT, "{}".into())
}

fn amount_of(id: &str) -> Option<i64> {
    id.rsplit_once('a').and_then(|(_, a)| a.parse().ok())
}

fn rrn(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), 7) % 1_000_000_000_000
}

fn upi_uri(s: &Shared, tr: &str, rupees: Option<&str>) -> String {
    match rupees {
        Some(am) => format!(
            "upi://pay?pa=sandbox@{}&pn=Sandbox&am={am}&tr={tr}&cu=INR",
            s.name
        ),
        None => format!("upi://pay?pa=sandbox@{}&pn=Sandbox&tr={tr}&cu=INR", s.name),
    }
}

fn rupees(paise: i64) -> String {
    crate::model::Paise(paise).to_rupees_string()
}

// === generic ===

#[derive(Deserialize)]
struct GenericReq<'a> {
    merchant_txn_id: &'a str,
    amount: i64,
    method: &'a str,
}

async fn generic_initiate(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<GenericReq<'_>>(&body) else {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":"invalid_request","reason":"other","message":"malformed body"}}"#
                .into(),
        );
    };
    match s.decide().await {
        Verdict::Created => {
            let id = format!("gen_sbx{}a{}", s.next_seq(), req.amount);
            let (status, action) = match req.method {
                "upi_collect" => ("pending", r#"{"type":"await_customer"}"#.to_string()),
                "upi_qr" => (
                    "initiated",
                    format!(
                        r#"{{"type":"upi_qr","qr_payload":"{}"}}"#,
                        upi_uri(&s, &id, Some(&rupees(req.amount)))
                    ),
                ),
                "card" | "netbanking" => (
                    "initiated",
                    format!(r#"{{"type":"redirect","url":"http://{}/pay/{id}"}}"#, s.addr),
                ),
                _ => (
                    "initiated",
                    format!(
                        r#"{{"type":"upi_intent","uri":"{}"}}"#,
                        upi_uri(&s, &id, Some(&rupees(req.amount)))
                    ),
                ),
            };
            json(
                StatusCode::CREATED,
                format!(
                    r#"{{"id":"{id}","merchant_txn_id":{},"status":"{status}","next_action":{action}}}"#,
                    serde_json::Value::from(req.merchant_txn_id)
                ),
            )
        }
        Verdict::Declined => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":{"code":"insufficient_funds","reason":"insufficient_funds","npci_code":"Z9","message":"sandbox decline"}}"#.into(),
        ),
        Verdict::Error(code) => json(
            code,
            r#"{"error":{"code":"server_error","message":"sandbox error"}}"#.into(),
        ),
        Verdict::Timeout => hold().await,
    }
}

async fn generic_status(State(s): S, Path(id): Path<String>) -> Response {
    let ok = s.settles_ok(&id);
    let body = if ok {
        format!(
            r#"{{"id":"gen_{id}","merchant_txn_id":{},"status":"succeeded","utr":"{:012}","rrn":"{:012}"}}"#,
            serde_json::Value::from(id.as_str()),
            rrn(&id),
            rrn(&id)
        )
    } else {
        format!(
            r#"{{"id":"gen_{id}","merchant_txn_id":{},"status":"failed","reason":"insufficient_funds","npci_code":"Z9"}}"#,
            serde_json::Value::from(id.as_str())
        )
    };
    json(StatusCode::OK, body)
}

// === razorpay ===

#[derive(Deserialize)]
struct RzpAmount {
    amount: i64,
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
    let Ok(req) = serde_json::from_slice::<RzpAmount>(&body) else {
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
    let Ok(req) = serde_json::from_slice::<RzpAmount>(&body) else {
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
struct Receipt {
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

// === cashfree ===

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
    json(
        StatusCode::OK,
        format!(
            r#"{{"cf_order_id":"{seq}","order_id":{},"entity":"order","order_currency":"INR","order_amount":{},"order_status":"ACTIVE","payment_session_id":"session_sbx{seq}"}}"#,
            serde_json::Value::from(req.order_id),
            req.order_amount.get()
        ),
    )
}

#[derive(Deserialize)]
struct CfPay<'a> {
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
