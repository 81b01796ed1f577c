//! Admin routes of the pipeline: `GET /admin/dead-letters?sink=&after=&limit=`, the
//! events a sink gave up on, in outbox order, a page at a time (`next_after` is the
//! `after` of the next page, absent on the last).

use axum::extract::State;

use crate::http::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::ledger::delivery;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/dead-letters", get(list))
}

#[derive(Debug, Deserialize)]
struct Params {
    sink: Option<String>,
    after: Option<i64>,
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
    let after = p.after.unwrap_or(0);
    let sink = p.sink;
    let page = state
        .ledger
        .query(move |c| delivery::dead_letters(c, sink.as_deref(), after, limit))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing dead letters failed");
            ApiError::Internal
        })?;
    let next_after = (page.len() == limit)
        .then(|| page.last().map(|d| d.seq))
        .flatten();
    Ok(Json(serde_json::json!({
        "dead_letters": page,
        "next_after": next_after,
    })))
}
