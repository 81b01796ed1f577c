//! The Juspay Express Checkout dialect as the sandbox answers it: `POST /orders`,
//! `POST /txns` (UPI) and `GET /orders/{order_id}`, checked the way Juspay checks
//! them (HTTP Basic auth with the API key and the `x-merchantid` header, form
//! fields `order_id` and a two-decimal `amount`, `upi_vpa` for `UPI_COLLECT`), and
//! its webhooks: `ORDER_SUCCEEDED` / `ORDER_FAILED` with Basic auth, or, when the
//! gateway is configured with JWT keys, as "JWT webhooks" ([`seal`]): signed with
//! the twin's Juspay key (`keys/juspay_ec_sandbox_private.pem`, whose public half a
//! JWT-mode gateway is configured with) and encrypted to the merchant's public key
//! (derived from the configured private key). A JWT-mode twin sends no Basic auth.
//!
//! Unlike the other dialects the twin remembers each order's amount (`/txns` names
//! only the order, as Juspay's does): a bounded map, cleared when full.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json as j};
use time::OffsetDateTime;

use axum::routing::{get, post};

use super::{Dialect, S, hold, json, rrn, rupees};
use crate::connectors::Credentials;
use crate::connectors::juspay_ec::{MERCHANT_HEADER, basic_auth, jwt};
use crate::model::Paise;
use crate::model::Secret;
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::callbacks::format::{Callback, Phase};
use crate::sandbox::state::{Shared, Verdict};

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body: |a, phase, at, _, secret| seal(webhook(a, phase, at).as_bytes(), secret),
    content_type: "application/json",
    callback_headers,
    callback_secret,
};

/// The private key the twin's Juspay signs JWT webhooks with (test-only, see
/// `keys/README.md`).
const JUSPAY_PRIVATE_KEY: &str = include_str!("../keys/juspay_ec_sandbox_private.pem");

/// JWT mode when the gateway has JWT keys: the merchant's private key (the twin
/// encrypts to its public half); otherwise the Basic-auth `username:password`.
fn callback_secret(c: &Credentials) -> Option<&Secret> {
    match (&c.jwt_private_key, &c.jwt_public_key) {
        (Some(k), Some(_)) => Some(k),
        _ => c.webhook_secret.as_ref(),
    }
}

/// The merchant's public key when `secret` is its private key (JWT mode).
fn jwt_mode(secret: &str) -> Option<rsa::RsaPublicKey> {
    if !secret.contains("PRIVATE KEY") {
        return None;
    }
    jwt::private_key(secret).ok().map(|k| k.to_public_key())
}

/// A webhook body as the configured mode sends it: as is (Basic auth), or sealed.
pub(crate) fn seal(webhook: &[u8], secret: &str) -> Vec<u8> {
    let Some(merchant) = jwt_mode(secret) else {
        return webhook.to_vec();
    };
    jwt::private_key(JUSPAY_PRIVATE_KEY)
        .and_then(|juspay| jwt::seal(webhook, &juspay, &merchant, KEY_ID))
        .unwrap_or_default()
}

/// The key id Juspay names its JWT key by (a dashboard UUID; any string here).
const KEY_ID: &str = "key_sandbox";

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/orders", post(juspay_order))
        .route("/orders/{id}", get(juspay_status))
        .route("/txns", post(juspay_txn))
}

/// Basic auth with the dashboard's `username:password` (the configured secret);
/// none in JWT mode.
fn callback_headers(
    secret: &str,
    _: &Callback,
    _: u32,
    _: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    if secret.contains("PRIVATE KEY") {
        return Vec::new();
    }
    vec![("authorization", basic_auth(secret))]
}

const MAX_ORDERS: usize = 200_000;

type Orders = Mutex<HashMap<(std::net::SocketAddr, String), i64>>;

fn orders() -> &'static Orders {
    static O: OnceLock<Orders> = OnceLock::new();
    O.get_or_init(|| Mutex::new(HashMap::new()))
}

fn remember(addr: std::net::SocketAddr, order: &str, paise: i64) {
    if let Ok(mut m) = orders().lock() {
        if m.len() >= MAX_ORDERS {
            m.clear();
        }
        m.insert((addr, order.to_string()), paise);
    }
}

pub(crate) fn amount_of(addr: std::net::SocketAddr, order: &str) -> Option<i64> {
    orders()
        .lock()
        .ok()?
        .get(&(addr, order.to_string()))
        .copied()
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        j!({"status": "invalid_request_error", "error_code": code, "error_message": message})
            .to_string(),
    )
}

/// Basic auth (API key as username) and the merchant id header, as Juspay requires.
pub(crate) fn authorized(h: &HeaderMap) -> Result<(), Box<Response>> {
    let basic = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic ") && v.len() > 6);
    if !basic {
        return Err(Box::new(json(
            StatusCode::UNAUTHORIZED,
            j!({"status": "error", "error_code": "E02", "error_message": "Invalid API Key"})
                .to_string(),
        )));
    }
    if h.get(MERCHANT_HEADER).is_none_or(|v| v.is_empty()) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "E05",
            "x-merchantid header is missing",
        )));
    }
    Ok(())
}

