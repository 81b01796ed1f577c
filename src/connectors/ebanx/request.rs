//! EBANX request bodies: the Direct API (`POST /ws/direct`, `operation: request`)
//! for UPI intent and QR (`payment_type_code` `upi-intent` / `upi-qrcode`, country
//! `in`), the hosted payment page (`POST /ws/request`) for card and netbanking, and
//! the query (`POST /ws/query`). The integration key travels in the body. Amounts
//! are decimal major units written from paise as exact text (`299.00`), never `f64`.

use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::connectors::InitiateRequest;
use crate::model::{Method, Paise};

/// The amount as an exact JSON number with two decimals (`29900` → `299.00`).
pub fn decimal(p: Paise) -> Value {
    // A two-decimal text is always a valid JSON number; `RawValue` keeps it exact.
    RawValue::from_string(p.to_rupees_string())
        .ok()
        .and_then(|r| serde_json::to_value(r).ok())
        .unwrap_or(Value::Null)
}

/// The EBANX `payment_type_code` of a UPI flow; `None` where EBANX's Direct API
/// offers none (UPI collect).
pub fn upi_type(m: Method) -> Option<&'static str> {
    match m {
        Method::UpiIntent => Some("upi-intent"),
        Method::UpiQr => Some("upi-qrcode"),
        _ => None,
    }
}

fn customer_name(req: &InitiateRequest<'_>) -> String {
    req.request
        .customer
        .id
        .clone()
        .unwrap_or_else(|| "Customer".to_string())
}

/// `POST /ws/direct` for UPI intent or QR.
pub fn direct_body(req: &InitiateRequest<'_>, integration_key: &str, typ: &str) -> Value {
    let r = req.request;
    let c = &r.customer;
    let mut payment = json!({
        "name": customer_name(req),
        "email": c.email.clone().unwrap_or_default(),
        "country": "in",
        "payment_type_code": typ,
        "merchant_payment_code": req.payment_id,
        "order_number": r.order_id,
        "currency_code": r.currency.as_str(),
        "amount_total": decimal(r.amount),
    });
    if let Some(o) = payment.as_object_mut() {
        if let Some(p) = &c.phone {
            o.insert("phone_number".into(), json!(p));
        }
        if let Some(u) = req.callback_url {
            o.insert("notification_url".into(), json!(u));
        }
    }
    json!({
        "integration_key": integration_key,
        "operation": "request",
        "mode": "full",
        "payment": payment,
    })
}

/// `POST /ws/request`: the hosted page for card (`creditcard`) and netbanking.
pub fn page_body(req: &InitiateRequest<'_>, integration_key: &str) -> Value {
    let r = req.request;
    let typ = match r.method {
        Method::Netbanking => "netbanking",
        _ => "creditcard",
    };
    let mut body = json!({
        "integration_key": integration_key,
        "name": customer_name(req),
        "email": r.customer.email.clone().unwrap_or_default(),
        "country": "in",
        "payment_type_code": typ,
        "merchant_payment_code": req.payment_id,
        "order_number": r.order_id,
        "currency_code": r.currency.as_str(),
        "amount": decimal(r.amount),
    });
    if let (Some(u), Some(o)) = (req.callback_url, body.as_object_mut()) {
        o.insert("notification_url".into(), json!(u));
    }
    body
}

/// `POST /ws/query` by EBANX hash, else by our payment id (`merchant_payment_code`).
pub fn query_body(integration_key: &str, hash: Option<&str>, payment_id: &str) -> Value {
    match hash {
        Some(h) => json!({ "integration_key": integration_key, "hash": h }),
        None => json!({ "integration_key": integration_key, "merchant_payment_code": payment_id }),
    }
}
