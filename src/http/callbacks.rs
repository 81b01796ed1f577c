//! `POST /v1/callbacks/{gateway}`: read the raw body (bounded by `[callbacks]
//! max_body_bytes`), hand it to [`Callbacks::ingest`](crate::callbacks::Callbacks::ingest),
//! answer the ACK. Answers:
//!
//! | case | status | body / code |
//! |---|---|---|
//! | unknown gateway | 404 | `not_found` |
//! | missing/bad signature, stale timestamp | 401 | `invalid_signature` |
//! | body unreadable after verification | 400 | `malformed` |
//! | body over the limit | 413 | `payload_too_large` (counted `too_large`) |
//! | `Content-Encoding` other than identity | 415 | `unsupported_media_type` |
//! | verified, over the gateway's `rate_limit_per_second` | 429 | `rate_limited` |
//! | a costly check (Juspay EC JWT without Basic) with no permit within 250 ms | 429 | `rate_limited` (counted `verify_busy`) |
//! | ledger cannot commit | 503 | `unavailable` |
//! | otherwise | 200 | `{"result": accepted/duplicate/unchanged/conflict/orphan/ignored, "event_id"}` |
//! | otherwise, for a gateway that documents its own ACK body (Adyen) | 200 | that body (`[accepted]`) |

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;

use super::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::api::read_body;
use super::error::ApiError;
use super::limits::CallbackGate;
use crate::state::AppState;

pub async fn ingest(
    State(state): State<AppState>,
    Extension(gate): Extension<Arc<CallbackGate>>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let flow = &state.callbacks;
    let snap = state.config.load();
    let Some((_, gw)) = snap.gateway(&gateway) else {
        return Err(ApiError::NotFound("gateway".into()));
    };
    let name = Arc::clone(&gw.name);
    let limit = snap.callbacks.max_body_bytes;
    let rate = snap.callbacks.rate_limit_per_second;
    let deadline = snap.server.request_timeout;
    let ack_body = gw.connector.callback_ack();
    let costly = gw.connector.verify_is_costly();
    drop(snap);
    if let Err(e) = super::api::require_identity(&headers) {
        flow.count(&name, "malformed");
        return Err(e);
    }
    let bytes = read_body(body, limit).await.inspect_err(|e| {
        let result = match e {
            ApiError::PayloadTooLarge { .. } => "too_large",
            _ => "malformed",
        };
        flow.count(&name, result);
    })?;
    // Authentic first: a forged callback costs one signature check and a counter,
    // never a token of the gateway's rate, a ledger write or an unthrottled line.
    let checked = if costly {
        // A private-key operation before the sender is known: off the async
        // workers, a bounded number at a time; none free soon enough → 429.
        let Some(permit) = gate.costly_permit().await else {
            flow.count(&name, "verify_busy");
            return Err(ApiError::RateLimited {
                retry_after_secs: 1,
            });
        };
        let (f, n, h, b) = (
            flow.clone(),
            Arc::clone(&name),
            headers.clone(),
            bytes.clone(),
        );
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f.verify(&n, &h, &b)
        });
        job.await
            .unwrap_or(Err(crate::callbacks::CallbackError::InvalidSignature))
    } else {
        flow.verify(&name, &headers, &bytes)
    };
    let proof = match checked {
        Ok(p) => p,
        Err(e) => {
            flow.count(&name, "invalid_signature");
            if let Some(suppressed) = gate.refused_log(&name).allow() {
                // Never the body or the caller's ids: they are the attacker's to choose.
                tracing::warn!(gateway = %name, suppressed, bytes = bytes.len(), "callback refused: invalid signature (one line per 10 s per gateway; see callbacks_total)");
            }
            return Err(e.into());
        }
    };
    if !gate.take(&name, rate) {
        flow.count(&name, "rate_limited");
        return Err(ApiError::RateLimited {
            retry_after_secs: 1,
        });
    }
    let ack = match tokio::time::timeout(
        deadline,
        flow.ingest_verified(&name, &headers, &bytes, &proof),
    )
    .await
    {
        Ok(r) => r?,
        Err(_) => {
            flow.count(&name, "unavailable");
            return Err(ApiError::Unavailable(
                "the ledger did not commit in time; redeliver later".into(),
            ));
        }
    };
    if let Some(b) = ack_body {
        return Ok(b.into_response());
    }
    Ok(Json(match ack.event_id {
        Some(id) => json!({ "result": ack.result, "event_id": id }),
        None => json!({ "result": ack.result }),
    })
    .into_response())
}
