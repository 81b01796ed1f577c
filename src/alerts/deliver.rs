//! Webhook delivery: drains the alert queue and POSTs each alert to every
//! `[[alert]]` webhook whose `min_severity` it meets.
//!
//! One worker per webhook with its own bounded queue, so a slow or dead webhook
//! delays only itself and a full queue drops (and counts) rather than blocking.
//! Each POST is retried with exponential backoff and jitter; the outcome is counted
//! as `alerts_sent_total{alert,result}` (`ok`, `failed` after the last attempt,
//! `dropped` when the webhook's queue is full). The webhook list is read from the
//! config in force for every alert, so a reload changes it. The body is
//! Slack-compatible (`text`) with the structured alert beside it (`evidence`, ...).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{Alert, AlertSpec};
use crate::metrics::Metrics;

/// The `[[alert]]` webhooks in force, asked again for every alert (a reload changes them).
pub type Webhooks = std::sync::Arc<dyn Fn() -> Vec<AlertSpec> + Send + Sync>;

/// How deliveries are retried and queued.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// POSTs per alert, first included.
    pub attempts: u32,
    /// Delay before the first retry; doubles per retry.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub cap: Duration,
    /// Alerts waiting per webhook at most.
    pub queue: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            queue: 256,
        }
    }
}

