//! Admin routes for gateway health: read the state (`GET /admin/gateways`,
//! `/admin/routes`, `/admin/incidents`) and act on it
//! (`POST /admin/gateways/{name}/{drain|restore|freeze|unfreeze|eject}` with
//! `{"reason": "...", "ttl": "30m"?}`). Every action is audited before the answer.

use axum::extract::State;

use crate::http::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::health::{Command, notify, task};
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/gateways", get(gateways))
        .route("/admin/routes", get(routes_now))
        .route("/admin/incidents", get(incidents))
        .route("/admin/gateways/{name}/{action}", post(act))
}

async fn gateways(State(state): State<AppState>) -> Json<Value> {
    Json(state.health_ctl.lock().gateways_view())
}

async fn routes_now(State(state): State<AppState>) -> Json<Value> {
    Json(state.health_ctl.lock().routes_view())
}

async fn incidents(State(state): State<AppState>) -> Json<Value> {
    Json(state.health_ctl.lock().incidents_view())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    reason: Option<String>,
    ttl: Option<String>,
}

fn invalid(message: impl Into<String>, field: &str) -> ApiError {
    ApiError::InvalidRequest {
        message: message.into(),
        field: Some(field.into()),
    }
}

async fn act(
    State(state): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let cmd = Command::parse(&action)
        .ok_or_else(|| ApiError::NotFound(format!("admin action \"{action}\"")))?;
    let b: ActBody = serde_json::from_slice(&body).map_err(|e| {
        invalid(
            format!("body must be {{\"reason\": ..., \"ttl\"?: ...}}: {e}"),
            "body",
        )
    })?;
    let reason = b
        .reason
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| invalid("a reason is required", "reason"))?;
    if reason.len() > 500 {
        return Err(invalid("reason is longer than 500 characters", "reason"));
    }
    let ttl = match b.ttl.as_deref() {
        None => None,
        Some(t) => match humantime::parse_duration(t) {
            Ok(d) if !d.is_zero() => Some(d),
            _ => {
                return Err(invalid(
                    format!("\"{t}\" is not a duration like \"30m\""),
                    "ttl",
                ));
            }
        },
    };
    let ctx = state.health_context();
    let (event, events) = {
        let now = state.health_ctl.now_ms();
        let mut c = state.health_ctl.lock();
        let event = c.command(now, &name, cmd, &reason, ttl, "admin")?;
        (event, task::publish(&ctx, &mut c))
    };
    if let Some(audit) = notify::emit(&ctx, events) {
        let _ = audit.await;
    }
    Ok(Json(json!({
        "gateway": name,
        "action": cmd.as_str(),
        "state": event.to,
        "event": event,
    })))
}
