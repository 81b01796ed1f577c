//! Public API handlers: `/v1/payments`, health and metrics.

use axum::body::{Body, to_bytes};
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Request, State};

use super::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::error::{ApiError, ErrorCode};
use super::limits::Shed;
use super::request::parse_payment;
use crate::ledger::StoredResponse;
use crate::model::{valid_idempotency_key, valid_order_id};
use crate::payments::{Answer, Attempted, Render, created_body, failure_fields};
use crate::state::AppState;

/// `POST /v1/payments`.
pub async fn create_payment(
    State(state): State<AppState>,
    Extension(shed): Extension<Arc<Shed>>,
    req: Request,
) -> Result<Response, ApiError> {
    // Before the body is read, so before any intent can be written.
    let _slot = shed.admit()?;
    let limit = state.config.load().server.max_body_bytes;
    let (parts, body) = req.into_parts();
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| valid_idempotency_key(k))
        .map(str::to_string);
    require_json(&parts.headers)?;
    require_identity(&parts.headers)?;
    let bytes = read_body(body, limit).await?;
    let Some(key) = key else {
        return Err(ApiError::IdempotencyKeyMissing);
    };
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidRequest {
        message: format!("body is not valid JSON: {e}"),
        field: None,
    })?;
    let payment = parse_payment(&json)?;
    let max = state.config.load().server.max_amount_paise;
    if payment.amount.0 > max {
        return Err(ApiError::invalid(
            format!("amount must be at most {max} paise ([server] max_amount_paise)"),
            "amount",
        ));
    }
    // Detached from the connection: a client that disconnects (or a server that
    // stops accepting) must not drop the attempt between the intent row and its
    // completion, which would leave the idempotency row "in progress" for good.
    let payments = state.payments.clone();
    let run =
        tokio::spawn(async move { payments.initiate(&key, &json, payment, &JsonAnswer).await });
    let answer = match run.await {
        Ok(a) => a?,
        Err(e) => {
            tracing::error!(error = %e, "payment initiation task failed");
            return Err(ApiError::Internal);
        }
    };
    Ok(answer_response(answer))
}

/// Renders a payment's answer: 201 with the created payment, or the error's status
/// with its error object and the payment's fields beside it. Stored for replay.
struct JsonAnswer;

impl Render for JsonAnswer {
    fn render(&self, a: &Attempted) -> StoredResponse {
        let (status, body) = match &a.error {
            None => (StatusCode::CREATED, created_body(a)),
            Some(e) => {
                let e = ApiError::from(e.clone());
                let mut body = e.body();
                failure_fields(a, &mut body);
                (e.status(), body)
            }
        };
        StoredResponse {
            http_status: status.as_u16(),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        }
    }
}

fn answer_response(a: Answer) -> Response {
    let status =
        StatusCode::from_u16(a.response.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        a.response.body,
    )
        .into_response();
    if a.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    // A fresh answer that is not a created payment counts as its error code.
    if let Some(e) = a.error {
        resp.extensions_mut()
            .insert(ErrorCode(ApiError::from(e).code()));
    }
    resp
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// A body in any `Content-Encoding` but `identity` is a 415: switchyard reads raw
/// JSON only (and a signature is over the bytes as sent), and a compressed body
/// must not be mistaken for malformed JSON.
pub fn require_identity(headers: &HeaderMap) -> Result<(), ApiError> {
    let encoded = headers.get_all(header::CONTENT_ENCODING).iter().any(|v| {
        !v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
    });
    if encoded {
        Err(ApiError::UnsupportedEncoding)
    } else {
        Ok(())
    }
}

/// Reads at most `limit` bytes; more is a 413.
pub async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    to_bytes(body, limit).await.map_err(|e| {
        // The limit error may sit anywhere in the chain (axum wraps it).
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut too_large = false;
        while let Some(c) = cause {
            too_large |= c.is::<http_body_util::LengthLimitError>();
            cause = c.source();
        }
        if too_large {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::InvalidRequest {
                message: "request body could not be read".into(),
                field: None,
            }
        }
    })
}

