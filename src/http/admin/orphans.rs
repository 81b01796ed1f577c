//! `GET /admin/orphans?limit=`: verified callbacks no payment ever claimed, oldest
//! first, with whether each was already forwarded to reconciliation (after
//! `callbacks.orphan_grace`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::ledger::orphans;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/orphans", get(list))
}

#[derive(Debug, Deserialize)]
struct Params {
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "limit must be between 1 and 1000",
            "limit",
        ));
    }
    let page = state
        .ledger
        .query(move |c| orphans::list(c, limit))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing orphans failed");
            ApiError::Internal
        })?;
    Ok(Json(serde_json::json!({ "orphans": page })))
}
