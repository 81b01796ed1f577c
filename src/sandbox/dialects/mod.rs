//! The three dialects as the sandbox answers them. Ids carry the amount
//! (`pay_sbx7a29900`) so status answers need no stored state.

mod cashfree;
mod generic;
mod razorpay;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::state::Shared;
use crate::connectors::ConnectorKind;
use cashfree::{cf_link, cf_order, cf_pay, cf_payments};
use generic::{generic_initiate, generic_status};
use razorpay::{
    rzp_link, rzp_order, rzp_order_payments, rzp_orders_by_receipt, rzp_payment, rzp_upi,
};

type S = State<Arc<Shared>>;

/// How long a "timeout" request is held before the sandbox gives up on it.
const HOLD: Duration = Duration::from_secs(300);

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let r = match shared.kind {
        ConnectorKind::Generic => Router::new()
            .route("/v1/payments", post(generic_initiate))
            .route("/v1/payments/{id}", get(generic_status)),
        ConnectorKind::Razorpay => Router::new()
            .route("/v1/orders", post(rzp_order).get(rzp_orders_by_receipt))
            .route("/v1/orders/{id}/payments", get(rzp_order_payments))
            .route("/v1/payments/create/upi", post(rzp_upi))
            .route("/v1/payments/{id}", get(rzp_payment))
            .route("/v1/payment_links", post(rzp_link)),
        ConnectorKind::Cashfree => Router::new()
            .route("/pg/orders", post(cf_order))
            .route("/pg/orders/sessions", post(cf_pay))
            .route("/pg/orders/{id}/payments", get(cf_payments))
            .route("/pg/links", post(cf_link)),
        // Callback-only gateway: nothing to initiate against.
        ConnectorKind::JuspayUpi => Router::new(),
    };
    r.merge(super::refunds::dialects::router(shared.kind))
        .with_state(shared)
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn hold() -> Response {
    tokio::time::sleep(HOLD).await;
    json(StatusCode::GATEWAY_TIMEOUT, "{}".into())
}

fn amount_of(id: &str) -> Option<i64> {
    id.rsplit_once('a').and_then(|(_, a)| a.parse().ok())
}

fn rrn(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), 7) % 1_000_000_000_000
}

fn upi_uri(s: &Shared, tr: &str, rupees: Option<&str>) -> String {
    match rupees {
        Some(am) => format!(
            "upi://pay?pa=sandbox@{}&pn=Sandbox&am={am}&tr={tr}&cu=INR",
            s.name
        ),
        None => format!("upi://pay?pa=sandbox@{}&pn=Sandbox&tr={tr}&cu=INR", s.name),
    }
}

fn rupees(paise: i64) -> String {
    crate::model::Paise(paise).to_rupees_string()
}
