//! Cashfree request bodies: orders, order payments (sessions) and payment links.
//! Amounts are written from paise as exact rupee text, never through `f64`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::connectors::InitiateRequest;
use crate::model::{Method, Paise};

#[derive(Serialize)]
struct CustomerDetails<'a> {
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_email: Option<&'a str>,
}

#[derive(Serialize)]
struct OrderMeta<'a> {
    notify_url: &'a str,
}

#[derive(Serialize)]
struct OrderBody<'a> {
    order_id: &'a str,
    order_amount: Box<RawValue>,
    order_currency: &'a str,
    customer_details: CustomerDetails<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_meta: Option<OrderMeta<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_note: Option<&'a str>,
    order_tags: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
struct LinkNotify {
    send_sms: bool,
    send_email: bool,
}

#[derive(Serialize)]
struct LinkMeta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
}

#[derive(Serialize)]
struct LinkBody<'a> {
    link_id: &'a str,
    link_amount: Box<RawValue>,
    link_currency: &'a str,
    link_purpose: String,
    customer_details: CustomerDetails<'a>,
    link_notify: LinkNotify,
    link_meta: LinkMeta<'a>,
    link_notes: BTreeMap<&'static str, &'a str>,
}

/// The amount as an exact JSON number with two decimals (`29900` → `299.00`).
fn rupees_raw(p: Paise) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(p.to_rupees_string())
}

fn customer<'a>(req: &'a InitiateRequest<'_>) -> CustomerDetails<'a> {
    let c = &req.request.customer;
    CustomerDetails {
        // Cashfree requires a customer id; fall back to the merchant's order id.
        customer_id: c.id.clone().unwrap_or_else(|| req.request.order_id.clone()),
        customer_phone: c.phone.as_deref(),
        customer_email: c.email.as_deref(),
    }
}

/// `POST /pg/orders` body: our payment id is Cashfree's `order_id`.
pub fn order_body(req: &InitiateRequest<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let r = req.request;
    let body = OrderBody {
        order_id: req.payment_id,
        order_amount: rupees_raw(r.amount)?,
        order_currency: r.currency.as_str(),
        customer_details: customer(req),
        order_meta: req.callback_url.map(|u| OrderMeta { notify_url: u }),
        order_note: r.description.as_deref(),
        order_tags: BTreeMap::from([("merchant_order_id", r.order_id.as_str())]),
    };
    serde_json::to_vec(&body)
}

/// `POST /pg/links` body for card and netbanking.
pub fn link_body(req: &InitiateRequest<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let r = req.request;
    let body = LinkBody {
        link_id: req.payment_id,
        link_amount: rupees_raw(r.amount)?,
        link_currency: r.currency.as_str(),
        link_purpose: r
            .description
            .clone()
            .unwrap_or_else(|| format!("Order {}", r.order_id)),
        customer_details: customer(req),
        link_notify: LinkNotify {
            send_sms: false,
            send_email: false,
        },
        link_meta: LinkMeta {
            notify_url: req.callback_url,
        },
        link_notes: BTreeMap::from([("merchant_order_id", r.order_id.as_str())]),
    };
    serde_json::to_vec(&body)
}

/// `POST /pg/orders/sessions` body.
pub fn pay_body(req: &InitiateRequest<'_>, session_id: &str) -> Value {
    let r = req.request;
    let upi = match (r.method, &r.vpa) {
        (Method::UpiCollect, Some(v)) => {
            serde_json::json!({ "channel": "collect", "upi_id": v.expose() })
        }
        (Method::UpiCollect, None) => serde_json::json!({ "channel": "collect" }),
        (Method::UpiQr, _) => serde_json::json!({ "channel": "qrcode" }),
        _ => serde_json::json!({ "channel": "link" }),
    };
    serde_json::json!({
        "payment_session_id": session_id,
        "payment_method": { "upi": upi },
    })
}
