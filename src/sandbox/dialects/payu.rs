//! The PayU dialect as the sandbox answers it: `POST /_payment` (S2S UPI,
//! `txn_s2s_flow=4`), `POST /merchant/postservice.php` `verify_payment`, and
//! form-urlencoded callbacks carrying the reverse SHA-512 hash.
//!
//! Requests are checked as PayU documents: mandatory fields, the amount as a rupee
//! decimal, the merchant key, the request hash (when the sandbox knows the salt), a
//! VPA for collect, and a unique txnid (a reused one is refused as a duplicate).
//! The same `/_payment` without `txn_s2s_flow` is the hosted checkout the
//! customer's browser posts (cards, netbanking): [`checkout`].

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::{Dialect, S, browser, hold, json, rrn, webhook_or_key_secret};
use crate::connectors::form::Form;
use crate::connectors::{amount, payu};
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
        .route(payu::PAYMENT_PATH, post(payment))
        .route(payu::POSTSERVICE_PATH, post(postservice))
}

const MANDATORY: [&str; 11] = [
    "key",
    "txnid",
    "amount",
    "productinfo",
    "firstname",
    "email",
    "surl",
    "furl",
    "pg",
    "bankcode",
    "hash",
];

/// The fields the reverse hash covers, echoed into the callback as posted.
const ECHO: [&str; 10] = [
    "key",
    "amount",
    "productinfo",
    "firstname",
    "email",
    "udf1",
    "udf2",
    "udf3",
    "udf4",
    "udf5",
];

fn failed(message: &str) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({
            "metaData": {"message": message, "referenceId": null, "statusCode": null,
                         "txnId": null, "txnStatus": "failed", "unmappedStatus": "failed"},
            "result": null
        })
        .to_string(),
    )
}

/// The first reason PayU would refuse this `_payment` form, if any.
fn invalid(s: &Shared, f: &Form) -> Option<String> {
    if let Some(m) = MANDATORY.iter().find(|k| f.raw(k).is_none()) {
        return Some(format!("Mandatory param {m} is missing"));
    }
    if !matches!(amount::rupees_text(f.get("amount")), Ok(p) if p.get() > 0) {
        return Some("Invalid amount".into());
    }
    if let Some(k) = s.cred(|c| c.key_id.as_ref())
        && f.get("key") != k
    {
        return Some("Invalid key".into());
    }
    if let Some(salt) = s.cred(|c| c.key_secret.as_ref())
        && !payu::hash::matches(f.get("hash"), &payu::request_hash(f, &salt))
    {
        return Some("Invalid Hash".into());
    }
    match f.get("bankcode") {
        "UPI" if f.non_empty("vpa").is_none() => Some("Invalid VPA".into()),
        "UPI" | "INTENT" | "UPIQR" => None,
        other => Some(format!("Invalid bankcode {other}")),
    }
}

fn mihpayid(seq: u64) -> String {
    format!("4039{seq:014}")
}

