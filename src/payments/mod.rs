//! The initiation flow: plan → idempotency + write-ahead intent → gateway attempts
//! under the failover rules → completion in the ledger → an [`Attempted`] answer,
//! rendered by the caller's [`Render`].
//!
//! - `attempts`: the attempt loop and its failover rules.
//! - `answer`: how the attempts ended, as the caller is told and the ledger keeps it.
//! - `idempotency`: the request fingerprint ([`request_hash`]).
//! - [`budget`]: the retry budget that bounds failovers.
//!
//! Nothing here names an HTTP type: errors are [`PaymentError`], mapped to status
//! codes by `http::error`.

mod answer;
mod attempts;
pub mod budget;
mod idempotency;
mod limits;

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

pub use answer::{Attempted, Render, created_body, failure_fields};
pub use budget::RetryBudget;
pub use idempotency::request_hash;

use crate::config::{SharedConfig, StickyKey};
use crate::health::{Admission, HealthFeed};
use crate::ledger::money::{OrderGuard, Verdict};
use crate::ledger::{Begin, Completion, Intent, Ledger, StoredResponse};
use crate::metrics::Metrics;
use crate::model::{PaymentRequest, new_payment_id};
use crate::routing::{plan, sticky_hash};
use attempts::Attempts;

/// Why a payment was not created. The first five end the request before any
/// gateway is called; the last three describe how the attempts ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("no route matches this payment")]
    NoRoute,
    #[error("no gateway is available for route {route}")]
    NoGatewayAvailable { route: String },
    /// A UPI payment above its per-transaction cap (paise).
    #[error(
        "the amount is above the UPI per-transaction limit of {limit} paise for this merchant category"
    )]
    UpiLimitExceeded { limit: i64 },
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyConflict,
    #[error("a request with this Idempotency-Key is still being processed")]
    RequestInProgress,
    #[error("the ledger is not writable")]
    LedgerUnavailable,
    #[error("the gateway declined the payment")]
    GatewayDeclined,
    #[error("the gateway failed to process the payment")]
    GatewayError,
    #[error("the gateway did not answer in time; the outcome is unknown and will be resolved")]
    GatewayTimeout,
    /// The order-level guard: the order already has a succeeded payment.
    #[error("order {order_id} already has a succeeded payment ({payment_id})")]
    OrderAlreadyPaid {
        order_id: String,
        payment_id: String,
    },
    /// The order-level guard: the order has a live payment (refused by policy, or
    /// it lives at a gateway this payment cannot be pinned to).
    #[error("order {order_id} has a payment in progress ({payment_id})")]
    OrderInProgress {
        order_id: String,
        payment_id: String,
    },
    /// The order-level guard: the order has a payment whose outcome at the gateway
    /// is in doubt; a new one could be a second charge (poll that payment instead).
    #[error("order {order_id} has a payment whose outcome is not known yet ({payment_id})")]
    OrderPaymentInDoubt {
        order_id: String,
        payment_id: String,
    },
}

/// The guard's refusal as a [`PaymentError`].
fn refused(order_id: &str, guard: OrderGuard) -> PaymentError {
    match guard {
        OrderGuard::Succeeded(p) => PaymentError::OrderAlreadyPaid {
            order_id: order_id.to_string(),
            payment_id: p.payment_id,
        },
        OrderGuard::InDoubt(p) => PaymentError::OrderPaymentInDoubt {
            order_id: order_id.to_string(),
            payment_id: p.payment_id,
        },
        OrderGuard::Live(p) => PaymentError::OrderInProgress {
            order_id: order_id.to_string(),
            payment_id: p.payment_id,
        },
        // Not refusals; never built from these.
        OrderGuard::Free | OrderGuard::KnownKey => PaymentError::RequestInProgress,
    }
}

/// The answer for the caller: the rendered response, whether it is a replay, and
/// (for a fresh answer that is not a created payment) the error it renders.
#[derive(Debug)]
pub struct Answer {
    pub response: StoredResponse,
    pub replayed: bool,
    pub error: Option<PaymentError>,
}

/// Everything the initiation flow reads and writes. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    pub config: SharedConfig,
    pub ledger: Ledger,
    pub metrics: Metrics,
    /// Effective per-route shares (published by the health task).
    pub admission: Arc<Admission>,
    /// Outcomes for the health task (`try_send`; never waits).
    pub health: HealthFeed,
    pub budget: Arc<RetryBudget>,
}

