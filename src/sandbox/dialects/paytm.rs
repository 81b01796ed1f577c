//! The Paytm dialect as the sandbox answers it: `initiateTransaction` (signed
//! body) → `txnToken`, `processTransaction` (UPI collect / intent), `/v3/order/status`
//! and form callbacks with `CHECKSUMHASH`.
//!
//! Checked as Paytm does: the `head.signature` checksum over the exact `body` text
//! (when the sandbox knows the merchant key), the MID, `txnAmount.value` as a rupee
//! decimal, a unique `orderId` (`325` Duplicate Order Id), a token it issued for
//! that order, a `payerAccount` for collect. Unknown orders: `334` Invalid Order Id.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::{Dialect, S, browser, hold, json, rrn, rupees, upi_uri, webhook_or_key_secret};
use crate::connectors::form::Form;
use crate::connectors::{amount, paytm};
use crate::model::Paise;
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::callbacks::format::{Callback, Phase};
use crate::sandbox::state::{Shared, Verdict};

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/x-www-form-urlencoded",
    callback_headers,
    callback_secret: webhook_or_key_secret,
};

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(paytm::INITIATE_PATH, post(initiate))
        .route(paytm::PROCESS_PATH, post(process))
        .route(paytm::STATUS_PATH, post(status))
        .route(paytm::SHOW_PAYMENT_PAGE_PATH, post(show_payment_page))
}

/// `enablePaymentMode[].mode` words the twin knows, and the `PAYMENTMODE` Paytm
/// reports for a payment made with them.
const MODES: [(&str, &str); 4] = [
    ("CREDIT_CARD", "CC"),
    ("DEBIT_CARD", "DC"),
    ("NET_BANKING", "NB"),
    ("UPI", "UPI"),
];

/// The `enablePaymentMode` of an initiateTransaction body: `Ok(None)` when absent,
/// `Err` naming an unknown mode.
fn enabled_modes(v: &Value) -> Result<Option<Vec<String>>, String> {
    let Some(list) = v.get("enablePaymentMode") else {
        return Ok(None);
    };
    let modes: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    m.get("mode")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    match modes.iter().find(|m| !MODES.iter().any(|(k, _)| k == m)) {
        Some(bad) => Err(format!("Invalid enablePaymentMode {bad}")),
        None if modes.is_empty() => Err("Invalid enablePaymentMode".into()),
        None => Ok(Some(modes)),
    }
}

pub(crate) fn result(status: &str, code: &str, msg: &str, extra: Value) -> Response {
    let mut body =
        json!({"resultInfo": {"resultStatus": status, "resultCode": code, "resultMsg": msg}});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    json(
        StatusCode::OK,
        json!({"head": {"version": "v1"}, "body": body}).to_string(),
    )
}

/// The `body` text and `Value` of a signed request, if its checksum holds.
pub(crate) fn signed_body(s: &Shared, raw: &[u8]) -> Result<Value, Box<Response>> {
    let text = std::str::from_utf8(raw).unwrap_or("");
    let inner = amount::raw_at(text, &["body"]).unwrap_or("");
    let v: Value = serde_json::from_str(inner)
        .map_err(|_| Box::new(result("F", "501", "Invalid request body", Value::Null)))?;
    if let Some(key) = s.cred(|c| c.key_secret.as_ref()) {
        let sig = amount::raw_at(text, &["head", "signature"])
            .and_then(|s| serde_json::from_str::<String>(s).ok())
            .unwrap_or_default();
        if !paytm::checksum::verify(inner, &key, &sig) {
            return Err(Box::new(result(
                "F",
                "2005",
                "Checksum provided is invalid",
                Value::Null,
            )));
        }
    }
    if let Some(mid) = s.cred(|c| c.key_id.as_ref())
        && v.get("mid").and_then(Value::as_str) != Some(mid.as_str())
    {
        return Err(Box::new(result(
            "F",
            "2013",
            "Mid in the query param doesn't match with the Mid send in request",
            Value::Null,
        )));
    }
    Ok(v)
}

fn token_for(order: &str) -> String {
    format!(
        "sbxtok{:016x}",
        xxhash_rust::xxh3::xxh3_64(order.as_bytes())
    )
}

