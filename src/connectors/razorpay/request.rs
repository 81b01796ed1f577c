//! Razorpay request bodies: orders, S2S UPI payments and payment links.

use serde_json::{Value, json};

use super::NOTE_PAYMENT_ID;
use crate::connectors::InitiateRequest;
use crate::model::Method;

fn notes(req: &InitiateRequest<'_>) -> Value {
    json!({ NOTE_PAYMENT_ID: req.payment_id, "order_id": req.request.order_id })
}

/// `POST /v1/orders`: amount in integer paise, our payment id as the receipt.
pub fn order_body(req: &InitiateRequest<'_>) -> Value {
    json!({
        "amount": req.request.amount.get(),
        "currency": req.request.currency.as_str(),
        "receipt": req.payment_id,
        "notes": notes(req),
    })
}

/// `POST /v1/payments/create/upi`: collect (with the VPA) or intent (QR uses the
/// intent link as the QR payload: the same `upi://pay` URI).
pub fn upi_payment_body(req: &InitiateRequest<'_>, order_id: &str) -> Value {
    let r = req.request;
    let mut upi =
        json!({ "flow": if r.method == Method::UpiCollect { "collect" } else { "intent" } });
    if let (Some(v), Some(o), Method::UpiCollect) = (&r.vpa, upi.as_object_mut(), r.method) {
        o.insert("vpa".into(), json!(v.expose()));
        o.insert("expiry_time".into(), json!(5));
    }
    let mut body = json!({
        "amount": r.amount.get(),
        "currency": r.currency.as_str(),
        "order_id": order_id,
        "method": "upi",
        "notes": notes(req),
        "upi": upi,
    });
    if let Some(o) = body.as_object_mut() {
        if let Some(e) = &r.customer.email {
            o.insert("email".into(), json!(e));
        }
        if let Some(p) = &r.customer.phone {
            o.insert("contact".into(), json!(p));
        }
        if let Some(d) = &r.description {
            o.insert("description".into(), json!(d));
        }
        if let Some(u) = req.callback_url {
            o.insert("callback_url".into(), json!(u));
        }
    }
    body
}

/// `POST /v1/payment_links` for card and netbanking.
pub fn link_body(req: &InitiateRequest<'_>) -> Value {
    let r = req.request;
    let mut customer = serde_json::Map::new();
    if let Some(e) = &r.customer.email {
        customer.insert("email".into(), json!(e));
    }
    if let Some(p) = &r.customer.phone {
        customer.insert("contact".into(), json!(p));
    }
    let mut body = json!({
        "amount": r.amount.get(),
        "currency": r.currency.as_str(),
        "reference_id": req.payment_id,
        "description": r.description.clone().unwrap_or_else(|| format!("Order {}", r.order_id)),
        "customer": customer,
        "notify": { "sms": false, "email": false },
        "notes": notes(req),
    });
    if let (Some(u), Some(o)) = (req.callback_url, body.as_object_mut()) {
        o.insert("callback_url".into(), json!(u));
        o.insert("callback_method".into(), json!("get"));
    }
    body
}
