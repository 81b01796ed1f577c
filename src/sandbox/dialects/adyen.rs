//! The Adyen dialect as the sandbox answers it: `POST /v71/payments` (UPI),
//! `POST /v71/paymentLinks` and `GET /v71/paymentLinks/{id}`, checked the way
//! Adyen checks them (the `X-API-Key` header, `merchantAccount`, `reference`,
//! `amount.value` an integer in minor units, a known UPI `paymentMethod.type`, a
//! `virtualPaymentAddress` for collect), and its notifications: a batch of one
//! HMAC-signed `NotificationRequestItem`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json as j};
use time::OffsetDateTime;

use std::sync::Arc;

use axum::routing::{get, post};

use super::{Dialect, S, hold, json, upi_uri};
use crate::connectors::adyen::{self, API_KEY_HEADER};
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::callbacks::format::Phase;
use crate::sandbox::state::{Shared, Verdict};

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/json",
    // The signature is inside the body, per item.
    callback_headers: |_, _, _, _| Vec::new(),
    callback_secret: super::webhook_secret,
};

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v71/payments", post(adyen_payments))
        .route("/v71/paymentLinks", post(adyen_link))
        .route("/v71/paymentLinks/{id}", get(adyen_link_status))
}

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    _event_id: &str,
    secret: &str,
) -> Vec<u8> {
    notification(a, phase, at, secret).into_bytes()
}

fn error(status: StatusCode, code: &str, message: &str, typ: &str) -> Response {
    json(
        status,
        j!({"status": status.as_u16(), "errorCode": code, "message": message, "errorType": typ})
            .to_string(),
    )
}

/// The checks Adyen makes before it processes a request; `Ok` carries
/// `(reference, paise, currency)`.
fn validate(h: &HeaderMap, v: &Value) -> Result<(String, i64, String), Box<Response>> {
    if h.get(API_KEY_HEADER).is_none_or(|k| k.is_empty()) {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "000",
            "HTTP Status Response - Unauthorized",
            "security",
        )));
    }
    let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if field("merchantAccount").is_none() {
        return Err(Box::new(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "14_005",
            "Required field 'merchantAccount' is not provided.",
            "validation",
        )));
    }
    let Some(reference) = field("reference") else {
        return Err(Box::new(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "130",
            "Required field 'reference' is not provided.",
            "validation",
        )));
    };
    let Some(value) = v
        .pointer("/amount/value")
        .and_then(Value::as_i64)
        .filter(|x| *x >= 0)
    else {
        return Err(Box::new(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "100",
            "Required field 'amount.value' is not provided or not an integer.",
            "validation",
        )));
    };
    let Some(currency) = v
        .pointer("/amount/currency")
        .and_then(Value::as_str)
        .filter(|c| c.len() == 3)
    else {
        return Err(Box::new(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "101",
            "Required field 'amount.currency' is not provided.",
            "validation",
        )));
    };
    Ok((reference.to_string(), value, currency.to_string()))
}

fn callback(s: &Shared, key: &str, reference: &str, psp: &str, method: &str, paise: i64) {
    if s.callbacks.active() {
        let ok = s.would_settle_ok(key);
        // `order_id` carries the Adyen payment method (what the notification names).
        s.callbacks
            .accepted(Accepted::new(reference, psp, Some(method), paise, ok));
    }
}

fn psp(s: &Shared) -> String {
    format!("SBX{:013}", s.next_seq())
}

