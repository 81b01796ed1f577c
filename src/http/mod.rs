//! HTTP: the public router, request ids, error mapping.

pub mod admin;
pub mod admin_health;
mod admin_ops;
mod admin_pipeline;
mod api;
mod error;
mod request;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use api::read_body;
pub use error::ApiError;
pub use request::parse_payment;

use crate::state::AppState;

/// The public API router. Request ids: an incoming `X-Request-Id` is kept, otherwise
/// one is made; either way it is echoed back and attached to the request's log span.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/v1/payments", post(api::create_payment).get(api::list_payments))
        .route("/v1/payments/{payment_id}", get(api::get_payment))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .merge(crate::callbacks::routes())
        .fallback(api::fallback)
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}
