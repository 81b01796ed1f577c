//! Every dialect as the sandbox answers it ([`Dialect`], one per gateway, looked up
//! by [`of`]). Ids carry the amount (`pay_sbx7a29900`) so status answers need no
//! stored state.

mod adyen;
mod browser;
mod cashfree;
pub(crate) mod ebanx;
mod generic;
pub(crate) mod juspay_ec;
pub(crate) mod paytm;
mod payu;
pub(crate) mod phonepe;
mod razorpay;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use time::OffsetDateTime;

use super::callbacks::Accepted;
use super::callbacks::format::{Callback, Phase};
use super::state::Shared;
use crate::connectors::{ConnectorKind, Credentials};
use crate::model::Secret;

type S = State<Arc<Shared>>;

/// How long a "timeout" request is held before the sandbox gives up on it.
const HOLD: Duration = Duration::from_secs(300);

/// Signature (and companion) headers of one callback delivery.
pub(crate) type Headers = Vec<(&'static str, String)>;

/// One gateway as the sandbox speaks it: its API routes and its callbacks in the
/// real format. Adding a dialect: a file here with its handlers and a `DIALECT`,
/// and one line in [`of`].
pub(crate) struct Dialect {
    /// The gateway's API (initiation and status), state-less until `with_state`.
    pub routes: fn() -> Router<Arc<Shared>>,
    /// The callback body for `phase` of an accepted payment (the same bytes on every
    /// redelivery): `(payment, phase, at, stable event id, secret)`. The secret is
    /// for dialects that sign inside the body (PayU's hash, Paytm's CHECKSUMHASH).
    pub callback_body: fn(&Accepted, Phase, OffsetDateTime, &str, &str) -> Vec<u8>,
    /// The `Content-Type` the gateway posts callbacks with.
    pub content_type: &'static str,
    /// The signature (and companion) headers of one delivery attempt, signed now.
    pub callback_headers: fn(&str, &Callback, u32, OffsetDateTime) -> Headers,
    /// The credential switchyard verifies this gateway's callbacks with.
    pub callback_secret: fn(&Credentials) -> Option<&Secret>,
}

/// The dialect of `kind`: one line per gateway.
pub(crate) fn of(kind: ConnectorKind) -> &'static Dialect {
    match kind {
        ConnectorKind::Generic => &generic::DIALECT,
        ConnectorKind::Razorpay => &razorpay::DIALECT,
        ConnectorKind::Cashfree => &cashfree::DIALECT,
        ConnectorKind::JuspayUpi => &JUSPAY_UPI,
        ConnectorKind::Payu => &payu::DIALECT,
        ConnectorKind::Phonepe => &phonepe::DIALECT,
        ConnectorKind::Paytm => &paytm::DIALECT,
        ConnectorKind::Adyen => &adyen::DIALECT,
        ConnectorKind::Ebanx => &ebanx::DIALECT,
        ConnectorKind::JuspayEc => &juspay_ec::DIALECT,
    }
}

/// Callback-only gateway: nothing to initiate against, so it never accepts a payment;
/// should one appear, it speaks the generic callback format.
pub(crate) const JUSPAY_UPI: Dialect = Dialect {
    routes: Router::new,
    ..generic::DIALECT
};

pub(crate) fn webhook_secret(c: &Credentials) -> Option<&Secret> {
    c.webhook_secret.as_ref()
}

pub(crate) fn webhook_or_key_secret(c: &Credentials) -> Option<&Secret> {
    c.webhook_secret.as_ref().or(c.key_secret.as_ref())
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    (of(shared.kind).routes)()
        .merge(super::refunds::dialects::router(shared.kind))
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