async fn payment(State(s): S, body: Bytes) -> Response {
    let f = Form::parse(&body);
    if f.raw("txn_s2s_flow").is_none() {
        return checkout(&s, &f);
    }
    if let Some(why) = invalid(&s, &f) {
        return failed(&why);
    }
    let txnid = f.get("txnid").to_string();
    let paise = amount::rupees_text(f.get("amount")).map_or(0, Paise::get);
    if s.record(&txnid).is_some() {
        return failed("Duplicate transaction id");
    }
    match s.decide().await {
        Verdict::Created => {
            let id = mihpayid(s.next_seq());
            if s.remember(&txnid, &id, paise).is_err() {
                return failed("Duplicate transaction id");
            }
            if s.callbacks.active() {
                let ok = s.would_settle_ok(&txnid);
                let echo = ECHO
                    .iter()
                    .map(|k| (k.to_string(), f.get(k).to_string()))
                    .collect();
                s.callbacks
                    .accepted(Accepted::new(&txnid, &id, f.raw("udf1"), paise, ok).with_echo(echo));
            }
            let intent = format!(
                "pa=sandbox@{}&pn=Sandbox&tr={id}&am={}&cu=INR",
                s.name,
                f.get("amount")
            );
            json(
                StatusCode::OK,
                serde_json::json!({
                    "metaData": {"message": null, "referenceId": format!("ref{id}"), "statusCode": null,
                                 "txnId": txnid, "txnStatus": "pending", "unmappedStatus": "pending"},
                    "result": {"paymentId": id, "merchantName": "Sandbox", "amount": f.get("amount"),
                               "intentURIData": if f.get("bankcode") == "UPI" { None } else { Some(intent) }}
                })
                .to_string(),
            )
        }
        Verdict::Declined => failed(if f.get("bankcode") == "UPI" {
            "Invalid VPA"
        } else {
            "Transaction failed at bank end"
        }),
        Verdict::Error(code) => json(code, r#"{"status":0,"msg":"Internal error"}"#.into()),
        Verdict::Timeout => hold().await,
    }
}

/// The hosted checkout's mandatory fields (docs.payu.in "Integrate with PayU Hosted
/// Checkout").
const CHECKOUT_MANDATORY: [&str; 10] = [
    "key",
    "txnid",
    "amount",
    "productinfo",
    "firstname",
    "email",
    "phone",
    "surl",
    "furl",
    "hash",
];

/// `enforce_paymethod` words the twin knows, and the `mode` PayU reports for them.
const PAYMETHODS: [(&str, &str); 4] = [
    ("creditcard", "CC"),
    ("debitcard", "DC"),
    ("netbanking", "NB"),
    ("upi", "UPI"),
];

/// The first reason PayU's hosted checkout would refuse this browser form, if any.
fn invalid_checkout(s: &Shared, f: &Form) -> Option<String> {
    if let Some(m) = CHECKOUT_MANDATORY.iter().find(|k| f.non_empty(k).is_none()) {
        return Some(format!("Mandatory param {m} is missing"));
    }
    if !matches!(amount::rupees_text(f.get("amount")), Ok(p) if p.get() > 0) {
        return Some("Invalid amount".into());
    }
    if let Some(k) = s.cred(|c| c.key_id.as_ref())
        && f.get("key") != k
    {
        return Some("Invalid key".into());
    }
    if let Some(salt) = s.cred(|c| c.key_secret.as_ref())
        && !payu::hash::matches(f.get("hash"), &payu::request_hash(f, &salt))
    {
        return Some("Transaction failed due to incorrectly calculated hash parameter".into());
    }
    f.get("enforce_paymethod")
        .split('|')
        .filter(|w| !w.is_empty())
        .find(|w| !PAYMETHODS.iter().any(|(p, _)| p == w))
        .map(|w| format!("Invalid enforce_paymethod {w}"))
}

/// The customer's browser posts the signed `_payment` form (hosted checkout, no
/// `txn_s2s_flow`): checked as PayU checks it (400 and PayU's words when forged or
/// incomplete), then the payment is made under the txnid, its callback scheduled,
/// and the browser sent on to `surl` / `furl` with the signed result.
fn checkout(s: &Shared, f: &Form) -> Response {
    if let Some(why) = invalid_checkout(s, f) {
        return browser::refused(&why);
    }
    let txnid = f.get("txnid").to_string();
    let paise = amount::rupees_text(f.get("amount")).map_or(0, Paise::get);
    let id = mihpayid(s.next_seq());
    if s.remember(&txnid, &id, paise).is_err() {
        return browser::refused("Duplicate transaction id");
    }
    let ok = s.would_settle_ok(&txnid);
    let first = f.get("enforce_paymethod").split('|').next().unwrap_or("");
    let mode = PAYMETHODS
        .iter()
        .find(|(p, _)| *p == first)
        .map_or("CC", |(_, m)| m);
    let mut echo: Vec<(String, String)> = ECHO
        .iter()
        .map(|k| (k.to_string(), f.get(k).to_string()))
        .collect();
    echo.push(("mode".into(), mode.into()));
    let a = Accepted::new(&txnid, &id, f.raw("udf1"), paise, ok).with_echo(echo);
    let salt = s.cred(|c| c.key_secret.as_ref()).unwrap_or_default();
    let result = callback_body(&a, Phase::Final, OffsetDateTime::now_utc(), "", &salt);
    if s.callbacks.active() {
        s.callbacks.accepted(a);
    }
    browser::returns_to(f.get(if ok { "surl" } else { "furl" }), &result)
}

fn ist(t: OffsetDateTime) -> String {
    t.to_offset(offset!(+5:30))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

async fn postservice(State(s): S, body: Bytes) -> Response {
    let f = Form::parse(&body);
    if let Some(r) = crate::sandbox::refunds::payu::postservice(&s, &f).await {
        return r;
    }
    let txnid = f.get("var1").to_string();
    if f.get("command") != "verify_payment" {
        return json(
            StatusCode::OK,
            r#"{"status":0,"msg":"Invalid command"}"#.into(),
        );
    }
    if let (Some(salt), Some(key)) = (
        s.cred(|c| c.key_secret.as_ref()),
        s.cred(|c| c.key_id.as_ref()),
    ) {
        let want = payu::command_hash(&key, "verify_payment", &txnid, &salt);
        if f.get("key") != key || !payu::hash::matches(f.get("hash"), &want) {
            return json(
                StatusCode::OK,
                r#"{"status":0,"msg":"Invalid Hash."}"#.into(),
            );
        }
    }
    let Some(rec) = s.record(&txnid) else {
        return json(
            StatusCode::OK,
            serde_json::json!({"status": 0, "msg": "0 out of 1 Transactions Fetched Successfully",
                "transaction_details": {txnid.as_str(): {"mihpayid": "Not Found", "status": "Not Found"}}})
            .to_string(),
        );
    };
    let ok = s.settles_ok(&txnid);
    let amt = Paise(rec.amount).to_rupees_string();
    let detail = if ok {
        serde_json::json!({"mihpayid": rec.gateway_id, "txnid": txnid, "mode": "UPI", "status": "success",
            "unmappedstatus": "captured", "amt": amt, "transaction_amount": amt,
            "bank_ref_num": format!("{:012}", rrn(&rec.gateway_id)), "error_code": "E000", "error_Message": "No Error"})
    } else {
        serde_json::json!({"mihpayid": rec.gateway_id, "txnid": txnid, "mode": "UPI", "status": "failure",
            "unmappedstatus": "failed", "amt": amt, "transaction_amount": amt, "bank_ref_num": "",
            "error_code": "E308", "error_Message": "Insufficient funds in customer account"})
    };
    json(
        StatusCode::OK,
        serde_json::json!({"status": 1, "msg": "1 out of 1 Transactions Fetched Successfully",
            "transaction_details": {txnid.as_str(): detail}})
        .to_string(),
    )
}

// === callbacks ===

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    _event_id: &str,
    salt: &str,
) -> Vec<u8> {
    let echo = |k: &str| {
        a.echo
            .iter()
            .find(|(n, _)| n == k)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let (status, unmapped, bank_ref, error, message) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => (
            "pending",
            "pending",
            String::new(),
            "",
            "Transaction Pending",
        ),
        (Phase::Final | Phase::FailedFirst, true) => (
            "success",
            "captured",
            format!("{:012}", rrn(&a.gateway_payment_id)),
            "E000",
            "No Error",
        ),
        (Phase::Final | Phase::FailedFirst, false) => (
            "failure",
            "failed",
            String::new(),
            "E308",
            "Insufficient funds in customer account",
        ),
    };
    let mode = a
        .echo
        .iter()
        .find(|(n, _)| n == "mode")
        .map_or("UPI", |(_, v)| v.as_str());
    let mut pairs: Vec<(String, String)> = vec![
        ("mihpayid".into(), a.gateway_payment_id.clone()),
        ("mode".into(), mode.into()),
        ("status".into(), status.into()),
        ("unmappedstatus".into(), unmapped.into()),
        ("txnid".into(), a.payment_id.clone()),
        ("addedon".into(), ist(at)),
        ("bank_ref_num".into(), bank_ref),
        (
            "bankcode".into(),
            if mode == "UPI" { "INTENT" } else { mode }.into(),
        ),
        ("error".into(), error.into()),
        ("error_Message".into(), message.into()),
    ];
    for k in ECHO {
        pairs.push((k.to_string(), echo(k)));
    }
    if pairs.iter().all(|(k, v)| k != "amount" || v.is_empty()) {
        pairs.retain(|(k, _)| k != "amount");
        pairs.push(("amount".into(), Paise(a.amount).to_rupees_string()));
    }
    payu::sign_callback(salt, &pairs).into_bytes()
}

fn callback_headers(
    _salt: &str,
    _cb: &Callback,
    _attempt: u32,
    _now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    // The hash travels in the body.
    Vec::new()
}
