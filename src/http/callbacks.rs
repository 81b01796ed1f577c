//! `POST /v1/callbacks/{gateway}`: read the raw body (bounded by `[callbacks]
//! max_body_bytes`), hand it to [`Callbacks::ingest`](crate::callbacks::Callbacks::ingest),
//! answer the ACK. Answers:
//!
//! | case | status | body / code |
//! |---|---|---|
//! | unknown gateway | 404 | `not_found` |
//! | missing/bad signature, stale timestamp | 401 | `invalid_signature` |
//! | body unreadable after verification | 400 | `malformed` |
//! | body over the limit | 413 | `payload_too_large` |
//! | ledger cannot commit | 503 | `unavailable` |
//! | otherwise | 200 | `{"result": accepted/duplicate/unchanged/conflict/orphan/ignored, "event_id"}` |
//! | otherwise, for a gateway that documents its own ACK body (Adyen) | 200 | that body (`[accepted]`) |

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::read_body;
use super::error::ApiError;
use crate::state::AppState;

pub async fn ingest(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let flow = &state.callbacks;
    let snap = state.config.load();
    let Some((_, gw)) = snap.gateway(&gateway) else {
        return Err(ApiError::NotFound(format!("gateway {gateway:?}")));
    };
    let name = std::sync::Arc::clone(&gw.name);
    let limit = snap.callbacks.max_body_bytes;
    let ack_body = gw.connector.callback_ack();
    drop(snap);
    let bytes = read_body(body, limit).await.inspect_err(|e| {
        let result = match e {
            ApiError::PayloadTooLarge { .. } => "too_large",
            _ => "malformed",
        };
        flow.count(&name, result);
    })?;
    let ack = flow.ingest(&name, &headers, &bytes).await?;
    if let Some(b) = ack_body {
        return Ok(b.into_response());
    }
    Ok(Json(match ack.event_id {
        Some(id) => json!({ "result": ack.result, "event_id": id }),
        None => json!({ "result": ack.result }),
    })
    .into_response())
}
