//! Gateway events into the ledger: a callback (`POST /v1/callbacks/{gateway}`,
//! received by `http::callbacks`) or a status check (the [`watchdog`]) becomes an
//! incoming event, goes through precedence and is committed with its outbox row
//! (DESIGN.md section 6).
//!
//! - [`ingest`](Callbacks::ingest): verify the signature over the raw body, parse,
//!   normalize, apply, all before the caller may ACK.
//! - [`normalize`]: connector data → [`Incoming`](crate::model::Incoming).
//! - [`watchdog`]: the second event source — status checks for payments stuck non-final.
//!
//! The event, the payment's state change and the outbox row are committed in one
//! ledger write job (fsynced, group commit) before [`Callbacks::ingest`] returns;
//! the ledger's writer wakes the forwarder after the commit.

pub mod normalize;
pub mod orphans;
pub mod watchdog;

use std::sync::Arc;

use http::HeaderMap;
use time::OffsetDateTime;

use crate::config::SharedConfig;
use crate::connectors::{ParseError, VerifyOptions};
use crate::health::{HealthFeed, Observation};
use crate::ledger::Ledger;
use crate::ledger::callbacks::{Applied, ApplyResult, apply};
use crate::metrics::Metrics;

/// Why a callback was refused. The edge maps each to a status and stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("gateway {0:?} not found")]
    UnknownGateway(String),
    #[error("callback signature is invalid")]
    InvalidSignature,
    /// A verified callback whose body could not be understood.
    #[error("callback body is malformed: {0}")]
    Malformed(String),
    #[error("the ledger cannot commit; redeliver later")]
    Unavailable,
    /// The callback names a payment whose state needs a status query (EBANX), and the
    /// query failed: redeliver later.
    #[error("the gateway's status query failed: {0}")]
    Unresolved(String),
    /// Verified with this gateway's secret, but the payment's attempts never went to
    /// this gateway: a secret speaks for its own gateway only (refused, counted).
    #[error("this gateway's secret may not move a payment made at another gateway")]
    GatewayMismatch,
}

/// What an accepted callback did (the ACK body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// `accepted`, `duplicate`, `unchanged`, `conflict`, `orphan`,
    /// `duplicate_payment` or `ignored`.
    pub result: &'static str,
    /// `None` for an event switchyard ignores.
    pub event_id: Option<String>,
}

/// Proof that one body passed one gateway's signature check
/// ([`Callbacks::verify`]); only `verify` makes one.
#[derive(Debug)]
pub struct Verified {
    gateway: Arc<str>,
    len: usize,
    digest: u64,
}

impl Verified {
    fn of(gateway: &Arc<str>, body: &[u8]) -> Self {
        Verified {
            gateway: Arc::clone(gateway),
            len: body.len(),
            digest: xxhash_rust::xxh3::xxh3_64(body),
        }
    }

    fn covers(&self, gateway: &str, body: &[u8]) -> bool {
        &*self.gateway == gateway
            && self.len == body.len()
            && self.digest == xxhash_rust::xxh3::xxh3_64(body)
    }
}

/// Everything the callback flow and the watchdog read and write. Cheap to clone.
#[derive(Clone)]
pub struct Callbacks {
    pub config: SharedConfig,
    pub ledger: Ledger,
    pub metrics: Metrics,
    /// Final outcomes for the health task.
    pub health: HealthFeed,
}

impl Callbacks {
    /// Counts one callback for `gateway` under `result` (`callbacks_total`).
    pub fn count(&self, gateway: &str, result: &str) {
        self.metrics
            .callbacks
            .with_label_values(&[gateway, result])
            .inc();
    }