impl Payments {
    /// Runs one `POST /v1/payments`: `body` is the request as sent (for the
    /// idempotency fingerprint), `req` the validated payment.
    pub async fn initiate(
        &self,
        idempotency_key: &str,
        body: &Value,
        req: PaymentRequest,
        render: &dyn Render,
    ) -> Result<Answer, PaymentError> {
        let snap = self.config.load_full();
        // One deadline for the whole request, ledger waits included (a frozen disk
        // must not hold a caller past `request_timeout`).
        let deadline = tokio::time::Instant::now() + snap.server.request_timeout;
        let key = match snap.server.sticky_key {
            StickyKey::OrderId => &req.order_id,
            StickyKey::IdempotencyKey => idempotency_key,
        };
        let admission = self.admission.load();
        let h2 = crate::health::admission_hash(key);
        let avail = |r: usize, g: usize| admission.admits(snap.generation, r, g, h2);
        // The order-level guard, before routing: an order with a live or succeeded
        // payment is pinned to that payment's gateway or refused (docs/MONEY.md).
        let lookup = tokio::time::timeout_at(
            deadline,
            self.ledger.order_guard(&req.order_id, idempotency_key),
        );
        let guard = match lookup
            .await
            .unwrap_or(Err(crate::ledger::LedgerError::Timeout(
                snap.server.request_timeout,
            ))) {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(error = %e, "ledger could not answer the order guard");
                return Err(PaymentError::LedgerUnavailable);
            }
        };
        let pin = match snap.server.order_guard.judge(guard) {
            Verdict::Free => None,
            Verdict::Refuse(g) => {
                self.metrics
                    .order_guard
                    .with_label_values(&["refused"])
                    .inc();
                return Err(refused(&req.order_id, g));
            }
            Verdict::Pin(g) => Some(g),
        };
        let plan = match plan(&snap.routes, &req, sticky_hash(key), avail) {
            Ok(Some(mut p)) => {
                if let Some(g) = &pin {
                    // Only the live payment's gateway, never a failover elsewhere.
                    let Some((idx, _)) = snap.gateway(g) else {
                        return Err(PaymentError::NoGatewayAvailable {
                            route: snap.routes[p.route].name.clone(),
                        });
                    };
                    self.metrics
                        .order_guard
                        .with_label_values(&["pinned"])
                        .inc();
                    p.gateways = vec![idx];
                }
                p
            }
            Ok(None) => return Err(PaymentError::NoRoute),
            Err(r) => {
                return Err(PaymentError::NoGatewayAvailable {
                    route: snap.routes[r].name.clone(),
                });
            }
        };
        drop(admission);
        let route = snap.routes[plan.route].name.clone();
        limits::check(&snap, &route, &req)?;
        let now = OffsetDateTime::now_utc();
        let payment_id = new_payment_id();
        let intent = Intent {
            payment_id: payment_id.clone(),
            order_id: req.order_id.clone(),
            idempotency_key: idempotency_key.to_string(),
            request_hash: request_hash(body),
            amount: req.amount,
            currency: req.currency,
            method: req.method,
            route: route.clone(),
            gateway: snap.gateways[plan.gateways[0]].spec.name.clone(),
            created_at: now,
            // The watchdog's policy is the one source of the pending TTL.
            ttl_deadline: now + snap.watchdog.ttl_for(Some(req.method)),
        };
        let begin = tokio::time::timeout_at(
            deadline,
            self.metrics.time_ledger_write(
                "begin",
                self.ledger.begin_guarded(intent, snap.server.order_guard),
            ),
        );
        // Past the deadline the intent may still commit later, never followed by a
        // gateway call: the watchdog expires it.
        let begun = begin
            .await
            .unwrap_or(Err(crate::ledger::LedgerError::Timeout(
                snap.server.request_timeout,
            )));
        match begun {
            // Only a real initiation earns retries (not replays, not refusals).
            Ok(Begin::New) => self.budget.deposit(snap.server.retry_budget_percent),
            Ok(Begin::Replay(stored)) => {
                return Ok(Answer {
                    response: stored,
                    replayed: true,
                    error: None,
                });
            }
            Ok(Begin::Conflict) => return Err(PaymentError::IdempotencyConflict),
            Ok(Begin::InProgress) => return Err(PaymentError::RequestInProgress),
            // Another key for this order got in between the guard and the write.
            Ok(Begin::Refused(g)) => return Err(refused(&req.order_id, g)),
            Err(e) => {
                tracing::error!(error = %e, "ledger could not record the intent");
                return Err(PaymentError::LedgerUnavailable);
            }
        }

        let run = Attempts {
            flow: self,
            snap: &snap,
            req: &req,
            payment_id: &payment_id,
            key: idempotency_key,
            route: &route,
            deadline: deadline.into_std(),
        };
        let finished = run.go(&plan.gateways).await;
        let (attempted, completion) = run.answer(finished);
        // Rendered before the completion commits: a replay answers these bytes.
        let response = render.render(&attempted);
        let completion = Completion {
            response: response.clone(),
            ..completion
        };
        // Early callbacks linked by the completion reach the outbox in the same
        // commit; the ledger's writer wakes the forwarder itself.
        // The completion gets what is left of the deadline (at least 250 ms); a
        // completion that has not committed by then is logged, and the watchdog
        // resolves the payment from its write-ahead attempt row.
        let until =
            deadline.max(tokio::time::Instant::now() + std::time::Duration::from_millis(250));
        let complete = self
            .metrics
            .time_ledger_write("complete", self.ledger.complete(completion));
        match tokio::time::timeout_at(until, complete).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, payment_id = %payment_id, "ledger could not record the completion")
            }
            Err(_) => {
                tracing::error!(payment_id = %payment_id, "ledger did not record the completion before the request deadline")
            }
        }
        Ok(Answer {
            response,
            replayed: false,
            error: attempted.error,
        })
    }
}
