//! The admin API: its own listener (default `127.0.0.1:9090`), every route behind a
//! bearer token compared in constant time. No token configured means every call is
//! refused (and `serve` does not open the admin listener at all).
//!
//! Each area adds its routes here with one `.merge(...)`: health controls
//! ([`health`]), reload and config ([`ops`]), dead letters ([`pipeline`]), the
//! status page ([`status`]), unlinked orphan callbacks ([`orphans`]).

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub mod health;
mod ops;
mod orphans;
mod pipeline;
pub mod status;

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
        .route("/status", axum::routing::get(status::page))
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
/// `GET /status` also takes HTTP Basic with the token as the password (what a
/// browser can send), and needs no token at all with `[admin] status_public`.
async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let status_page = req.uri().path() == "/status";
    let snap = state.config.load();
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| given_token(v, status_page));
    let ok = match (snap.admin_token.as_ref(), given) {
        (Some(expected), Some(given)) => ct_eq(given.as_bytes(), expected.expose().as_bytes()),
        _ => false,
    };
    let public = status_page && snap.status_public;
    drop(snap);
    if !ok && !public {
        let mut resp = ApiError::Unauthorized.into_response();
        if status_page {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Basic realm=\"switchyard status\", charset=\"UTF-8\"",
                ),
            );
        }
        return resp;
    }
    req.extensions_mut().insert(status::Authenticated(ok));
    next.run(req).await
}

/// The token of an `Authorization` value: `Bearer <token>`, or (for the status
/// page) `Basic base64(<any user>:<token>)`.
fn given_token(header: &str, basic_allowed: bool) -> Option<String> {
    if let Some(t) = header.strip_prefix("Bearer ") {
        return Some(t.to_string());
    }
    let b64 = header.strip_prefix("Basic ").filter(|_| basic_allowed)?;
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.split_once(':').map(|(_, pw)| pw.to_string())
}

#[cfg(test)]
mod tests {
    use super::given_token;

    #[test]
    fn bearer_everywhere_basic_only_for_the_status_page() {
        assert_eq!(given_token("Bearer t0k", false).as_deref(), Some("t0k"));
        // "ops:t0k"
        assert_eq!(
            given_token("Basic b3BzOnQwaw==", true).as_deref(),
            Some("t0k")
        );
        assert_eq!(given_token("Basic b3BzOnQwaw==", false), None);
        assert_eq!(given_token("Basic !!", true), None);
    }
}
