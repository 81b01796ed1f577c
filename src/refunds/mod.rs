//! Refunds: money routed back out through the one gateway that holds it.
//!
//! `POST /v1/payments/{id}/refunds` (received by `http::refunds`) becomes
//! [`Refunds::create`]: the payment's gateway must refund its method, the refund is
//! reserved in the ledger (idempotency per payment and key, "captured minus
//! refunded-or-pending" checked inside the single writer's transaction, the
//! `pending` row written ahead of the call), then sent to that gateway on the
//! gateway payment id that took the money — never elsewhere, never failed over.
//! The gateway's answer is an ordinary refund event: same precedence, same outbox.
//!
//! - [`gateway`]: one refund call and how its answer is recorded.
//! - [`watch`]: the refund pass beside the payment watchdog — bounded status checks
//!   of pending refunds (resends on the same refund id after "no such refund") and
//!   the automatic policy ([`auto`]) over `refund_required` events.
//!
//! This module sits beside `payments` and `callbacks` (it imports neither) and
//! returns [`RefundError`]; `http::error` maps it to a status and stable code.

pub mod auto;
pub mod gateway;
pub mod watch;

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::alerts::Alerter;
use crate::config::SharedConfig;
use crate::ledger::refunds::{self, NewRefund, Refused, Reserve, Target};
use crate::ledger::{Ledger, LedgerError};
use crate::metrics::Metrics;
use crate::model::{Currency, Paise, PaymentStatus};

pub use crate::ledger::refunds::RefundView;

/// Why a refund was refused. The edge maps each to a status and stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("payment not found")]
    PaymentNotFound,
    #[error("refund not found")]
    RefundNotFound,
    /// The payment holds no money to return (not succeeded or partially refunded).
    #[error("payment is {0}; only a succeeded payment can be refunded")]
    NotInMoney(PaymentStatus),
    #[error("amount is above what is left to refund ({available} paise)")]
    ExceedsAvailable { available: i64 },
    #[error("currency {requested} does not match the payment's {payment}")]
    CurrencyMismatch { requested: String, payment: String },
    /// The gateway that holds the money does not refund this method (or this
    /// connector has no refund call yet, or the gateway is no longer configured).
    #[error("gateway {gateway} does not refund {method} payments through switchyard")]
    NotSupported { gateway: String, method: String },
    #[error("this Idempotency-Key was used with a different refund body")]
    IdempotencyConflict,
    #[error("the ledger cannot commit; retry later")]
    LedgerUnavailable,
}

impl From<LedgerError> for RefundError {
    fn from(e: LedgerError) -> Self {
        tracing::error!(error = %e, "refund: ledger write failed");
        RefundError::LedgerUnavailable
    }
}

/// A refund as the caller asked for it (validated at the edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAsk {
    /// Paise; `None` refunds everything that is left.
    pub amount: Option<Paise>,
    pub currency: Option<Currency>,
    pub reason: Option<String>,
    pub metadata: Option<Value>,
}

/// The answer to [`Refunds::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub refund: RefundView,
    /// Same key and body as an earlier request: this is that refund, as it is now.
    pub replayed: bool,
}

/// Everything the refund flow reads and writes. Cheap to clone.
#[derive(Clone)]
pub struct Refunds {
    pub config: SharedConfig,
    pub ledger: Ledger,
    pub metrics: Metrics,
    pub alerts: Alerter,
    /// One automatic pass at a time in this process (each event is decided, audited
    /// and alerted once).
    pub auto_lock: Arc<tokio::sync::Mutex<()>>,
}

