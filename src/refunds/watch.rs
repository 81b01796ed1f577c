//! The refund pass: beside the payment watchdog (`callbacks::watchdog`), on the
//! same kind of bounded schedule. Every `scan_interval` it
//!
//! 1. checks due pending refunds (first no sooner than `first_check_after` after
//!    the call, spaced by `check_interval`, at most `max_checks`): a processed or
//!    failed answer is an ordinary refund event; "no such refund" after a call that
//!    may not have arrived is a resend of the same refund id (the gateway
//!    deduplicates on it) up to `max_attempts` calls, then `failed`; a refund whose
//!    last call did not reach the gateway (unsent) is sent again without asking,
//!    until its last check (then `failed` `not_sent`); still pending
//!    after the last check is `stale` (flag, metric, alert) — the bank may still
//!    settle it, and its webhook is still applied;
//! 2. runs the automatic policy over new `refund_required` events ([`super::auto`]).
//!
//! Time: wall-clock UTC advanced with tokio's (pausable) clock, like the watchdog.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::Refunds;
use super::gateway::{self, Subject};
use crate::alerts::{Alert, Severity};
use crate::config::RefundPolicy;
use crate::connectors::{RefundLookup, RefundOutcome, RefundQuery, RefundStatus};
use crate::ledger::LedgerError;
use crate::ledger::callbacks::apply;
use crate::ledger::refunds::resolve::{PendingRefund, due, record_check, record_resend};

/// Most refunds looked at per scan.
const SCAN_LIMIT: usize = 128;

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

/// Starts the refund pass; it stops when `stop` turns true.
pub fn spawn(refunds: &Refunds, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(refunds.clone(), stop))
}

