//! The EBANX dialect as the sandbox answers it: `POST /ws/direct` (UPI intent/QR),
//! `POST /ws/request` (hosted page) and `POST /ws/query`, checked the way EBANX
//! checks them (its error object, with HTTP 200: `BP-SA-1` without the integration
//! key, `BP-DR-*` for a missing field or an amount with more than two decimals), and
//! its notifications: form-urlencoded hashes, RSA-SHA1-signed with the sandbox's
//! test key (`src/sandbox/keys`). The hash carries our payment id and the amount,
//! so queries need no stored state (beyond the refunds of `sandbox/refunds/ebanx.rs`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json as j};
use time::OffsetDateTime;

use super::{Dialect, S, hold, json, rupees, upi_uri};
use crate::connectors::ebanx::{self as conn, webhook::SIGNATURE_TYPE_HEADER};
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::callbacks::format::{Callback, Phase};
use crate::sandbox::state::{Shared, Verdict};

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/x-www-form-urlencoded",
    callback_headers,
    // The configured certificate is what switchyard verifies with; the twin signs
    // with the matching test key.
    callback_secret: super::webhook_secret,
};

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/ws/direct", post(ebanx_direct))
        .route("/ws/request", post(ebanx_request))
        .route("/ws/query", post(ebanx_query))
}

fn callback_body(a: &Accepted, _: Phase, _: OffsetDateTime, _: &str, _: &str) -> Vec<u8> {
    notification(a).into_bytes()
}

fn callback_headers(
    _: &str,
    cb: &Callback,
    _: u32,
    _: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    vec![
        (SIGNATURE_TYPE_HEADER, "rsa,sha1".to_string()),
        (
            conn::SIGNATURE_HEADER,
            conn::sign_notification(PRIVATE_KEY, &cb.body).unwrap_or_default(),
        ),
    ]
}

/// The sandbox's EBANX signing key (test only; see `src/sandbox/keys/README.md`).
pub const PRIVATE_KEY: &str = include_str!("../keys/ebanx_sandbox_private.pem");

fn error(code: &str, message: &str) -> Response {
    json(
        StatusCode::OK,
        j!({"status": "ERROR", "status_code": code, "status_message": message}).to_string(),
    )
}

/// `sbx<seq>_<paise>_<hex of our payment id>`.
fn hash(seq: u64, paise: i64, mpc: &str) -> String {
    format!("sbx{seq}_{paise}_{}", hex::encode(mpc))
}

pub(crate) fn unhash(h: &str) -> Option<(i64, String)> {
    let mut it = h.strip_prefix("sbx")?.splitn(3, '_');
    let (_, paise, mpc) = (it.next()?, it.next()?, it.next()?);
    let mpc = String::from_utf8(hex::decode(mpc).ok()?).ok()?;
    Some((paise.parse().ok()?, mpc))
}

fn key_ok(v: &Value) -> bool {
    v.get("integration_key")
        .and_then(Value::as_str)
        .is_some_and(|k| !k.is_empty())
}

/// An amount as EBANX takes it: a decimal in major units, at most two decimals,
/// read from the raw text.
fn amount(body: &[u8], path: &[&str]) -> Option<i64> {
    crate::connectors::amount::rupees_at(crate::connectors::amount::text(body), path)
        .ok()
        .flatten()
        .map(|p| p.0)
}

fn callback(s: &Shared, h: &str, mpc: &str, paise: i64) {
    if s.callbacks.active() {
        let ok = s.would_settle_ok(h);
        s.callbacks.accepted(Accepted::new(mpc, h, None, paise, ok));
    }
}

pub(crate) fn payment_json(
    s: &Shared,
    h: &str,
    mpc: &str,
    paise: i64,
    status: &str,
    typ: &str,
) -> Value {
    let mut p = j!({"hash": h, "merchant_payment_code": mpc, "status": status,
        "amount_total": rupees(paise), "currency_code": "INR", "payment_type_code": typ,
        "status_date": "2026-01-01 00:00:00"});
    match typ {
        "upi-qrcode" => p["qr_code_value"] = upi_uri(s, h, Some(&rupees(paise))).into(),
        "upi-intent" => p["redirect_url"] = upi_uri(s, h, Some(&rupees(paise))).into(),
        _ => {}
    }
    p
}