pub(crate) fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn juspay_order(State(s): S, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorized(&h) {
        return *r;
    }
    let f = form(&body);
    let Some(order_id) = f.get("order_id").filter(|o| !o.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "E01", "order_id is required");
    };
    let Some(paise) = f.get("amount").and_then(|a| Paise::from_rupees_str(a).ok()) else {
        return error(StatusCode::BAD_REQUEST, "E01", "Invalid amount");
    };
    remember(s.addr, order_id, paise.0);
    let id = order_uuid(order_id);
    json(
        StatusCode::OK,
        j!({"status": "CREATED", "status_id": 1, "id": id, "order_id": order_id,
            "payment_links": {"web": format!("http://{}/juspay/pay/{id}", s.addr)}})
        .to_string(),
    )
}

async fn juspay_txn(State(s): S, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorized(&h) {
        return *r;
    }
    let f = form(&body);
    let order_id = f.get("order_id").cloned().unwrap_or_default();
    let Some(paise) = amount_of(s.addr, &order_id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "E01",
            "Order not found for order_id",
        );
    };
    if f.get("payment_method_type").map(String::as_str) != Some("UPI") {
        return error(
            StatusCode::BAD_REQUEST,
            "E01",
            "payment_method_type is invalid",
        );
    }
    let collect = match f.get("txn_type").map(String::as_str) {
        Some("UPI_COLLECT") => true,
        Some("UPI_PAY") => false,
        _ => return error(StatusCode::BAD_REQUEST, "E01", "txn_type is invalid"),
    };
    if collect && f.get("upi_vpa").is_none_or(|v| !v.contains('@')) {
        return error(StatusCode::BAD_REQUEST, "E01", "Invalid VPA");
    }
    match s.decide().await {
        Verdict::Created => {
            let txn_id = format!("sbx-{order_id}-1");
            if s.callbacks.active() {
                let ok = s.would_settle_ok(&order_id);
                s.callbacks
                    .accepted(Accepted::new(&order_id, &txn_id, None, paise, ok));
            }
            let mut payment = j!({"authentication": {"method": "GET",
                "url": format!("http://{}/juspay/pay/{txn_id}", s.addr)}});
            if !collect {
                payment["sdk_params"] = j!({"merchant_vpa": format!("sandbox@{}", s.name),
                    "merchant_name": "Sandbox", "amount": rupees(paise), "tr": txn_id, "mcc": "5411"});
            }
            json(
                StatusCode::OK,
                j!({"order_id": order_id, "txn_id": txn_id, "status": "PENDING_VBV", "payment": payment}).to_string(),
            )
        }
        Verdict::Declined => error(StatusCode::BAD_REQUEST, "E01", "Invalid VPA"),
        Verdict::Error(code) => json(
            code,
            j!({"status": "error", "error_code": "E06", "error_message": "Internal server error"})
                .to_string(),
        ),
        Verdict::Timeout => hold().await,
    }
}

/// Juspay's id of the order (`ordeh_…`), derived from ours.
pub(crate) fn order_uuid(order_id: &str) -> String {
    format!("ordeh_{}", hex::encode(order_id))
}

/// The order as Juspay reports it (`amount` a JSON number in rupees).
pub(crate) fn order(paise: i64, order_id: &str, ok: bool) -> Value {
    let (status, id, resp) = if ok {
        (
            "CHARGED",
            21,
            j!({"resp_code": "00", "resp_message": "SUCCESS", "rrn": format!("{:012}", rrn(order_id))}),
        )
    } else {
        (
            "AUTHORIZATION_FAILED",
            27,
            j!({"resp_code": "Z9", "resp_message": "INSUFFICIENT FUNDS", "rrn": null}),
        )
    };
    j!({"id": order_uuid(order_id), "order_id": order_id, "status": status,
        "status_id": id, "amount": serde_json::from_str::<Value>(&rupees(paise)).unwrap_or(Value::Null),
        "currency": "INR", "payment_method_type": "UPI", "payment_gateway_response": resp})
}

async fn juspay_status(State(s): S, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = authorized(&h) {
        return *r;
    }
    let Some(paise) = amount_of(s.addr, &id) else {
        return json(
            StatusCode::NOT_FOUND,
            j!({"status": "NOT_FOUND", "status_id": 40, "error_code": "E09", "error_message": "Order not found"}).to_string(),
        );
    };
    let ok = s.settles_ok(&id);
    let mut o = order(paise, &id, ok);
    crate::sandbox::refunds::juspay_ec::with_refunds(
        &mut o,
        &s.refunds.of_payment(&order_uuid(&id)),
    );
    json(StatusCode::OK, o.to_string())
}

/// The webhook body for `phase` of an accepted payment.
fn webhook(a: &Accepted, phase: Phase, at: OffsetDateTime) -> String {
    let (event, mut o) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => {
            let mut o = order(a.amount, &a.payment_id, true);
            o["status"] = "PENDING_VBV".into();
            o["status_id"] = 23.into();
            ("TXN_CREATED", o)
        }
        (Phase::Final | Phase::FailedFirst, true) => {
            ("ORDER_SUCCEEDED", order(a.amount, &a.payment_id, true))
        }
        (Phase::Final | Phase::FailedFirst, false) => {
            ("ORDER_FAILED", order(a.amount, &a.payment_id, false))
        }
    };
    o["txn_id"] = a.gateway_payment_id.clone().into();
    let h = xxhash_rust::xxh3::xxh3_64(format!("{}{event}", a.gateway_payment_id).as_bytes());
    j!({"id": format!("evt_V2_sbx{h:016x}"), "date_created": crate::connectors::time_fmt::format_utc(at),
        "event_name": event, "content": {"order": o}}).to_string()
}
