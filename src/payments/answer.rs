//! How the attempts ended, as the caller will be told and the ledger will keep it.
//!
//! [`Attempted`] is the whole answer in domain terms: the payment's status, which
//! gateway has it, every attempt, and — when it did not end `created` — the
//! [`PaymentError`] saying why. The HTTP edge renders it (status code and JSON) through
//! the [`Render`] it passes in, so the stored idempotent-replay body is exactly
//! what the first caller got, and nothing here knows HTTP.

use serde_json::Value;
use time::OffsetDateTime;

use super::PaymentError;
use super::attempts::{Attempts, Finished};
use crate::connectors::{Created, Outcome};
use crate::ledger::{AttemptRecord, Completion, StoredResponse};
use crate::model::{Currency, Method, NextAction, Paise, PaymentStatus, Reason};

/// The outcome of one initiation, before it is rendered.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub payment_id: String,
    pub order_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub status: PaymentStatus,
    pub next_action: Option<NextAction>,
    pub reason: Option<Reason>,
    pub amount: Paise,
    pub currency: Currency,
    pub method: Method,
    pub route: String,
    pub attempts: Vec<AttemptRecord>,
    /// `None`: the gateway created the payment. Otherwise why not.
    pub error: Option<PaymentError>,
}

/// Turns an [`Attempted`] into the stored response (status code and body bytes).
/// The HTTP layer implements it; tests may too.
pub trait Render: Send + Sync {
    fn render(&self, attempted: &Attempted) -> StoredResponse;
}

/// The JSON fields of a created payment (the renderer adds its envelope).
pub fn created_body(a: &Attempted) -> Value {
    serde_json::json!({
        "payment_id": a.payment_id,
        "order_id": a.order_id,
        "gateway": a.gateway,
        "gateway_payment_id": a.gateway_payment_id,
        "status": a.status,
        "next_action": a.next_action,
        "amount": a.amount,
        "currency": a.currency,
        "method": a.method,
        "route": a.route,
        "attempts": a.attempts,
    })
}

/// The fields added beside the error object of a payment that did not end created.
pub fn failure_fields(a: &Attempted, body: &mut Value) {
    body["payment_id"] = serde_json::json!(a.payment_id);
    body["status"] = serde_json::json!(a.status);
    body["gateway"] = serde_json::json!(a.gateway);
    body["route"] = serde_json::json!(a.route);
    body["attempts"] = serde_json::json!(a.attempts);
    if let Some(r) = a.reason {
        body["reason"] = serde_json::json!(r);
    }
}

impl Attempts<'_> {
    /// The answer and the ledger completion for how the attempts ended.
    pub(super) fn answer(&self, f: Finished) -> (Attempted, Completion) {
        let gateway = self.snap.gateways[f.gateway].spec.name.clone();
        let binds = self.snap.gateways[f.gateway].spec.kind.binds_payment_id();
        let mut next_action = None;
        let (mut status, mut reason, raw_status, gpid, mut error) = match &f.outcome {
            Outcome::Created(Created {
                gateway_payment_id,
                status,
                next_action: na,
                raw_status,
            }) => {
                next_action = Some(na.clone());
                (
                    *status,
                    None,
                    Some(raw_status.clone()),
                    gateway_payment_id.clone(),
                    None,
                )
            }
            Outcome::Declined { code, reason, .. } => (
                PaymentStatus::Failed,
                Some(*reason),
                Some(code.clone()),
                None,
                Some(PaymentError::GatewayDeclined),
            ),
            // Nothing reached any gateway: the payment cannot exist anywhere.
            Outcome::NotSent { .. } => (
                PaymentStatus::Failed,
                Some(Reason::GatewayError),
                None,
                None,
                Some(PaymentError::NoGatewayAvailable {
                    route: self.route.to_string(),
                }),
            ),
            Outcome::Error5xx {
                not_processed: true,
                http_status,
                ..
            } => (
                PaymentStatus::Failed,
                Some(Reason::GatewayError),
                Some(http_status.to_string()),
                None,
                Some(PaymentError::GatewayError),
            ),
            // A 5xx after the gateway read the request: it may exist; the watchdog resolves it.
            Outcome::Error5xx { http_status, .. } => (
                PaymentStatus::Unknown,
                None,
                Some(http_status.to_string()),
                None,
                Some(PaymentError::GatewayError),
            ),
            Outcome::SentUnknown { .. } => (
                PaymentStatus::Unknown,
                None,
                None,
                None,
                Some(PaymentError::GatewayTimeout),
            ),
        };
        // After an ambiguous attempt only a `Created` proves what the gateway holds
        // (the idempotent retry replayed the same payment): a decline, NotSent or 503
        // on the retry says nothing about the first attempt, which may be live.
        let says_nothing = matches!(
            f.outcome,
            Outcome::Declined { .. }
                | Outcome::NotSent { .. }
                | Outcome::Error5xx {
                    not_processed: true,
                    ..
                }
        );
        if f.ambiguous && says_nothing {
            status = PaymentStatus::Unknown;
            reason = None;
            error = Some(PaymentError::GatewayTimeout);
        }
        self.flow
            .metrics
            .requests
            .with_label_values(&[self.route, &gateway, f.outcome.label()])
            .inc();
        let attempted = Attempted {
            payment_id: self.payment_id.to_string(),
            order_id: self.req.order_id.clone(),
            gateway: gateway.clone(),
            gateway_payment_id: gpid.clone(),
            status,
            next_action,
            reason,
            amount: self.req.amount,
            currency: self.req.currency,
            method: self.req.method,
            route: self.route.to_string(),
            attempts: f.attempts.clone(),
            error,
        };
        let completion = Completion {
            payment_id: self.payment_id.to_string(),
            idempotency_key: self.key.to_string(),
            gateway,
            gateway_payment_id: gpid,
            binds_gateway_payment_id: binds,
            status,
            reason,
            raw_status,
            attempts: f.attempts,
            response: StoredResponse {
                http_status: 0,
                body: Vec::new(),
            },
            at: OffsetDateTime::now_utc(),
        };
        (attempted, completion)
    }
}
