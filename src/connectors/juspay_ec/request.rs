//! Juspay Express Checkout request bodies, form-urlencoded as its API reference
//! shows them: `POST /orders` (our payment id is Juspay's `order_id`; amount in
//! rupees as exact text) and `POST /txns` (UPI: `payment_method_type=UPI`,
//! `txn_type` `UPI_COLLECT` with `upi_vpa`, or `UPI_PAY` with `sdk_params=true` for
//! intent and QR).

use crate::connectors::InitiateRequest;
use crate::model::Method;

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// `POST /orders`.
pub fn order_body(req: &InitiateRequest<'_>) -> String {
    let r = req.request;
    let amount = r.amount.to_rupees_string();
    let customer = r.customer.id.clone().unwrap_or_else(|| r.order_id.clone());
    let mut pairs: Vec<(&str, &str)> = vec![
        ("order_id", req.payment_id),
        ("amount", &amount),
        ("currency", r.currency.as_str()),
        ("customer_id", &customer),
        ("udf1", &r.order_id),
    ];
    if let Some(e) = &r.customer.email {
        pairs.push(("customer_email", e));
    }
    if let Some(p) = &r.customer.phone {
        pairs.push(("customer_phone", p));
    }
    if let Some(d) = &r.description {
        pairs.push(("description", d));
    }
    if let Some(u) = req.callback_url {
        pairs.push(("metadata.webhook_url", u));
    }
    encode(&pairs)
}

/// `POST /txns` for a UPI flow; `None` for a method Juspay takes on its hosted page.
pub fn txn_body(req: &InitiateRequest<'_>, merchant_id: &str) -> Option<String> {
    let r = req.request;
    let mut pairs: Vec<(&str, &str)> = vec![
        ("order_id", req.payment_id),
        ("merchant_id", merchant_id),
        ("payment_method_type", "UPI"),
        ("payment_method", "UPI"),
        ("redirect_after_payment", "true"),
        ("format", "json"),
    ];
    match (r.method, &r.vpa) {
        (Method::UpiCollect, Some(v)) => {
            pairs.push(("txn_type", "UPI_COLLECT"));
            pairs.push(("upi_vpa", v.expose()));
            return Some(encode(&pairs));
        }
        (Method::UpiCollect, None) => pairs.push(("txn_type", "UPI_COLLECT")),
        (Method::UpiIntent | Method::UpiQr, _) => {
            pairs.push(("txn_type", "UPI_PAY"));
            pairs.push(("sdk_params", "true"));
        }
        _ => return None,
    }
    Some(encode(&pairs))
}