async fn initiate(State(s): S, body: Bytes) -> Response {
    let v = match signed_body(&s, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(order) = v
        .get("orderId")
        .and_then(Value::as_str)
        .filter(|o| !o.is_empty())
    else {
        return result("F", "501", "orderId is mandatory", Value::Null);
    };
    let paise = match v
        .pointer("/txnAmount/value")
        .and_then(Value::as_str)
        .map(amount::rupees_text)
    {
        Some(Ok(p)) if p.get() > 0 => p.get(),
        _ => return result("F", "1007", "Invalid txnAmount", Value::Null),
    };
    if s.record(order).is_some() {
        return result(
            "F",
            paytm::DUPLICATE_ORDER,
            "Duplicate Order Id",
            Value::Null,
        );
    }
    // An order for the hosted page only (no UPI) waits for the browser's
    // showPaymentPage post: no payment, no callback before it.
    let hosted = match enabled_modes(&v) {
        Ok(Some(m)) if !m.iter().any(|x| x == "UPI") => MODES
            .iter()
            .find(|(k, _)| *k == m[0])
            .map(|(_, code)| *code),
        Ok(_) => None,
        Err(why) => return result("F", "501", &why, Value::Null),
    };
    match s.decide().await {
        Verdict::Created if hosted.is_some() => {
            let id = format!("2025{:030}", s.next_seq());
            let mode = hosted.unwrap_or("CC");
            if s.remember_for_browser(order, &id, paise, mode).is_err() {
                return result("F", paytm::DUPLICATE_ORDER, "Duplicate Order Id", Value::Null);
            }
            result("S", "0000", "Success", json!({"txnToken": token_for(order), "isPromoCodeValid": false, "authenticated": false}))
        }
        Verdict::Created => {
            let id = format!("2025{:030}", s.next_seq());
            if s.remember(order, &id, paise).is_err() {
                return result("F", paytm::DUPLICATE_ORDER, "Duplicate Order Id", Value::Null);
            }
            if s.callbacks.active() {
                let ok = s.would_settle_ok(order);
                s.callbacks.accepted(Accepted::new(order, &id, Some(order), paise, ok));
            }
            result("S", "0000", "Success", json!({"txnToken": token_for(order), "isPromoCodeValid": false, "authenticated": false}))
        }
        Verdict::Declined => result("F", "227", "Your payment has been declined by your bank.", Value::Null),
        Verdict::Error(code) => json(code, r#"{"head":{},"body":{"resultInfo":{"resultStatus":"F","resultCode":"501","resultMsg":"System Error"}}}"#.into()),
        Verdict::Timeout => hold().await,
    }
}

async fn process(State(s): S, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return result("F", "501", "Invalid request body", Value::Null);
    };
    let order = v
        .pointer("/body/orderId")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(rec) = s.record(order) else {
        return result("F", paytm::INVALID_ORDER, "Invalid Order Id.", Value::Null);
    };
    if v.pointer("/head/txnToken").and_then(Value::as_str) != Some(token_for(order).as_str()) {
        return result("F", "1006", "Your Session has expired.", Value::Null);
    }
    match v.pointer("/body/paymentMode").and_then(Value::as_str) {
        Some("UPI")
            if v.pointer("/body/payerAccount")
                .and_then(Value::as_str)
                .is_some() =>
        {
            result("S", "0000", "Success", Value::Null)
        }
        Some("UPI") => result(
            "F",
            "295",
            "Your payment failed as the UPI ID entered is incorrect.",
            Value::Null,
        ),
        Some("UPI_INTENT") => result(
            "S",
            "0000",
            "Success",
            json!({"deepLinkInfo": {"deepLink": upi_uri(&s, &rec.gateway_id, Some(&rupees(rec.amount))), "orderId": order}}),
        ),
        _ => result("F", "501", "paymentMode is invalid", Value::Null),
    }
}

/// The customer's browser enters the hosted page: `mid`, `orderId`, `txnToken`
/// (query and form). A token this twin did not issue for the order, another MID,
/// or an order not waiting for its page is refused with 400; otherwise the
/// customer pays (the mode the order enabled), the callback is scheduled and the
/// browser gets the signed result.
async fn show_payment_page(
    State(s): S,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
    body: Bytes,
) -> Response {
    let f = Form::parse(&body);
    let query = Form::parse(q.unwrap_or_default().as_bytes());
    let order = f.get("orderId");
    if let Some(m) = ["mid", "orderId", "txnToken"]
        .iter()
        .find(|k| f.non_empty(k).is_none())
    {
        return browser::refused(&format!("{m} is mandatory"));
    }
    if query.raw("orderId").is_some_and(|o| o != order)
        || query.raw("mid").is_some_and(|m| m != f.get("mid"))
    {
        return browser::refused("Mid or orderId in the query param doesn't match the request");
    }
    if let Some(mid) = s.cred(|c| c.key_id.as_ref())
        && f.get("mid") != mid
    {
        return browser::refused("Invalid mid");
    }
    if f.get("txnToken") != token_for(order) {
        return browser::refused("Your Session has expired.");
    }
    let Some(rec) = s.enter_browser(order) else {
        return browser::refused("Invalid Order Id.");
    };
    let ok = s.would_settle_ok(order);
    let a = Accepted::new(order, &rec.gateway_id, Some(order), rec.amount, ok).with_echo(vec![(
        "PAYMENTMODE".into(),
        rec.hosted_mode.clone().unwrap_or_else(|| "CC".into()),
    )]);
    let key = s.cred(|c| c.key_secret.as_ref()).unwrap_or_default();
    let signed = callback_body(&a, Phase::Final, OffsetDateTime::now_utc(), "", &key);
    if s.callbacks.active() {
        s.callbacks.accepted(a);
    }
    browser::returns_to(&s.callbacks.url().unwrap_or_default(), &signed)
}

fn ist(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].0");
    t.to_offset(offset!(+5:30)).format(f).unwrap_or_default()
}

