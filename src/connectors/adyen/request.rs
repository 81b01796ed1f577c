//! Adyen Checkout API v71 request bodies: `POST /payments` with a UPI payment
//! method (`upi_collect` + `virtualPaymentAddress`, `upi_intent`, `upi_qr`) and
//! `POST /paymentLinks` (hosted page) for card and netbanking. Amounts are integer
//! minor units (`{"currency":"INR","value":29900}`), which for INR are paise.

use serde_json::{Value, json};

use crate::connectors::InitiateRequest;
use crate::model::{Method, Paise};

/// `amount` object: minor units as an integer.
pub fn amount(value: Paise, currency: &str) -> Value {
    json!({ "currency": currency, "value": value.get() })
}

/// The Adyen `paymentMethod.type` for a UPI method.
pub fn upi_type(m: Method) -> Option<&'static str> {
    match m {
        Method::UpiCollect => Some("upi_collect"),
        Method::UpiIntent => Some("upi_intent"),
        Method::UpiQr => Some("upi_qr"),
        _ => None,
    }
}

/// The caller's return URL, when its metadata carries one (`return_url`).
fn return_url<'a>(req: &'a InitiateRequest<'_>) -> Option<&'a str> {
    req.request
        .metadata
        .as_ref()
        .and_then(|m| m.get("return_url"))
        .and_then(Value::as_str)
}

fn shopper(o: &mut serde_json::Map<String, Value>, req: &InitiateRequest<'_>) {
    let c = &req.request.customer;
    if let Some(id) = &c.id {
        o.insert("shopperReference".into(), json!(id));
    }
    if let Some(e) = &c.email {
        o.insert("shopperEmail".into(), json!(e));
    }
    if let Some(p) = &c.phone {
        o.insert("telephoneNumber".into(), json!(p));
    }
    if let Some(u) = return_url(req) {
        o.insert("returnUrl".into(), json!(u));
    }
}

/// `POST /v71/payments` for a UPI flow: our payment id is the `reference` (echoed as
/// `merchantReference` in every notification), the merchant's order id is
/// `merchantOrderReference`. `None` for a method that is not UPI.
pub fn payment_body(req: &InitiateRequest<'_>, merchant_account: &str) -> Option<Value> {
    let r = req.request;
    let typ = upi_type(r.method)?;
    let mut pm = json!({ "type": typ });
    if let (Method::UpiCollect, Some(v), Some(o)) = (r.method, &r.vpa, pm.as_object_mut()) {
        o.insert("virtualPaymentAddress".into(), json!(v.expose()));
    }
    let mut body = json!({
        "merchantAccount": merchant_account,
        "reference": req.payment_id,
        "merchantOrderReference": r.order_id,
        "amount": amount(r.amount, r.currency.as_str()),
        "paymentMethod": pm,
        "channel": "Web",
        "countryCode": "IN",
    });
    if let Some(o) = body.as_object_mut() {
        shopper(o, req);
        if let Some(d) = &r.description {
            o.insert("shopperStatement".into(), json!(d));
        }
    }
    Some(body)
}

/// `POST /v71/paymentLinks` for card (`scheme`) and netbanking (`onlinebanking_IN`).
pub fn link_body(req: &InitiateRequest<'_>, merchant_account: &str) -> Value {
    let r = req.request;
    let allowed = match r.method {
        Method::Netbanking => "onlinebanking_IN",
        _ => "scheme",
    };
    let mut body = json!({
        "merchantAccount": merchant_account,
        "reference": req.payment_id,
        "merchantOrderReference": r.order_id,
        "amount": amount(r.amount, r.currency.as_str()),
        "allowedPaymentMethods": [allowed],
        "countryCode": "IN",
    });
    if let Some(o) = body.as_object_mut() {
        shopper(o, req);
        if let Some(d) = &r.description {
            o.insert("description".into(), json!(d));
        }
    }
    body
}
