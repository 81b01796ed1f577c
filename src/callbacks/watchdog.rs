//! The watchdog: payments stuck non-final (`initiated`, `pending`, `deemed`,
//! `authorized`, `unknown`) past their TTL get status checks through their
//! connector, and the answers become ordinary events (same precedence, same
//! outbox). Per NPCI's 2025 rules (UPI.md section 1.4) the first check is never
//! sooner than `first_check_after` (90 s) after initiation, checks are spaced by
//! `check_interval` and capped at `max_checks` (3); `check` refuses a schedule
//! below that floor unless `watchdog.npci_floor = false` (sandboxes, load tests).
//! No check follows a final answer.
//!
//! Resolution ends: when the last check's answer is "not found" (HTTP 404: the
//! gateway never saw the payment), the payment is `expired` at once (reason
//! `expired`, raw status `not_found`, order action `cancel`); one still unresolved
//! after every check is `expired` with `stale` (order action `hold`,
//! `payments_stale_total`) at its TTL deadline plus `expire_after`. A check that
//! got no answer (gateway unreachable, 5xx) is retried every `check_interval` and
//! does not count toward `max_checks`: a payment never expires for want of an
//! answer. Either way
//! the in-progress idempotency row of a payment whose initiation never completed is
//! recovered (see [`recover_idempotency`]).
//!
//! A payment left `unknown` by an initiation timeout, or `initiated` with no
//! completion (the process died mid-initiation, the completion write failed), is
//! checked from `first_check_after` on, without waiting for its TTL: nobody knows
//! whether the customer is being charged.
//!
//! Time: the ledger stores wall-clock UTC; the watchdog's [`Clock`] anchors the wall
//! clock once and advances it with tokio's clock, so tests run on paused time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{Callbacks, normalize};
use crate::config::{SharedConfig, WatchdogPolicy};
use crate::connectors::StatusReport;
use crate::connectors::upstream::UpstreamError;
use crate::ledger::LedgerError;
use crate::ledger::callbacks::apply;
use crate::ledger::watchdog::{
    Candidate, Expiry, Waits, candidates, expire, record_check, recover_idempotency, recover_stuck,
};

/// Most payments looked at per scan.
const SCAN_LIMIT: usize = 256;

