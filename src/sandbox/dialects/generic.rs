//! The generic dialect as the sandbox answers it: `POST /v1/payments`, `GET /v1/payments/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{S, hold, json, rrn, rupees, upi_uri};
use crate::sandbox::callbacks::Accepted;
use crate::sandbox::state::{Shared, Verdict};

use serde_json::Value;
use time::OffsetDateTime;

use crate::connectors::generic;
use crate::sandbox::callbacks::format::{Callback, Phase, opt, rrn as cb_rrn, s};
use crate::sandbox::dialects::Dialect;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

#[derive(Deserialize)]
struct GenericReq<'a> {
    merchant_txn_id: &'a str,
    order_id: Option<&'a str>,
    amount: i64,
    method: &'a str,
}

async fn generic_initiate(State(s): S, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<GenericReq<'_>>(&body) else {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":"invalid_request","reason":"other","message":"malformed body"}}"#
                .into(),
        );
    };
    let verdict = s.decide().await;
    if s.truth.on() {
        return truth_initiate(&s, &req, verdict).await;
    }
    match verdict {
        Verdict::Created => {
            let id = format!("gen_sbx{}a{}", s.next_seq(), req.amount);
            if s.callbacks.active() {
                let ok = s.would_settle_ok(req.merchant_txn_id);
                s.callbacks.accepted(Accepted::new(
                    req.merchant_txn_id,
                    &id,
                    req.order_id,
                    req.amount,
                    ok,
                ));
            }
            let (status, action) = match req.method {
                "upi_collect" => ("pending", r#"{"type":"await_customer"}"#.to_string()),
                "upi_qr" => (
                    "initiated",
                    format!(
                        r#"{{"type":"upi_qr","qr_payload":"{}"}}"#,
                        upi_uri(&s, &id, Some(&rupees(req.amount)))
                    ),
                ),
                "card" | "netbanking" => (
                    "initiated",
                    format!(r#"{{"type":"redirect","url":"http://{}/pay/{id}"}}"#, s.addr),
                ),
                _ => (
                    "initiated",
                    format!(
                        r#"{{"type":"upi_intent","uri":"{}"}}"#,
                        upi_uri(&s, &id, Some(&rupees(req.amount)))
                    ),
                ),
            };
            json(
                StatusCode::CREATED,
                format!(
                    r#"{{"id":"{id}","merchant_txn_id":{},"status":"{status}","next_action":{action}}}"#,
                    serde_json::Value::from(req.merchant_txn_id)
                ),
            )
        }
        Verdict::Declined => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":{"code":"insufficient_funds","reason":"insufficient_funds","npci_code":"Z9","message":"sandbox decline"}}"#.into(),
        ),
        Verdict::Error(code) => json(
            code,
            r#"{"error":{"code":"server_error","message":"sandbox error"}}"#.into(),
        ),
        Verdict::Timeout => hold().await,
    }
}

/// Ground-truth mode: every request is recorded; a "timeout" is a payment created
/// whose answer is lost (the dangerous kind); callbacks follow the drawn fate.
async fn truth_initiate(s: &Shared, req: &GenericReq<'_>, verdict: Verdict) -> Response {
    // `merchant_txn_id` is the dialect's idempotency scope: a repeat of a payment
    // already created answers that payment (its answer may be lost again or the
    // gateway may be failing), and never creates a second one.
    if let Some(id) = s.truth.replay(req.merchant_txn_id) {
        return match verdict {
            Verdict::Timeout => hold().await,
            Verdict::Error(code) => json(
                code,
                r#"{"error":{"code":"server_error","message":"sandbox error"}}"#.into(),
            ),
            Verdict::Created | Verdict::Declined => created_answer(s, req, &id),
        };
    }
    let created = matches!(verdict, Verdict::Created | Verdict::Timeout);
    let id = created.then(|| format!("gen_sbx{}a{}", s.next_seq(), req.amount));
    let paid = s.would_settle_ok(req.merchant_txn_id);
    let fate = s.truth.record(
        &s.name,
        req.merchant_txn_id,
        req.order_id,
        id.as_deref(),
        req.amount,
        created,
        paid,
        verdict == Verdict::Timeout,
    );
    if let Some(id) = &id
        && s.callbacks.active()
    {
        let mut a = Accepted::new(
            req.merchant_txn_id,
            id,
            req.order_id,
            fate.paid_amount,
            paid,
        );
        a.tpv_failed = fate.tpv_failed;
        if !s.callbacks.accepted_with(a, Some(fate)) {
            s.truth.mark_dropped(req.merchant_txn_id);
        }
        // The customer pays a second time, a second later: its own payment, its own
        // success callback (always sent: the point is that switchyard hears of it).
        if fate.duplicate {
            let second = format!("gen_sbx{}a{}", s.next_seq(), req.amount);
            s.truth.record_duplicate(req.merchant_txn_id, &second);
            let d = Accepted::new(req.merchant_txn_id, &second, req.order_id, req.amount, true);
            s.callbacks
                .always_after(d, fate.extra_delay + std::time::Duration::from_secs(1));
        }
    }
    match (verdict, id) {
        (Verdict::Created, Some(id)) => created_answer(s, req, &id),
        (Verdict::Error(code), _) => json(
            code,
            r#"{"error":{"code":"server_error","message":"sandbox error"}}"#.into(),
        ),
        (Verdict::Timeout, _) => hold().await,
        _ => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":{"code":"insufficient_funds","reason":"insufficient_funds","npci_code":"Z9","message":"sandbox decline"}}"#.into(),
        ),
    }
}

