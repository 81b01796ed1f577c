//! Delivery: after the plan's delay, each callback is POSTed to the callback URL,
//! freshly signed per attempt, and retried on a non-2xx answer or a connection
//! error with exponential backoff (capped) up to a last attempt.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use super::Accepted;
use super::format::{self, Callback};
use super::knobs::{KnobState, Plan};
use crate::connectors::ConnectorKind;

/// Retries of one callback: `attempts` in all, backoff doubling from `base` to `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

/// Where and how one gateway's callbacks go.
pub(crate) struct Target {
    pub kind: ConnectorKind,
    pub url: String,
    pub secret: String,
    pub client: reqwest::Client,
    pub retry: RetryPolicy,
    /// Bounds concurrent deliveries (and so sockets) under load.
    pub inflight: Semaphore,
}

/// Delivers one accepted payment's callbacks in the plan's order.
pub(crate) async fn deliver(target: Arc<Target>, state: Arc<KnobState>, a: Accepted, plan: Plan) {
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    for (phase, times) in plan.steps {
        let cb = format::build(target.kind, &a, phase, &target.secret);
        for _ in 0..times {
            send_one(&target, &state, &cb).await;
        }
    }
}

async fn attempt(t: &Target, cb: &Callback, n: u32) -> bool {
    let mut rb = t
        .client
        .post(&t.url)
        .header(
            CONTENT_TYPE,
            cb.content_type
                .unwrap_or(crate::sandbox::dialects::of(t.kind).content_type),
        )
        .body(cb.body.clone());
    for (k, v) in format::headers(t.kind, &t.secret, cb, n, OffsetDateTime::now_utc()) {
        rb = rb.header(k, v);
    }
    match rb.send().await {
        Ok(r) => {
            let ok = r.status().is_success();
            // Read the answer so the connection goes back to the pool.
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

/// Sends one callback until it is acknowledged or the attempts run out.
pub(super) async fn send_one(t: &Target, state: &KnobState, cb: &Callback) -> bool {
    state.sent.fetch_add(1, Ordering::Relaxed);
    let mut backoff = t.retry.base;
    let attempts = t.retry.attempts.max(1);
    for n in 1..=attempts {
        let ok = match t.inflight.acquire().await {
            Ok(_permit) => attempt(t, cb, n).await,
            Err(_) => false,
        };
        if ok {
            state.acked.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if n == attempts {
            break;
        }
        state.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(t.retry.cap);
    }
    state.failed.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(url = %t.url, event_id = %cb.event_id, attempts, "sandbox callback not acknowledged");
    false
}