/// Asks a gateway for a payment's current state.
#[async_trait]
pub trait StatusSource: Send + Sync {
    async fn status(
        &self,
        gateway: &str,
        payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError>;
}

/// The configured connectors (the production source).
struct Connectors(SharedConfig);

#[async_trait]
impl StatusSource for Connectors {
    async fn status(
        &self,
        gateway: &str,
        payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let connector = match self.0.load().gateway(gateway) {
            Some((_, g)) => Arc::clone(&g.connector),
            None => {
                return Err(UpstreamError::NotSupported(format!(
                    "gateway {gateway} is no longer configured"
                )));
            }
        };
        connector.status(payment_id, gateway_payment_id).await
    }
}

/// Wall-clock UTC that advances with tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall: OffsetDateTime,
    at: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            wall: OffsetDateTime::now_utc(),
            at: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.wall + self.at.elapsed()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts the watchdog on the configured connectors; it stops when `stop` turns true.
pub fn spawn(state: &Callbacks, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let source = Arc::new(Connectors(Arc::clone(&state.config)));
    tokio::spawn(run(state.clone(), source, stop))
}

/// The loop: scan, sleep `scan_interval`, until `stop` turns true.
pub async fn run(state: Callbacks, source: Arc<dyn StatusSource>, mut stop: watch::Receiver<bool>) {
    let clock = Clock::new();
    loop {
        let policy = state.config.load().watchdog.clone();
        if policy.enabled
            && let Err(e) = scan(&state, source.as_ref(), &policy, clock.now()).await
        {
            tracing::warn!(error = %e, "watchdog scan failed");
        }
        if let Err(e) = super::orphans::sweep(&state, clock.now()).await {
            tracing::warn!(error = %e, "orphan sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(policy.scan_interval) => {}
            _ = stop.wait_for(|v| *v) => return,
        }
    }
}

/// When the candidate's next step is due: its next check, or (checks exhausted)
/// its expiry at the TTL deadline plus `expire_after`.
pub fn due_at(c: &Candidate, policy: &WatchdogPolicy) -> OffsetDateTime {
    if c.checks >= policy.max_checks {
        return c.ttl_deadline + policy.expire_after;
    }
    if c.checks > 0
        && let Some(next) = c.next_check_at
    {
        return next;
    }
    let wait = if c.unsure() {
        policy.first_check_after
    } else {
        policy.ttl_for(c.method).max(policy.first_check_after)
    };
    c.created_at + wait
}

fn label(r: &Result<StatusReport, UpstreamError>) -> &'static str {
    match r {
        Ok(rep) if rep.status.is_final() => "final",
        Ok(_) => "pending",
        Err(UpstreamError::Status { status: 404, .. }) => "not_found",
        Err(UpstreamError::NotSupported(_)) => "not_supported",
        Err(_) => "error",
    }
}

/// One pass: every due payment gets its next check (or its expiry). Returns how
/// many payments were looked at.
pub async fn scan(
    state: &Callbacks,
    source: &dyn StatusSource,
    policy: &WatchdogPolicy,
    now: OffsetDateTime,
) -> Result<usize, LedgerError> {
    let unknown_wait = policy.first_check_after;
    let waits = Waits {
        min_wait: policy
            .ttl_by_method
            .values()
            .fold(policy.ttl, |a, b| a.min(*b))
            .max(unknown_wait),
        unknown_wait,
        max_checks: policy.max_checks,
        expire_after: policy.expire_after,
    };
    let due: Vec<Candidate> = state
        .ledger
        .query(move |c| candidates(c, now, waits, SCAN_LIMIT))
        .await?
        .into_iter()
        .filter(|c| due_at(c, policy) <= now)
        .collect();
    let lsr = state.config.load().callbacks.late_success_refund;
    let mut checked = 0;
    for c in due {
        checked += 1;
        if c.checks >= policy.max_checks {
            let why = if c.last_result.as_deref() == Some("not_found") {
                Expiry::NotFound
            } else {
                Expiry::Stale
            };
            let pid = c.payment_id.clone();
            let ended = state
                .ledger
                .write(move |conn| expire(conn, &pid, why, now))
                .await?;
            note_expiry(state, &c, ended.as_ref(), why);
            continue;
        }
        let answer = source
            .status(&c.gateway, &c.payment_id, c.gateway_payment_id.as_deref())
            .await;
        let result = label(&answer);
        state
            .metrics
            .status_checks
            .with_label_values(&[&c.gateway, result])
            .inc();
        if let Err(e) = &answer {
            tracing::info!(gateway = %c.gateway, payment_id = %c.payment_id, error = %e, "status check failed");
        }
        let inc = answer
            .ok()
            .map(|r| normalize::from_status(&c.gateway, &c.payment_id, &r, now));
        // An unanswered check does not count (see `record_check`).
        let last = result != "error" && c.checks.saturating_add(1) >= policy.max_checks;
        // The gateway never saw it, asked the last time the schedule allows: it ends.
        let not_found = last && result == "not_found";
        let next = now + Duration::max(policy.check_interval, Duration::from_secs(1));
        let pid = c.payment_id.clone();
        let (applied, ended) = state
            .ledger
            .write(move |conn| {
                let applied = inc.map(|i| apply(conn, &i, lsr)).transpose()?;
                record_check(conn, &pid, result, next)?;
                let ended = if not_found {
                    expire(conn, &pid, Expiry::NotFound, now)?
                } else {
                    // A final answer frees an idempotency row stuck in progress.
                    recover_idempotency(conn, &pid)?;
                    None
                };
                Ok((applied, ended))
            })
            .await?;
        let gateway: Arc<str> = Arc::from(c.gateway.as_str());
        if let Some(a) = &applied {
            state.report(&gateway, a);
        }
        if not_found {
            note_expiry(state, &c, ended.as_ref(), Expiry::NotFound);
        }
    }
    // Payments a callback settled while their initiation had died.
    let older = now - policy.first_check_after;
    state
        .ledger
        .write(move |conn| recover_stuck(conn, older, SCAN_LIMIT))
        .await?;
    Ok(checked)
}

fn note_expiry(
    state: &Callbacks,
    c: &Candidate,
    event: Option<&crate::model::PaymentEvent>,
    why: Expiry,
) {
    if event.is_none() {
        return;
    }
    if why == Expiry::Stale {
        state.metrics.payments_stale.inc();
    }
    tracing::warn!(gateway = %c.gateway, payment_id = %c.payment_id, reason = ?why,
        checks = c.checks, "payment expired by the watchdog");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PaymentStatus;

    fn cand(status: PaymentStatus, checks: u32) -> Candidate {
        Candidate {
            payment_id: "p".into(),
            gateway: "g".into(),
            gateway_payment_id: None,
            status,
            method: Some(crate::model::Method::UpiCollect),
            created_at: OffsetDateTime::UNIX_EPOCH,
            ttl_deadline: OffsetDateTime::UNIX_EPOCH + Duration::from_secs(420),
            incomplete: false,
            checks,
            next_check_at: Some(OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1000)),
            last_result: None,
        }
    }

    #[test]
    fn due_times_follow_ttl_first_check_and_spacing() {
        let mut p = WatchdogPolicy::default();
        p.ttl_by_method
            .insert(crate::model::Method::UpiCollect, Duration::from_secs(600));
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            due_at(&cand(PaymentStatus::Pending, 0), &p),
            t0 + Duration::from_secs(600)
        );
        assert_eq!(
            due_at(&cand(PaymentStatus::Unknown, 0), &p),
            t0 + Duration::from_secs(90)
        );
        assert_eq!(
            due_at(&cand(PaymentStatus::Pending, 1), &p),
            t0 + Duration::from_secs(1000)
        );
        // An initiation that never completed is checked like an unknown one.
        let mut stuck = cand(PaymentStatus::Initiated, 0);
        stuck.incomplete = true;
        assert_eq!(due_at(&stuck, &p), t0 + Duration::from_secs(90));
        // Checks exhausted: due to expire at the TTL deadline plus expire_after.
        assert_eq!(
            due_at(&cand(PaymentStatus::Pending, 3), &p),
            t0 + Duration::from_secs(420 + 600)
        );
        p.ttl = Duration::from_secs(10);
        p.ttl_by_method.clear();
        // A TTL shorter than the NPCI minimum still waits 90 s.
        assert_eq!(
            due_at(&cand(PaymentStatus::Pending, 0), &p),
            t0 + Duration::from_secs(90)
        );
    }
}