/// The `201` for a created payment (a first answer or a replay of it).
fn created_answer(s: &Shared, req: &GenericReq<'_>, id: &str) -> Response {
    json(
        StatusCode::CREATED,
        format!(
            r#"{{"id":"{id}","merchant_txn_id":{},"status":"initiated","next_action":{{"type":"upi_intent","uri":"{}"}}}}"#,
            serde_json::Value::from(req.merchant_txn_id),
            upi_uri(s, id, Some(&rupees(req.amount)))
        ),
    )
}

/// Ground-truth mode: the record answers; a payment never seen is 404.
fn truth_status(s: &Shared, id: &str) -> Response {
    let Some(t) = s.truth.get(id).filter(|t| t.gateway_payment_id.is_some()) else {
        return json(
            StatusCode::NOT_FOUND,
            r#"{"error":{"code":"not_found","message":"no such payment"}}"#.into(),
        );
    };
    let gid = t.gateway_payment_id.unwrap_or_default();
    let body = if t.status == "succeeded" {
        format!(
            r#"{{"id":"{gid}","merchant_txn_id":{},"status":"succeeded","amount":{},"utr":"{:012}","rrn":"{:012}","tpv_failed":{}}}"#,
            serde_json::Value::from(id),
            t.amount_paid.unwrap_or(t.amount_requested),
            rrn(&gid),
            rrn(&gid),
            t.tpv_failed
        )
    } else {
        format!(
            r#"{{"id":"{gid}","merchant_txn_id":{},"status":"failed","reason":"insufficient_funds","npci_code":"Z9"}}"#,
            serde_json::Value::from(id)
        )
    };
    json(StatusCode::OK, body)
}

pub(super) async fn generic_status(State(s): S, Path(id): Path<String>) -> Response {
    if s.truth.on() {
        return truth_status(&s, &id);
    }
    let ok = s.settles_ok(&id);
    let body = if ok {
        format!(
            r#"{{"id":"gen_{id}","merchant_txn_id":{},"status":"succeeded","utr":"{:012}","rrn":"{:012}"}}"#,
            serde_json::Value::from(id.as_str()),
            rrn(&id),
            rrn(&id)
        )
    } else {
        format!(
            r#"{{"id":"gen_{id}","merchant_txn_id":{},"status":"failed","reason":"insufficient_funds","npci_code":"Z9"}}"#,
            serde_json::Value::from(id.as_str())
        )
    };
    json(StatusCode::OK, body)
}

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/payments", post(generic_initiate))
        .route("/v1/payments/{id}", get(generic_status))
}

// === callbacks ===

pub(super) const DIALECT: Dialect = Dialect {
    routes,
    callback_body,
    content_type: "application/json",
    callback_headers,
    callback_secret: super::webhook_secret,
};

fn callback_body(
    a: &Accepted,
    phase: Phase,
    at: OffsetDateTime,
    event_id: &str,
    _secret: &str,
) -> Vec<u8> {
    let tpv = if a.tpv_failed && a.succeeded && phase == Phase::Final {
        r#","tpv_failed":true"#
    } else {
        ""
    };
    let (status, reason, npci, utr) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => ("pending", Value::Null, Value::Null, Value::Null),
        (Phase::Final | Phase::FailedFirst, true) => {
            ("succeeded", Value::Null, Value::Null, s(&cb_rrn(a)))
        }
        (Phase::Final | Phase::FailedFirst, false) => {
            ("failed", s("insufficient_funds"), s("Z9"), Value::Null)
        }
    };
    format!(
        r#"{{"event_id":"{event_id}","type":"payment","payment":{{"id":{},"merchant_txn_id":{},"order_id":{},"status":"{status}","reason":{reason},"npci_code":{npci},"amount":{},"currency":"INR","utr":{utr},"rrn":{utr},"payer_vpa":null,"occurred_at":"{}"{tpv}}}}}"#,
        s(&a.gateway_payment_id),
        s(&a.payment_id),
        opt(a.order_id.as_deref()),
        a.amount,
        crate::connectors::time_fmt::format_utc(at),
    )
    .into_bytes()
}

fn callback_headers(
    secret: &str,
    cb: &Callback,
    _attempt: u32,
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    let ts = now.unix_timestamp();
    vec![
        (generic::TIMESTAMP_HEADER, ts.to_string()),
        (
            generic::SIGNATURE_HEADER,
            generic::sign_callback(secret, ts, &cb.body),
        ),
    ]
}