async fn create(s: &Shared, p: &Value, paise: Option<i64>, page: bool) -> Response {
    let Some(mpc) = p
        .get("merchant_payment_code")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return error("BP-DR-9", "Field payment.merchant_payment_code is required");
    };
    if p.get("currency_code").and_then(Value::as_str).is_none() {
        return error("BP-DR-3", "Field payment.currency_code is required");
    }
    let Some(paise) = paise else {
        return error("BP-DR-5", "Field payment.amount_total is required");
    };
    let typ = p
        .get("payment_type_code")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !page && !matches!(typ, "upi-intent" | "upi-qrcode") {
        return error("BP-DR-14", "Payment type is not accepted for this country");
    }
    match s.decide().await {
        Verdict::Created => {
            let h = hash(s.next_seq(), paise, mpc);
            // For refunds by merchant_payment_code.
            let _ = s.remember(mpc, &h, paise);
            callback(s, &h, mpc, paise);
            let mut body =
                j!({"payment": payment_json(s, &h, mpc, paise, "PE", typ), "status": "SUCCESS"});
            if page {
                body["redirect_url"] = format!("http://{}/ebanx/checkout?hash={h}", s.addr).into();
            }
            json(StatusCode::OK, body.to_string())
        }
        Verdict::Declined => error("BP-DR-7", "Amount must be less than the limit"),
        Verdict::Error(code) => json(
            code,
            r#"{"status":"ERROR","status_code":"BP-SYS","status_message":"Internal error"}"#.into(),
        ),
        Verdict::Timeout => hold().await,
    }
}

async fn ebanx_direct(State(s): S, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error("BP-R-1", "Invalid JSON");
    };
    if !key_ok(&v) {
        return error("BP-SA-1", "Parameter integration_key not found");
    }
    if v.get("operation").and_then(Value::as_str) != Some("request") {
        return error("BP-DR-1", "Parameter operation must be request");
    }
    let Some(p) = v.get("payment").filter(|p| p.is_object()) else {
        return error("BP-DR-2", "Field payment is required");
    };
    create(&s, p, amount(&body, &["payment", "amount_total"]), false).await
}

async fn ebanx_request(State(s): S, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error("BP-R-1", "Invalid JSON");
    };
    if !key_ok(&v) {
        return error("BP-SA-1", "Parameter integration_key not found");
    }
    create(&s, &v, amount(&body, &["amount"]), true).await
}

async fn ebanx_query(State(s): S, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error("BP-R-1", "Invalid JSON");
    };
    if !key_ok(&v) {
        return error("BP-SA-1", "Parameter integration_key not found");
    }
    // The sandbox keeps no state: only a hash it issued can be found.
    let found = v
        .get("hash")
        .and_then(Value::as_str)
        .and_then(|h| unhash(h).map(|x| (h.to_string(), x)));
    let Some((h, (paise, mpc))) = found else {
        return error("BP-QUE-1", "Payment not found");
    };
    let status = if s.settles_ok(&h) { "CO" } else { "CA" };
    let mut p = payment_json(&s, &h, &mpc, paise, status, "upi");
    crate::sandbox::refunds::ebanx::with_refunds(&mut p, &s.refunds.of_payment(&h));
    json(
        StatusCode::OK,
        j!({"payment": p, "status": "SUCCESS"}).to_string(),
    )
}

/// The notification body for an accepted payment (it names the hash only).
fn notification(a: &Accepted) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("operation", "payment_status_change");
    f.append_pair("notification_type", "update");
    f.append_pair("hash_codes", &a.gateway_payment_id);
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip() {
        let h = hash(7, 29900, "pay_01J:x");
        assert_eq!(unhash(&h), Some((29900, "pay_01J:x".to_string())));
        assert_eq!(unhash("nope"), None);
    }
}
