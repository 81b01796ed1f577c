//! EBANX refunds as the sandbox answers them: `POST /ws/refund` (`operation:
//! request`; the refund only `RE`, requested, in the answer), the payment's
//! `refunds[]` in `/ws/query` (`sandbox/dialects/ebanx.rs`), and the refund
//! notification `operation=payment_status_change&notification_type=refund&hash_codes=…`
//! (identifiers only, RSA-SHA1-signed like the payment notifications).
//!
//! Checked as EBANX does, its error object with HTTP 200: the integration key
//! (`BP-SA-1`), a JSON body (`BP-R-1`), a confirmed payment (`BP-REF-7`, the code
//! EBANX's own WooCommerce plugin handles). The other codes are the twin's numbering
//! (EBANX publishes no refund code table): `BP-REF-1` an operation other than
//! `request`, `BP-REF-2` a missing `hash` / `merchant_payment_code`, `amount`,
//! `description` or `merchant_refund_code`, `BP-REF-3` a `merchant_refund_code` over
//! 20 characters, `BP-REF-4` an amount that is not a decimal above zero with at most
//! two places, `BP-REF-5` an unknown payment, `BP-REF-6` more than what is left. A
//! reused `merchant_refund_code` is a new refund (EBANX documents no uniqueness for
//! it: the worst case, which switchyard's query-before-resend must survive).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::dialects::{hold, json_resp, take};
use super::{SbxRefund, SbxRefundStatus, Taken};
use crate::connectors::amount;
use crate::connectors::ebanx::{MERCHANT_REFUND_CODE_MAX, REFUND_PATH};
use crate::model::Paise;
use crate::sandbox::dialects::ebanx::{payment_json, unhash};
use crate::sandbox::state::Shared;

type S = State<Arc<Shared>>;

pub(super) fn routes(r: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    r.route(REFUND_PATH, post(refund))
}

fn error(code: &str, message: &str) -> Response {
    json_resp(
        StatusCode::OK,
        json!({"status": "ERROR", "status_code": code, "status_message": message}),
    )
}

/// A refund as `refund` and `payment.refunds[]` carry it (`first`: the answer to the
/// request, where it is only requested).
fn refund_json(r: &SbxRefund, first: bool) -> Value {
    let status = match (first, r.status) {
        (true, _) => "RE",
        (false, SbxRefundStatus::Pending) => "PE",
        (false, SbxRefundStatus::Processed) => "CO",
        (false, SbxRefundStatus::Failed) => "CA",
    };
    let code = r.refund_id.split('~').next().unwrap_or_default();
    let at = "2026-01-01 00:00:00";
    json!({"id": r.gateway_refund_id, "merchant_refund_code": code, "status": status,
        "request_date": at, "pending_date": if status == "RE" { Value::Null } else { at.into() },
        "confirm_date": if status == "CO" { Value::from(at) } else { Value::Null },
        "cancel_date": if status == "CA" { Value::from(at) } else { Value::Null },
        "amount_ext": Paise(r.amount).to_rupees_string(), "description": "refund"})
}

/// Adds the payment's refunds to a `payment` object.
pub(crate) fn with_refunds(payment: &mut Value, refunds: &[SbxRefund]) {
    if let (Some(o), false) = (payment.as_object_mut(), refunds.is_empty()) {
        o.insert(
            "refunds".into(),
            Value::Array(refunds.iter().map(|r| refund_json(r, false)).collect()),
        );
    }
}

/// The refund notification: the payment's hash only.
pub(crate) fn notification(r: &SbxRefund) -> Vec<u8> {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("operation", "payment_status_change");
    f.append_pair("notification_type", "refund");
    f.append_pair("hash_codes", &r.gateway_payment_id);
    f.finish().into_bytes()
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

async fn refund(State(s): S, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error("BP-R-1", "Invalid JSON");
    };
    if field(&v, "integration_key").is_none() {
        return error("BP-SA-1", "Parameter integration_key not found");
    }
    if field(&v, "operation") != Some("request") {
        return error("BP-REF-1", "Parameter operation must be request");
    }
    let hash = field(&v, "hash").map(str::to_string).or_else(|| {
        field(&v, "merchant_payment_code")
            .and_then(|m| s.record(m))
            .map(|r| r.gateway_id)
    });
    let (Some(hash), Some(_), Some(code)) = (
        hash,
        field(&v, "description"),
        field(&v, "merchant_refund_code"),
    ) else {
        return error("BP-REF-2", "Missing required refund parameter");
    };
    if code.chars().count() > MERCHANT_REFUND_CODE_MAX {
        return error(
            "BP-REF-3",
            "Parameter merchant_refund_code can have 20 characters maximum",
        );
    }
    let paise = match amount::rupees_at(amount::text(&body), &["amount"]) {
        Ok(Some(p)) if p.get() > 0 => p.get(),
        Ok(None) => return error("BP-REF-2", "Missing required refund parameter"),
        _ => return error("BP-REF-4", "Invalid refund amount"),
    };
    let Some((captured, mpc)) = unhash(&hash) else {
        return error("BP-REF-5", "Payment not found");
    };
    if !s.would_settle_ok(&hash) {
        return error("BP-REF-7", "Payment is not confirmed");
    }
    // Not unique at EBANX: a reused code is another refund.
    let key = match s.refunds.get(code) {
        Some(_) => format!("{code}~{}", s.next_seq()),
        None => code.to_string(),
    };
    match take(&s, "", &key, &hash, Some(&mpc), paise, Some(captured)) {
        Taken::Refund(r) => {
            let mut p = payment_json(&s, &hash, &mpc, captured, "CO", "upi");
            with_refunds(&mut p, &s.refunds.of_payment(&hash));
            json_resp(
                StatusCode::OK,
                json!({"payment": p, "refund": refund_json(&r, true), "status": "SUCCESS"}),
            )
        }
        Taken::TooMuch => error(
            "BP-REF-6",
            "Refund amount is greater than the available amount",
        ),
        Taken::Hold => hold().await,
    }
}