/// Delay before attempt `attempt` (1 = the first retry): `base·2^(attempt-1)` capped,
/// then scaled by `0.5 + jitter/2` for `jitter` in `[0, 1)` ("equal jitter": never
/// less than half the step, so retries spread without collapsing to zero).
pub fn backoff(attempt: u32, policy: &RetryPolicy, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let step = policy.base.saturating_mul(1u32 << exp).min(policy.cap);
    step.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// The JSON body posted: Slack's `text` plus the structured alert.
pub fn payload(alert: &Alert) -> serde_json::Value {
    let mut v = serde_json::to_value(alert).unwrap_or_else(|_| serde_json::json!({}));
    v["text"] = serde_json::json!(format!("[{}] {}", alert.severity.as_str(), alert.text));
    v["service"] = serde_json::json!("switchyard");
    v
}

/// Starts delivery of the alerts arriving on `rx` (the queue's receiving end, from
/// whoever made the [`super::Alerter`]) until `stop` turns true.
pub fn spawn(
    rx: mpsc::Receiver<Alert>,
    webhooks: Webhooks,
    metrics: Metrics,
    stop: watch::Receiver<bool>,
    policy: RetryPolicy,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(dispatch(webhooks, metrics, rx, stop, policy))
}

async fn dispatch(
    webhooks: Webhooks,
    metrics: Metrics,
    mut rx: mpsc::Receiver<Alert>,
    mut stop: watch::Receiver<bool>,
    policy: RetryPolicy,
) {
    let client = reqwest::Client::new();
    let mut workers: HashMap<String, (AlertSpec, mpsc::Sender<Alert>)> = HashMap::new();
    loop {
        let alert = tokio::select! {
            a = rx.recv() => match a { Some(a) => a, None => break },
            _ = stop.wait_for(|v| *v) => break,
        };
        metrics
            .alerts_raised
            .with_label_values(&[alert.kind, alert.severity.as_str()])
            .inc();
        let specs = webhooks();
        // A webhook removed or changed by a reload: its worker ends once drained.
        workers.retain(|_, (spec, _)| specs.contains(spec));
        for spec in &specs {
            if alert.severity.rank() < spec.min_severity.rank() {
                continue;
            }
            let (_, tx) = workers.entry(spec.name.clone()).or_insert_with(|| {
                let (tx, wrx) = mpsc::channel(policy.queue.max(1));
                let w = Worker {
                    spec: spec.clone(),
                    client: client.clone(),
                    metrics: metrics.clone(),
                    policy,
                };
                tokio::spawn(w.run(wrx));
                (spec.clone(), tx)
            });
            if tx.try_send(alert.clone()).is_err() {
                tracing::warn!(alert = %spec.name, kind = alert.kind, "alert queue full; alert dropped");
                count(&metrics, &spec.name, "dropped");
            }
        }
    }
}

fn count(metrics: &Metrics, name: &str, result: &str) {
    metrics.alerts_sent.with_label_values(&[name, result]).inc();
}

struct Worker {
    spec: AlertSpec,
    client: reqwest::Client,
    metrics: Metrics,
    policy: RetryPolicy,
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Alert>) {
        while let Some(alert) = rx.recv().await {
            let ok = self.deliver(&alert).await;
            count(
                &self.metrics,
                &self.spec.name,
                if ok { "ok" } else { "failed" },
            );
        }
    }

    /// True once a POST is answered 2xx (see [`with_retries`] for the rest).
    async fn deliver(&self, alert: &Alert) -> bool {
        let body = payload(alert);
        let name = &self.spec.name;
        with_retries(&self.policy, |attempt| {
            let sent = self
                .client
                .post(self.spec.url.expose())
                .timeout(self.spec.timeout)
                .json(&body)
                .send();
            async move {
                match sent.await {
                    Ok(r) if r.status().is_success() => Attempt::Delivered,
                    Ok(r) => {
                        let s = r.status().as_u16();
                        tracing::warn!(alert = %name, attempt, status = s, "alert webhook refused");
                        if (400..500).contains(&s) && s != 408 && s != 429 {
                            Attempt::GiveUp
                        } else {
                            Attempt::Retry
                        }
                    }
                    // The URL is a credential: never log it.
                    Err(e) => {
                        tracing::warn!(alert = %name, attempt, error = %e.without_url(), "alert webhook failed");
                        Attempt::Retry
                    }
                }
            }
        })
        .await
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    Delivered,
    /// A timeout, a connection error, a 5xx, 408 or 429: worth another try.
    Retry,
    /// An answer a retry cannot fix (any other 4xx).
    GiveUp,
}

/// Runs `attempt(0)`, `attempt(1)`, ... with [`backoff`] before each retry, up to
/// `policy.attempts`; true when one is delivered.
pub(crate) async fn with_retries<F, Fut>(policy: &RetryPolicy, mut attempt: F) -> bool
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Attempt>,
{
    for n in 0..policy.attempts.max(1) {
        if n > 0 {
            let jitter: f64 = rand::random();
            tokio::time::sleep(backoff(n, policy, jitter)).await;
        }
        match attempt(n).await {
            Attempt::Delivered => return true,
            Attempt::GiveUp => return false,
            Attempt::Retry => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Severity;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_half() {
        let p = RetryPolicy {
            attempts: 10,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            queue: 1,
        };
        assert_eq!(backoff(1, &p, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(1, &p, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(3, &p, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(9, &p, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(40, &p, 0.0), Duration::from_secs(4));
    }

    /// Paused time: the retries wait exactly the backoff schedule, jitter within
    /// [half, whole] of each step, and stop at the first delivery.
    #[tokio::test(start_paused = true)]
    async fn retries_follow_the_backoff_schedule_until_delivered() {
        let p = RetryPolicy {
            attempts: 6,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3),
            queue: 1,
        };
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        let ok = with_retries(&p, |n| {
            at.push(start.elapsed());
            async move {
                if n < 4 {
                    Attempt::Retry
                } else {
                    Attempt::Delivered
                }
            }
        })
        .await;
        assert!(ok);
        assert_eq!(at.len(), 5);
        assert_eq!(at[0], Duration::ZERO);
        // Steps 1 s, 2 s, 3 s (capped), 3 s.
        for (i, step) in [1u64, 2, 3, 3].into_iter().enumerate() {
            let gap = at[i + 1] - at[i];
            let step = Duration::from_secs(step);
            assert!(
                gap >= step / 2 && gap <= step,
                "gap {i}: {gap:?} for step {step:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_once_on_a_client_error_and_after_the_last_attempt() {
        let p = RetryPolicy::default();
        let mut calls = 0;
        assert!(
            !with_retries(&p, |_| {
                calls += 1;
                async { Attempt::GiveUp }
            })
            .await
        );
        assert_eq!(calls, 1);
        let mut calls = 0;
        assert!(
            !with_retries(&p, |_| {
                calls += 1;
                async { Attempt::Retry }
            })
            .await
        );
        assert_eq!(calls, p.attempts);
    }

    #[test]
    fn payload_is_slack_text_plus_evidence() {
        let a = Alert {
            kind: "rollback",
            severity: Severity::Critical,
            gateway: Some("razorpay".into()),
            route: None,
            text: "razorpay rolled back".into(),
            evidence: serde_json::json!({"ratio": 0.8}),
            at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let v = payload(&a);
        assert_eq!(v["text"], "[critical] razorpay rolled back");
        assert_eq!(v["evidence"]["ratio"], 0.8);
        assert_eq!(v["kind"], "rollback");
        assert_eq!(v["gateway"], "razorpay");
        assert!(v.get("route").is_none());
    }
}