/// SHA-256 hex of the refund body as asked (amount, currency, reason, metadata).
fn request_hash(ask: &RefundAsk) -> String {
    let canonical = serde_json::json!({
        "amount": ask.amount.map(|p| p.get()),
        "currency": ask.currency.map(|c| c.as_str()),
        "reason": ask.reason,
        "metadata": ask.metadata,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// A new refund id: `rf_` + a UUIDv7 (time-ordered, ≥ 10 characters as Razorpay's
/// idempotency header requires).
pub fn new_refund_id() -> String {
    format!("rf_{}", uuid::Uuid::now_v7().simple())
}

impl Refunds {
    /// Checks, reserves and sends one refund (see the module docs).
    pub async fn create(
        &self,
        payment_id: &str,
        idempotency_key: &str,
        ask: RefundAsk,
    ) -> Result<Created, RefundError> {
        let id = payment_id.to_string();
        let (gateway, method, paid_in) = self
            .ledger
            .query(move |c| refunds::payment_brief(c, &id))
            .await?
            .ok_or(RefundError::PaymentNotFound)?;
        let paid_in = Currency::parse(&paid_in).unwrap_or_default();
        let currency = ask.currency.unwrap_or(paid_in);
        if currency != paid_in {
            return Err(RefundError::CurrencyMismatch {
                requested: currency.as_str().into(),
                payment: paid_in.as_str().into(),
            });
        }
        let method = method.ok_or_else(|| RefundError::NotSupported {
            gateway: gateway.clone(),
            method: "unknown".into(),
        })?;
        self.check_supported(&gateway, method)?;
        // No amount: everything left, decided inside the reserve.
        let amount = ask.amount.map(Paise::get);
        let new = NewRefund {
            refund_id: new_refund_id(),
            payment_id: payment_id.to_string(),
            idempotency_key: Some(idempotency_key.to_string()),
            request_hash: request_hash(&ask),
            amount,
            currency: currency.as_str().to_string(),
            reason: ask.reason.clone(),
            metadata: ask.metadata.as_ref().map(Value::to_string),
            origin: "api",
            target: Target::Primary,
            at: OffsetDateTime::now_utc(),
        };
        self.reserve_and_send(new).await
    }

    /// Reserves `new` and, when it is new, sends it to the payment's gateway.
    pub async fn reserve_and_send(&self, new: NewRefund) -> Result<Created, RefundError> {
        let req = new.clone();
        let reserved = match self
            .ledger
            .write(move |conn| refunds::reserve(conn, &req))
            .await?
        {
            Reserve::New(r) => r,
            Reserve::Replay(v) => {
                return Ok(Created {
                    refund: *v,
                    replayed: true,
                });
            }
            Reserve::Conflict => return Err(RefundError::IdempotencyConflict),
            Reserve::Refused(r) => return Err(refused(r, &new.currency)),
        };
        gateway::send(self, &new, &reserved).await?;
        let refund = self
            .get(&new.payment_id, &reserved.refund_id)
            .await?
            .ok_or(RefundError::RefundNotFound)?;
        Ok(Created {
            refund,
            replayed: false,
        })
    }

    pub(crate) fn check_supported(
        &self,
        gateway: &str,
        method: crate::model::Method,
    ) -> Result<(), RefundError> {
        let snap = self.config.load();
        let ok = snap
            .gateway(gateway)
            .is_some_and(|(_, g)| g.connector.refunds_method(method));
        if ok {
            Ok(())
        } else {
            Err(RefundError::NotSupported {
                gateway: gateway.to_string(),
                method: method.as_str().to_string(),
            })
        }
    }

    /// Every refund of a payment (the payment must exist).
    pub async fn list(&self, payment_id: &str) -> Result<Vec<RefundView>, RefundError> {
        let id = payment_id.to_string();
        let (exists, list) = self
            .ledger
            .query(move |c| {
                let exists = refunds::payment_exists(c, &id)?;
                Ok((exists, refunds::list(c, &id)?))
            })
            .await?;
        if !exists {
            return Err(RefundError::PaymentNotFound);
        }
        Ok(list)
    }

    /// One refund of a payment.
    pub async fn get(
        &self,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundView>, RefundError> {
        let (p, r) = (payment_id.to_string(), refund_id.to_string());
        Ok(self.ledger.query(move |c| refunds::get(c, &p, &r)).await?)
    }

    /// The gateway named by a payment, if still configured (for the passes).
    pub(crate) fn connector(&self, gateway: &str) -> Option<Arc<dyn crate::connectors::Connector>> {
        self.config
            .load()
            .gateway(gateway)
            .map(|(_, g)| Arc::clone(&g.connector))
    }
}

fn refused(r: Refused, currency: &str) -> RefundError {
    match r {
        Refused::PaymentNotFound => RefundError::PaymentNotFound,
        Refused::NotInMoney(s) => RefundError::NotInMoney(s),
        Refused::NoGatewayPayment => RefundError::NotInMoney(PaymentStatus::Unknown),
        Refused::CurrencyMismatch { payment } => RefundError::CurrencyMismatch {
            requested: currency.to_string(),
            payment,
        },
        Refused::ExceedsAvailable { available } => RefundError::ExceedsAvailable { available },
    }
}