async fn status(State(s): S, body: Bytes) -> Response {
    let v = match signed_body(&s, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let order = v.get("orderId").and_then(Value::as_str).unwrap_or("");
    let Some(rec) = s.record(order) else {
        return result("F", paytm::INVALID_ORDER, "Invalid Order Id.", Value::Null);
    };
    let amt = Paise(rec.amount).to_rupees_string();
    if rec.awaiting_browser {
        return result(
            "PENDING",
            "402",
            "Looks like the payment is not complete.",
            json!({"orderId": order, "txnAmount": amt, "txnType": "SALE"}),
        );
    }
    let ok = s.settles_ok(order);
    let (w, c, m, bank) = if ok {
        (
            "TXN_SUCCESS",
            "01",
            "Txn Success",
            format!("{:012}", rrn(&rec.gateway_id)),
        )
    } else {
        (
            "TXN_FAILURE",
            "227",
            "Your payment has been declined by your bank.",
            String::new(),
        )
    };
    result(
        w,
        c,
        m,
        json!({"txnId": rec.gateway_id, "bankTxnId": bank, "orderId": order, "txnAmount": amt,
        "txnType": "SALE", "paymentMode": rec.hosted_mode.as_deref().unwrap_or("UPI"), "txnDate": ist(OffsetDateTime::now_utc())}),
    )
}

// === callbacks ===

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    _event_id: &str,
    key: &str,
) -> Vec<u8> {
    let (status, code, msg, bank) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => (
            "PENDING",
            "402",
            "Looks like the payment is not complete.",
            String::new(),
        ),
        (Phase::Final | Phase::FailedFirst, true) => (
            "TXN_SUCCESS",
            "01",
            "Txn Success",
            format!("{:012}", rrn(&a.gateway_payment_id)),
        ),
        (Phase::Final | Phase::FailedFirst, false) => (
            "TXN_FAILURE",
            "227",
            "Your payment has been declined by your bank.",
            String::new(),
        ),
    };
    let pairs: Vec<(String, String)> = [
        ("ORDERID", a.payment_id.clone()),
        ("MID", "SANDBOX".into()),
        ("TXNID", a.gateway_payment_id.clone()),
        ("TXNAMOUNT", Paise(a.amount).to_rupees_string()),
        (
            "PAYMENTMODE",
            a.echo
                .iter()
                .find(|(k, _)| k == "PAYMENTMODE")
                .map_or("UPI".into(), |(_, v)| v.clone()),
        ),
        ("CURRENCY", "INR".into()),
        ("TXNDATE", ist(at)),
        ("STATUS", status.into()),
        ("RESPCODE", code.into()),
        ("RESPMSG", msg.into()),
        ("GATEWAYNAME", "SANDBOX".into()),
        ("BANKTXNID", bank),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    paytm::sign_callback(key, &pairs)
        .unwrap_or_default()
        .into_bytes()
}

fn callback_headers(
    _key: &str,
    _cb: &Callback,
    _attempt: u32,
    _now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    // The checksum travels in the body.
    Vec::new()
}