/// `GET /v1/payments/{payment_id}`.
pub async fn get_payment(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::NotFound("payment".into()));
    }
    match state.ledger.payment(&id).await {
        Ok(Some(p)) => Ok(axum::Json(p).into_response()),
        Ok(None) => Err(ApiError::NotFound("payment".into())),
        Err(e) => {
            tracing::error!(error = %e, "ledger read failed");
            Err(ApiError::Unavailable("ledger is not readable".into()))
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    order_id: Option<String>,
    utr: Option<String>,
    rrn: Option<String>,
    gateway_payment_id: Option<String>,
}

/// A reference value as the lookups accept it: 1-64 visible ASCII characters.
fn valid_reference(v: &str) -> bool {
    (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic())
}

/// `GET /v1/payments?utr=…|rrn=…|gateway_payment_id=…`: finance's lookups by the
/// bank's or the gateway's reference (indexed).
async fn by_reference(
    state: &AppState,
    name: &'static str,
    reference: crate::ledger::Reference,
    value: String,
) -> Result<Response, ApiError> {
    if !valid_reference(&value) {
        return Err(ApiError::invalid(
            "must be 1-64 visible ASCII characters",
            name,
        ));
    }
    match state.ledger.payments_by_reference(reference, &value).await {
        Ok(list) => {
            Ok(axum::Json(serde_json::json!({ name: value, "payments": list })).into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "ledger read failed");
            Err(ApiError::Unavailable("ledger is not readable".into()))
        }
    }
}

/// `GET /v1/payments?order_id=…` (or one of `utr`, `rrn`, `gateway_payment_id`).
pub async fn list_payments(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    use crate::ledger::Reference;
    let refs = [
        ("utr", Reference::Utr, q.utr),
        ("rrn", Reference::Rrn, q.rrn),
        (
            "gateway_payment_id",
            Reference::GatewayPaymentId,
            q.gateway_payment_id,
        ),
    ];
    let given = refs.iter().filter(|r| r.2.is_some()).count() + usize::from(q.order_id.is_some());
    if given > 1 {
        return Err(ApiError::invalid(
            "give one of order_id, utr, rrn, gateway_payment_id",
            "order_id",
        ));
    }
    if let Some((name, reference, Some(value))) = refs.into_iter().find(|r| r.2.is_some()) {
        return by_reference(&state, name, reference, value).await;
    }
    let Some(order_id) = q.order_id else {
        return Err(ApiError::invalid(
            "order_id query parameter is required (or utr, rrn, gateway_payment_id)",
            "order_id",
        ));
    };
    if !valid_order_id(&order_id) {
        return Err(ApiError::invalid(
            "order_id must be 1-40 characters of A-Z a-z 0-9 _ -",
            "order_id",
        ));
    }
    match state.ledger.payments_by_order(&order_id).await {
        Ok(list) => Ok(
            axum::Json(serde_json::json!({ "order_id": order_id, "payments": list }))
                .into_response(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "ledger read failed");
            Err(ApiError::Unavailable("ledger is not readable".into()))
        }
    }
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the ledger is writable and a config is loaded.
/// False from the first failed write on (the writer's record, until a probe write
/// commits), and when the heartbeat write does not commit within 2 s (a frozen disk).
pub async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    // The heartbeat runs even while writes are failing: after a storage failure it
    // is the probe (64 KiB) whose commit ends the failure.
    let ping = tokio::time::timeout(READY_WITHIN, state.ledger.ping()).await;
    if let Some(why) = state.ledger.write_failure() {
        return Err(ApiError::Unavailable(format!(
            "ledger writes failing: {why}"
        )));
    }
    match ping {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(ApiError::Unavailable(format!("ledger: {e}"))),
        Err(_) => {
            return Err(ApiError::Unavailable(format!(
                "ledger: no commit within {READY_WITHIN:?}"
            )));
        }
    }
    let generation = state.config.load().generation;
    Ok(
        axum::Json(serde_json::json!({ "ready": true, "config_generation": generation }))
            .into_response(),
    )
}

/// How long `/readyz` waits for its heartbeat write.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let stats = state.ledger.stats();
    state.metrics.ledger_commits.set(stats.commits as i64);
    state.metrics.ledger_writes.set(stats.writes as i64);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Any other path.
pub async fn fallback() -> ApiError {
    ApiError::NotFound("route".into())
}
