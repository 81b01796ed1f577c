//! HTTP, the edge: the public router (payments, refunds, callbacks, health, metrics), the
//! admin router ([`admin`], with the status page), the one route table
//! ([`routes`], checked against both routers and docs/openapi.yaml), request
//! parsing, extractors that reject in the JSON error shape ([`extract`]), and the
//! one error → HTTP mapping (`error`). Only this layer (and the binary's wiring above it) names HTTP server
//! types; the flows below return typed errors that `error` maps.

pub mod admin;
mod api;
mod callbacks;
mod error;
pub mod extract;
pub mod limits;
mod refunds;
mod request;
pub mod routes;
pub mod serve;
mod shaped;

use std::sync::Arc;

use axum::http::{HeaderName, Request};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use api::read_body;
pub use error::{ApiError, ErrorCode};
pub use refunds::parse_refund;
pub use request::parse_payment;

use crate::state::AppState;

/// The public API router. Request ids: a valid incoming `X-Request-Id` (1–64 of
/// `[A-Za-z0-9._:-]`) is kept, otherwise one is made; either way it is echoed back
/// and attached to the request's log span. Head limits and the 405 answer in the
/// error shape ([`limits`]); initiations are shed over `max_inflight_payments`.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let shed = Arc::new(limits::Shed::new(
        state.config.load().bootstrap.edge.max_inflight_payments,
    ));
    let metrics = state.metrics.clone();
    Router::new()
        .route("/v1/payments", post(api::create_payment).get(api::list_payments))
        .route("/v1/payments/{payment_id}", get(api::get_payment))
        .route(
            "/v1/payments/{payment_id}/refunds",
            post(refunds::create_refund).get(refunds::list_refunds),
        )
        .route(
            "/v1/payments/{payment_id}/refunds/{refund_id}",
            get(refunds::get_refund),
        )
        .route("/v1/callbacks/{gateway}", post(callbacks::ingest))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .fallback(api::fallback)
        .method_not_allowed_fallback(limits::method_not_allowed)
        .layer(Extension(shed))
        .layer(Extension(Arc::new(limits::CallbackGate::default())))
        .layer(middleware::map_response_with_state(
            state.metrics.clone(),
            error::count_errors,
        ))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(middleware::from_fn_with_state(metrics, limits::head_limits))
}