/// The loop: scan, sleep `scan_interval`, until `stop` turns true.
pub async fn run(refunds: Refunds, mut stop: watch::Receiver<bool>) {
    let clock = Clock::new();
    loop {
        let policy = refunds.config.load().refunds.clone();
        if let Err(e) = scan(&refunds, &policy, clock.now()).await {
            tracing::warn!(error = %e, "refund pass failed");
        }
        if let Err(e) = super::auto::run_once(&refunds, &policy).await {
            tracing::warn!(error = %e, "automatic refund pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(policy.scan_interval) => {}
            _ = stop.wait_for(|v| *v) => return,
        }
    }
}

/// One pass over due pending refunds. Returns how many were checked.
pub async fn scan(
    refunds: &Refunds,
    policy: &RefundPolicy,
    now: OffsetDateTime,
) -> Result<usize, LedgerError> {
    let first = i64::try_from(policy.first_check_after.as_millis()).unwrap_or(i64::MAX);
    let list = refunds
        .ledger
        .query(move |c| due(c, now, first, SCAN_LIMIT))
        .await?;
    let mut checked = 0;
    for r in list {
        check_one(refunds, policy, &r, now).await?;
        checked += 1;
    }
    Ok(checked)
}

async fn check_one(
    refunds: &Refunds,
    policy: &RefundPolicy,
    r: &PendingRefund,
    now: OffsetDateTime,
) -> Result<(), LedgerError> {
    let gpid = r.gateway_payment_id.clone().unwrap_or_default();
    let s = Subject {
        refund_id: &r.refund_id,
        payment_id: &r.payment_id,
        gateway: &r.gateway,
        gateway_payment_id: &gpid,
        amount: r.amount,
        currency: &r.currency,
    };
    let last = r.checks.saturating_add(1) >= policy.max_checks;
    let metric = |label: &str| {
        refunds
            .metrics
            .refunds
            .with_label_values(&[&r.gateway, label])
            .inc()
    };
    if r.unsent {
        // The last call did not reach the gateway: send it again, no need to ask.
        metric("resent");
        let still_pending = resend(refunds, &s, r, !last).await?;
        return finish(refunds, policy, r, now, last && still_pending).await;
    }
    let answer = match refunds.connector(&r.gateway) {
        Some(c) => {
            c.refund_status(RefundQuery {
                refund_id: &r.refund_id,
                payment_id: &r.payment_id,
                gateway_payment_id: &gpid,
                gateway_refund_id: r.gateway_refund_id.as_deref(),
                amount: crate::model::Paise(r.amount),
                currency: &r.currency,
                created_at: Some(r.created_at),
            })
            .await
        }
        None => Err(RefundLookup::Unsupported),
    };
    let mut still_pending = true;
    match answer {
        Ok(rep) => {
            metric("checked");
            still_pending = rep.status == RefundStatus::Pending;
            let inc = gateway::incoming(
                &s,
                "status_check",
                rep.status,
                &rep.raw_status,
                None,
                Some(&rep),
                now,
            );
            refunds.ledger.write(move |c| apply(c, &inc, false)).await?;
        }
        Err(RefundLookup::NotFound) if r.attempts < policy.max_attempts => {
            // The call may never have arrived: send it again, same refund id.
            metric("resent");
            still_pending = resend(refunds, &s, r, !last).await?;
        }
        Err(RefundLookup::NotFound) => {
            // Every call we may make was made and the gateway knows none of them.
            metric("not_found");
            still_pending = false;
            let outcome = RefundOutcome::Declined {
                code: "not_found".into(),
                message: "the gateway has no such refund after every attempt".into(),
            };
            if let Err(e) = gateway::record(refunds, &s, &outcome, false).await {
                tracing::warn!(error = %e, refund_id = %r.refund_id, "recording a lost refund failed");
            }
        }
        Err(e) => {
            metric("check_failed");
            tracing::info!(gateway = %r.gateway, refund_id = %r.refund_id, error = %e, "refund status check failed");
        }
    }
    finish(refunds, policy, r, now, last && still_pending).await
}

/// Sends the same refund id again and records the answer (`retry`: a call that
/// does not arrive leaves it pending). Returns whether it is still pending.
async fn resend(
    refunds: &Refunds,
    s: &Subject<'_>,
    r: &PendingRefund,
    retry: bool,
) -> Result<bool, LedgerError> {
    let (pid, rid) = (r.payment_id.clone(), r.refund_id.clone());
    refunds
        .ledger
        .write(move |c| record_resend(c, &pid, &rid))
        .await?;
    let outcome = gateway::call(refunds, s, r.reason.as_deref()).await;
    let pending = match &outcome {
        RefundOutcome::Unknown { .. } => true,
        RefundOutcome::NotSent { .. } => retry,
        RefundOutcome::Accepted(rep) => rep.status == RefundStatus::Pending,
        _ => false,
    };
    if let Err(e) = gateway::record(refunds, s, &outcome, retry).await {
        tracing::warn!(error = %e, refund_id = %r.refund_id, "recording a resent refund failed");
    }
    Ok(pending)
}

/// One check done: counted, the next scheduled, `stale` flagged and alerted.
async fn finish(
    refunds: &Refunds,
    policy: &RefundPolicy,
    r: &PendingRefund,
    now: OffsetDateTime,
    stale: bool,
) -> Result<(), LedgerError> {
    let next = now + Duration::max(policy.check_interval, Duration::from_secs(1));
    let (pid, rid) = (r.payment_id.clone(), r.refund_id.clone());
    refunds
        .ledger
        .write(move |c| record_check(c, &pid, &rid, next, stale))
        .await?;
    if stale {
        refunds
            .metrics
            .refunds
            .with_label_values(&[&r.gateway, "stale"])
            .inc();
        tracing::warn!(gateway = %r.gateway, refund_id = %r.refund_id, checks = policy.max_checks, "refund still pending after every status check");
        refunds.alerts.send(Alert {
            kind: "refund_stale",
            severity: Severity::Warning,
            gateway: Some(r.gateway.clone()),
            route: None,
            text: format!(
                "refund {} of payment {} ({} paise) is still pending at {} after {} checks",
                r.refund_id, r.payment_id, r.amount, r.gateway, policy.max_checks
            ),
            evidence: serde_json::json!({
                "refund_id": r.refund_id,
                "payment_id": r.payment_id,
                "amount": r.amount,
                "checks": policy.max_checks,
            }),
            at: now,
        });
    }
    Ok(())
}
