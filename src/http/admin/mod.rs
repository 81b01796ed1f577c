//! The admin API: its own listener (default `127.0.0.1:9090`), every route behind a
//! bearer token compared in constant time. No token configured means every call is
//! refused (and `serve` does not open the admin listener at all).
//!
//! Each area adds its routes here with one `.merge(...)`: health controls
//! ([`health`]), reload and config ([`ops`]), dead letters ([`pipeline`]), unlinked orphan
//! callbacks ([`orphans`]).

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub mod health;
mod ops;
mod orphans;
mod pipeline;

use super::error::{ApiError, count_errors};
use crate::connectors::sign::ct_eq;
use crate::state::AppState;

/// The admin router, token check included.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::routes())
        .merge(pipeline::routes())
        .merge(orphans::routes())
        .merge(health::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(middleware::map_response_with_state(
            state.metrics.clone(),
            count_errors,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("admin route".into())
}

/// 401 `unauthorized` unless `Authorization: Bearer <token>` matches the configured
/// token (read on every call, so a reload that changes the token's source applies).
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let snap = state.config.load();
    let Some(expected) = snap.admin_token.as_ref() else {
        return ApiError::Unauthorized.into_response();
    };
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !ct_eq(given.as_bytes(), expected.expose().as_bytes()) {
        return ApiError::Unauthorized.into_response();
    }
    drop(snap);
    next.run(req).await
}