    /// Only the signature check: lets the edge tell authentic callbacks from the
    /// rest before it spends a gateway's rate on them, then hand the proof to
    /// [`ingest_verified`](Self::ingest_verified) so the check (an RSA decryption
    /// for Juspay's JWT webhooks) runs once. Counts nothing and logs nothing.
    pub fn verify(
        &self,
        gateway: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified, CallbackError> {
        let snap = self.config.load();
        let Some((_, gw)) = snap.gateway(gateway) else {
            return Err(CallbackError::UnknownGateway(gateway.to_string()));
        };
        let opts = VerifyOptions {
            tolerance: snap.callbacks.replay_tolerance,
            now: OffsetDateTime::now_utc(),
        };
        match gw.connector.verify_callback(headers, body, opts) {
            Ok(()) => Ok(Verified::of(&gw.name, body)),
            Err(e) => {
                tracing::debug!(gateway = %gw.name, error = %e, "callback signature check failed");
                Err(CallbackError::InvalidSignature)
            }
        }
    }

    /// Verifies, parses, normalizes and commits one callback's raw `body`.
    pub async fn ingest(
        &self,
        gateway: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Ack, CallbackError> {
        let proof = self.verify(gateway, headers, body).inspect_err(|e| {
            if *e == CallbackError::InvalidSignature {
                self.count(gateway, "invalid_signature");
                // Never the body: it carries VPAs and references.
                tracing::warn!(gateway, bytes = body.len(), "callback refused");
            }
        })?;
        self.ingest_verified(gateway, headers, body, &proof).await
    }

    /// [`ingest`](Self::ingest) for a body [`verify`](Self::verify) passed: parses,
    /// normalizes and commits it. A proof for another gateway or body is refused
    /// as an invalid signature.
    pub async fn ingest_verified(
        &self,
        gateway: &str,
        headers: &HeaderMap,
        body: &[u8],
        proof: &Verified,
    ) -> Result<Ack, CallbackError> {
        if !proof.covers(gateway, body) {
            return Err(CallbackError::InvalidSignature);
        }
        let snap = self.config.load_full();
        let Some((_, gw)) = snap.gateway(gateway) else {
            return Err(CallbackError::UnknownGateway(gateway.to_string()));
        };
        let name = Arc::clone(&gw.name);
        let now = OffsetDateTime::now_utc();
        let events =
            gw.connector
                .parse_callbacks(headers, body)
                .map_err(|ParseError::Malformed(m)| {
                    self.count(&name, "malformed");
                    tracing::warn!(gateway = %name, error = %m, "verified callback is malformed");
                    CallbackError::Malformed(m)
                })?;
        // A batch (Adyen, EBANX) is applied item by item; the ACK reports the first
        // event that was not ignored. Any failure refuses the batch, which the gateway
        // redelivers whole (the items already applied are then duplicates).
        let mut ack: Option<Ack> = None;
        for cd in events {
            let resolved = gw.connector.resolve_callback(cd).await.map_err(|e| {
                self.count(&name, "unresolved");
                tracing::warn!(gateway = %name, error = %e, "callback status query failed; answering 503");
                CallbackError::Unresolved(e.to_string())
            })?;
            for cd in resolved {
                let one = self.apply_one(&name, &cd, now, &snap).await?;
                if ack.as_ref().is_none_or(|a| a.event_id.is_none()) {
                    ack = Some(one);
                }
            }
        }
        Ok(ack.unwrap_or(Ack {
            result: "ignored",
            event_id: None,
        }))
    }

    /// Normalizes and commits one parsed event.
    async fn apply_one(
        &self,
        name: &Arc<str>,
        cd: &crate::connectors::CallbackData,
        now: OffsetDateTime,
        snap: &crate::config::Snapshot,
    ) -> Result<Ack, CallbackError> {
        let Some(inc) = normalize::from_callback(name, cd, now) else {
            self.count(name, "ignored");
            return Ok(Ack {
                result: "ignored",
                event_id: None,
            });
        };
        let event_id = inc.event_id.clone();
        let lsr = snap.callbacks.late_success_refund;
        let write = self.ledger.write(move |conn| apply(conn, &inc, lsr));
        let applied = self
            .metrics
            .time_ledger_write("callback", write)
            .await
            .map_err(|e| {
                self.count(name, "unavailable");
                tracing::error!(gateway = %name, error = %e, "callback not committed; answering 503");
                CallbackError::Unavailable
            })?;
        self.count(name, applied.result.as_str());
        if applied.result == ApplyResult::GatewayMismatch {
            tracing::warn!(gateway = %name, event_id = %event_id, "callback refused: the payment's attempts never went to this gateway");
            return Err(CallbackError::GatewayMismatch);
        }
        self.report(name, &applied);
        tracing::debug!(gateway = %name, event_id = %event_id, result = applied.result.as_str(), "callback");
        Ok(Ack {
            result: applied.result.as_str(),
            event_id: Some(event_id),
        })
    }

    /// After a commit: feed final outcomes to the health task. (The forwarder is
    /// woken by the ledger's writer.)
    pub(crate) fn report(&self, gateway: &Arc<str>, applied: &Applied) {
        // The payment's gateway (the one that processed it) gets the outcome.
        if let (Some(succeeded), Some(method), Some(e)) =
            (applied.final_outcome(), applied.method, &applied.event)
        {
            let gateway = if *e.gateway == **gateway {
                Arc::clone(gateway)
            } else {
                Arc::from(e.gateway.as_str())
            };
            self.health.send(Observation::Final {
                gateway,
                method,
                succeeded,
            });
        }
    }
}