async fn adyen_payments(State(s): S, h: HeaderMap, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "702",
            "Structure of PaymentRequest contains the following unknown fields",
            "validation",
        );
    };
    let (reference, paise, _cur) = match validate(&h, &v) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let typ = v
        .pointer("/paymentMethod/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(typ, "upi_collect" | "upi_intent" | "upi_qr") {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "14_0419",
            "Payment method not supported by this sandbox",
            "validation",
        );
    }
    let vpa = v
        .pointer("/paymentMethod/virtualPaymentAddress")
        .and_then(Value::as_str);
    if typ == "upi_collect" && vpa.is_none_or(|a| !a.contains('@')) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "14_0433",
            "Invalid virtualPaymentAddress",
            "validation",
        );
    }
    match s.decide().await {
        Verdict::Created => {
            let id = psp(&s);
            // Kept for its refunds (Adyen does not refuse a reused reference).
            let _ = s.remember(&reference, &id, paise);
            callback(&s, &reference, &reference, &id, typ, paise);
            let action = match typ {
                "upi_collect" => j!({"paymentMethodType": typ, "type": "await", "paymentData": "sbx"}),
                "upi_qr" => j!({"paymentMethodType": typ, "type": "qrCode",
                    "qrCodeData": upi_uri(&s, &id, Some(&super::rupees(paise)))}),
                _ => j!({"paymentMethodType": typ, "type": "redirect", "method": "GET",
                    "url": upi_uri(&s, &id, Some(&super::rupees(paise)))}),
            };
            json(StatusCode::OK, j!({"resultCode": "Pending", "action": action, "pspReference": id}).to_string())
        }
        Verdict::Declined => json(
            StatusCode::OK,
            j!({"resultCode": "Refused", "refusalReason": "Not enough balance", "refusalReasonCode": "12", "pspReference": psp(&s)}).to_string(),
        ),
        Verdict::Error(code) => error(code, "905", "Payment details are not supported", "internal"),
        Verdict::Timeout => hold().await,
    }
}

async fn adyen_link(State(s): S, h: HeaderMap, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "702",
            "Malformed JSON",
            "validation",
        );
    };
    let (reference, paise, cur) = match validate(&h, &v) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match s.decide().await {
        Verdict::Created => {
            let id = format!("PLSBX{}a{paise}", s.next_seq());
            callback(&s, &id, &reference, &psp(&s), "visa", paise);
            json(
                StatusCode::CREATED,
                j!({"id": id, "url": format!("http://{}/adyen/{id}", s.addr), "status": "active",
                    "reference": reference, "amount": {"currency": cur, "value": paise},
                    "merchantAccount": v["merchantAccount"]})
                .to_string(),
            )
        }
        Verdict::Declined => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "14_012",
            "The requested payment method is not available",
            "validation",
        ),
        Verdict::Error(code) => error(code, "905", "Internal error", "internal"),
        Verdict::Timeout => hold().await,
    }
}

async fn adyen_link_status(State(s): S, h: HeaderMap, Path(id): Path<String>) -> Response {
    if h.get(API_KEY_HEADER).is_none() {
        return error(
            StatusCode::UNAUTHORIZED,
            "000",
            "HTTP Status Response - Unauthorized",
            "security",
        );
    }
    let Some(paise) = id
        .strip_prefix("PLSBX")
        .and_then(|r| r.rsplit_once('a'))
        .and_then(|(_, a)| a.parse::<i64>().ok())
    else {
        return error(
            StatusCode::NOT_FOUND,
            "14_030",
            "Payment link not found",
            "validation",
        );
    };
    let status = if s.settles_ok(&id) {
        "completed"
    } else {
        "expired"
    };
    json(
        StatusCode::OK,
        j!({"id": id, "status": status, "amount": {"currency": "INR", "value": paise}}).to_string(),
    )
}

/// The notification body for `phase` of an accepted payment.
fn notification(a: &Accepted, phase: Phase, at: OffsetDateTime, hex_key: &str) -> String {
    let (code, success) = match (phase, a.succeeded) {
        // Adyen's PENDING notification (an asynchronous method awaits the shopper).
        (Phase::Earlier, _) => ("PENDING", "true"),
        (Phase::Final | Phase::FailedFirst, ok) => {
            ("AUTHORISATION", if ok { "true" } else { "false" })
        }
    };
    let mut item = j!({
        "amount": {"currency": "INR", "value": a.amount},
        "eventCode": code,
        "eventDate": crate::connectors::time_fmt::format_utc(at),
        "merchantAccountCode": "SandboxMerchant",
        "merchantReference": a.payment_id,
        "paymentMethod": a.order_id.as_deref().unwrap_or("upi_collect"),
        "pspReference": a.gateway_payment_id,
        "reason": if success == "true" { "" } else { "Not enough balance" },
        "success": success,
        "additionalData": {},
    });
    let sig = adyen::sign_item(hex_key, &item).unwrap_or_default();
    item["additionalData"]["hmacSignature"] = sig.into();
    j!({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}).to_string()
}
