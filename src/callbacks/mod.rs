//! `POST /v1/callbacks/{gateway}`: verify → parse → normalize → precedence →
//! durable commit → ACK (DESIGN.md section 6).
//!
//! The raw body is read once (bounded by `[callbacks] max_body_bytes`) and the
//! connector verifies its signature over exactly those bytes. The event, the
//! payment's state change and the outbox row are committed in one ledger write job
//! (fsynced, group commit) **before** the 200 goes out; if the ledger cannot
//! commit, the answer is 503 so the gateway redelivers. Answers:
//!
//! | case | status | body / code |
//! |---|---|---|
//! | unknown gateway | 404 | `not_found` |
//! | missing/bad signature, stale timestamp | 401 | `invalid_signature` |
//! | body unreadable after verification | 400 | `malformed` |
//! | body over the limit | 413 | `payload_too_large` |
//! | ledger cannot commit | 503 | `unavailable` |
//! | otherwise | 200 | `{"result": accepted/duplicate/unchanged/conflict/orphan/ignored, "event_id"}` |

pub mod normalize;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::json;
use time::OffsetDateTime;

use crate::connectors::{ParseError, VerifyOptions};
use crate::health::Observation;
use crate::http::{ApiError, read_body};
use crate::ledger::callbacks::{Applied, ApplyResult, apply};
use crate::state::AppState;

/// The callback route, merged into the public router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/callbacks/{gateway}", post(ingest))
}

async fn ingest(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let snap = state.config.load_full();
    let Some((_, gw)) = snap.gateway(&gateway) else {
        return Err(ApiError::NotFound(format!("gateway {gateway:?}")));
    };
    let name = Arc::clone(&gw.name);
    let count = |result: &str| {
        state
            .metrics
            .callbacks
            .with_label_values(&[&name, result])
            .inc()
    };
    let bytes = read_body(body, snap.callbacks.max_body_bytes)
        .await
        .inspect_err(|_| count("malformed"))?;
    let now = OffsetDateTime::now_utc();
    let opts = VerifyOptions {
        tolerance: snap.callbacks.replay_tolerance,
        now,
    };
    if let Err(e) = gw.connector.verify_callback(&headers, &bytes, opts) {
        count("invalid_signature");
        // Never the body: it carries VPAs and references.
        tracing::warn!(gateway = %name, error = %e, bytes = bytes.len(), "callback refused");
        return Err(ApiError::InvalidSignature);
    }
    let cd =
        gw.connector
            .parse_callback(&headers, &bytes)
            .map_err(|ParseError::Malformed(m)| {
                count("malformed");
                tracing::warn!(gateway = %name, error = %m, "verified callback is malformed");
                ApiError::Malformed(m)
            })?;
    let Some(inc) = normalize::from_callback(&name, &cd, now) else {
        count("ignored");
        return Ok(Json(json!({ "result": "ignored" })));
    };
    let event_id = inc.event_id.clone();
    let lsr = snap.callbacks.late_success_refund;
    let write = state.ledger.write(move |conn| apply(conn, &inc, lsr));
    let applied = state
        .metrics
        .time_ledger_write("callback", write)
        .await
        .map_err(|e| {
            count("unavailable");
            tracing::error!(gateway = %name, error = %e, "callback not committed; answering 503");
            ApiError::Unavailable("the ledger cannot commit; redeliver later".into())
        })?;
    report(&state, &name, &applied);
    count(applied.result.as_str());
    tracing::debug!(gateway = %name, event_id = %event_id, result = applied.result.as_str(), "callback");
    Ok(Json(
        json!({ "result": applied.result.as_str(), "event_id": event_id }),
    ))
}

/// After a commit: wake the forwarder when an outbox row was queued, and feed final
/// outcomes to the health task.
pub(crate) fn report(state: &AppState, gateway: &Arc<str>, applied: &Applied) {
    if matches!(
        applied.result,
        ApplyResult::Accepted | ApplyResult::Conflict
    ) {
        state.outbox_notify.notify_one();
    }
    // The payment's gateway (the one that processed it) gets the outcome.
    if let (Some(succeeded), Some(method), Some(e)) =
        (applied.final_outcome(), applied.method, &applied.event)
    {
        let gateway = if *e.gateway == **gateway {
            Arc::clone(gateway)
        } else {
            Arc::from(e.gateway.as_str())
        };
        state.health.send(Observation::Final {
            gateway,
            method,
            succeeded,
        });
    }
}
