//! EBANX request bodies: the Direct API (`POST /ws/direct`, `operation: request`)
//! for UPI intent and QR (`payment_type_code` `upi-intent` / `upi-qrcode`, country
//! `in`), the hosted payment page (`POST /ws/request`) for card and netbanking, and
//! the query (`POST /ws/query`). The integration key travels in the body. Amounts
//! are decimal major units written from paise as exact text (`299.00`), never `f64`.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::connectors::InitiateRequest;
use crate::model::{Method, Paise};

/// The amount as an exact JSON number with two decimals (`29900` → `299.00`),
/// kept as raw text so no `f64` ever holds it.
pub fn decimal(p: Paise) -> Box<RawValue> {
    // A two-decimal text is always a valid JSON number.
    RawValue::from_string(p.to_rupees_string()).unwrap_or_default()
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

#[derive(Serialize)]
struct Payment<'a> {
    /// Only on the hosted-page request, where the payment fields are top-level.
    #[serde(skip_serializing_if = "Option::is_none")]
    integration_key: Option<&'a str>,
    name: String,
    email: &'a str,
    country: &'static str,
    payment_type_code: &'a str,
    merchant_payment_code: &'a str,
    order_number: &'a str,
    currency_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_total: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_url: Option<&'a str>,
}

#[derive(Serialize)]
struct Direct<'a> {
    integration_key: &'a str,
    operation: &'static str,
    mode: &'static str,
    payment: Payment<'a>,
}

fn payment<'a>(req: &'a InitiateRequest<'_>, typ: &'a str, page: bool) -> Payment<'a> {
    let r = req.request;
    let amount = decimal(r.amount);
    let (amount_total, amount) = if page {
        (None, Some(amount))
    } else {
        (Some(amount), None)
    };
    Payment {
        integration_key: None,
        name: customer_name(req),
        email: r.customer.email.as_deref().unwrap_or_default(),
        country: "in",
        payment_type_code: typ,
        merchant_payment_code: req.payment_id,
        order_number: &r.order_id,
        currency_code: r.currency.as_str(),
        amount_total,
        amount,
        phone_number: r.customer.phone.as_deref(),
        notification_url: req.callback_url,
    }
}

/// `POST /ws/direct` for UPI intent or QR.
pub fn direct_body(
    req: &InitiateRequest<'_>,
    integration_key: &str,
    typ: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Direct {
        integration_key,
        operation: "request",
        mode: "full",
        payment: payment(req, typ, false),
    })
}

/// `POST /ws/request`: the hosted page for card (`creditcard`) and netbanking.
pub fn page_body(
    req: &InitiateRequest<'_>,
    integration_key: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    let typ = match req.request.method {
        Method::Netbanking => "netbanking",
        _ => "creditcard",
    };
    let mut p = payment(req, typ, true);
    p.integration_key = Some(integration_key);
    serde_json::to_vec(&p)
}

/// `POST /ws/query` by EBANX hash, else by our payment id (`merchant_payment_code`).
pub fn query_body(integration_key: &str, hash: Option<&str>, payment_id: &str) -> Value {
    match hash {
        Some(h) => json!({ "integration_key": integration_key, "hash": h }),
        None => json!({ "integration_key": integration_key, "merchant_payment_code": payment_id }),
    }
}
