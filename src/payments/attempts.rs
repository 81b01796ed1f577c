//! The attempt loop: one gateway after another under the failover rules of
//! DESIGN.md section 4. Only an outcome that proves nothing reached the gateway
//! (`NotSent`, a documented not-processed 5xx) moves on to the next gateway; an
//! ambiguous answer is retried only at the same idempotent gateway. Each further
//! attempt is written ahead in the ledger before it is sent.

use std::sync::Arc;
use std::time::Instant;

use super::Payments;
use crate::config::Snapshot;
use crate::connectors::{InitiateRequest, Outcome};
use crate::health::Observation;
use crate::ledger::AttemptRecord;
use crate::model::PaymentRequest;

/// What the attempt loop ended with.
pub(super) struct Finished {
    pub(super) gateway: usize,
    pub(super) outcome: Outcome,
    pub(super) attempts: Vec<AttemptRecord>,
    /// Some attempt may have created the payment without saying so (`SentUnknown`,
    /// or a 5xx after the gateway read the request): the payment never leaves that
    /// gateway, and only a `Created` proves what happened there.
    pub(super) ambiguous: bool,
}

pub(super) struct Attempts<'a> {
    pub(super) flow: &'a Payments,
    pub(super) snap: &'a Arc<Snapshot>,
    pub(super) req: &'a PaymentRequest,
    pub(super) payment_id: &'a str,
    pub(super) key: &'a str,
    pub(super) route: &'a str,
    /// The request's deadline (from its start, ledger waits included).
    pub(super) deadline: Instant,
}

impl Attempts<'_> {
    pub(super) async fn go(&self, gateways: &[usize]) -> Finished {
        let max = self.snap.server.max_attempts.max(1) as usize;
        let deadline = self.deadline;
        let callback_url = self
            .snap
            .server
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'));
        let mut attempts = Vec::new();
        let mut ambiguous = false;
        let mut i = 0; // index into gateways
        let mut gw = gateways[0];
        loop {
            let spec = &self.snap.gateways[gw].spec;
            let cb = callback_url.map(|u| format!("{u}/v1/callbacks/{}", spec.name));
            let ireq = InitiateRequest {
                payment_id: self.payment_id,
                idempotency_key: self.key,
                request: self.req,
                callback_url: cb.as_deref(),
            };
            let t0 = Instant::now();
            let remaining = deadline.saturating_duration_since(t0);
            let outcome = match tokio::time::timeout(
                remaining,
                self.snap.gateways[gw].connector.initiate(ireq),
            )
            .await
            {
                Ok(o) => o,
                Err(_) => Outcome::SentUnknown {
                    detail: "request deadline passed".into(),
                },
            };
            let elapsed = t0.elapsed();
            let m = &self.flow.metrics;
            m.upstream_duration
                .with_label_values(&[&spec.name])
                .observe(elapsed.as_secs_f64());
            m.upstream_attempts
                .with_label_values(&[&spec.name, outcome.label()])
                .inc();
            log_outcome(&spec.name, self.payment_id, &outcome);
            self.flow.health.send(Observation::Attempt {
                gateway: Arc::clone(&self.snap.gateways[gw].name),
                route: Arc::from(self.route),
                method: self.req.method,
                class: (&outcome).into(),
                latency: elapsed,
            });
            attempts.push(AttemptRecord {
                gateway: spec.name.clone(),
                outcome: outcome.label().to_string(),
                latency_ms: elapsed.as_millis() as u64,
            });
            ambiguous |= matches!(
                outcome,
                Outcome::SentUnknown { .. }
                    | Outcome::Error5xx {
                        not_processed: false,
                        ..
                    }
            );
            if attempts.len() >= max {
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                    ambiguous,
                };
            }
            // The next gateway, or the same one for an idempotent gateway's ambiguous
            // answer. Once an attempt was ambiguous the payment may exist here: it
            // never leaves this gateway (a later NotSent/503 retries here or stops).
            let retry_here = spec.idempotent
                && (matches!(outcome, Outcome::SentUnknown { .. })
                    || (ambiguous && outcome.may_fail_over()));
            let next = if retry_here {
                Some((gw, i))
            } else if !ambiguous && outcome.may_fail_over() {
                gateways.get(i + 1).copied().map(|g| (g, i + 1))
            } else {
                None
            };
            let Some((next_gw, next_i)) = next else {
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                    ambiguous,
                };
            };
            if !self.flow.budget.try_withdraw() {
                m.retry_budget_exhausted
                    .with_label_values(&[self.route])
                    .inc();
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                    ambiguous,
                };
            }
            // 1-based: the attempt about to be sent is number `len + 1`.
            let seq = attempts.len() as u32 + 1;
            let next_name = &self.snap.gateways[next_gw].spec.name;
            if let Err(e) = self
                .flow
                .ledger
                .record_attempt_start(self.payment_id, seq, next_name)
                .await
            {
                tracing::error!(error = %e, "ledger could not record the attempt; not failing over");
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                    ambiguous,
                };
            }
            m.failovers
                .with_label_values(&[&spec.name, next_name, outcome.label()])
                .inc();
            gw = next_gw;
            i = next_i;
        }
    }
}

/// Gateway error text goes to the log (never to the caller), scrubbed here as
/// well: a dialect that builds an outcome by hand cannot leak a VPA. `scrub`
/// borrows clean text, so the usual path allocates nothing (no clone of the
/// outcome on every attempt).
fn log_outcome(gateway: &str, payment_id: &str, outcome: &Outcome) {
    use crate::model::scrub;
    match outcome {
        Outcome::Created(_) => tracing::debug!(gateway, payment_id, "gateway created the payment"),
        Outcome::Declined { code, message, .. } => {
            let message = scrub(message);
            tracing::info!(gateway, payment_id, code = %code, message = %message, "gateway declined")
        }
        Outcome::NotSent { detail } => {
            let detail = scrub(detail);
            tracing::warn!(gateway, payment_id, detail = %detail, "request not sent")
        }
        Outcome::Error5xx {
            http_status,
            detail,
            ..
        } => {
            let detail = scrub(detail);
            tracing::warn!(gateway, payment_id, http_status, detail = %detail, "gateway 5xx")
        }
        Outcome::SentUnknown { detail } => {
            let detail = scrub(detail);
            tracing::warn!(gateway, payment_id, detail = %detail, "gateway did not answer; outcome unknown")
        }
    }
}
