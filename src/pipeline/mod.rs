//! The pipeline: delivers every outbox row (a normalized `PaymentEvent`, written by
//! the callbacks side in the same transaction as its state change) to each
//! configured sink, independently per sink.
//!
//! - [`sinks`]: `file`, `http`, `redis`, `nats`, behind one [`sinks::Sink`] trait.
//! - `worker`: one task per sink: read after the sink's cursor, settle, wait.
//! - `forwarder`: one batch: in-order delivery, backoff, dead letters, parking.
//! - `backoff`: exponential with jitter.
//! - [`replay`]: re-drive dead letters or everything since a time (`switchyard replay`).
//!
//! Guarantees (docs/PIPELINE.md): at least once per sink, in outbox order (hence in
//! order per payment), each event carrying its stable `event_id` for dedupe.

mod backoff;
mod forwarder;
pub mod replay;
pub mod sinks;
mod spec;
mod worker;

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use backoff::Backoff;
pub use forwarder::{EXHAUSTED, PARKED};
pub use spec::{PipelineConfig, SinkKind, SinkSpec, default_sink};

use crate::ledger::{Ledger, delivery, millis};
use crate::metrics::Metrics;

/// The running pipeline's tasks.
pub struct Pipeline {
    tasks: Vec<JoinHandle<()>>,
}

impl Pipeline {
    /// Waits for every task to stop (they stop when the `stop` flag given to
    /// [`spawn`] turns true, after finishing the delivery in flight).
    pub async fn join(self) {
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "pipeline task failed");
            }
        }
    }
}

/// Starts one worker per configured sink, the wake-up fan-out and the backlog
/// gauges. Called once from `Server::run`. The ledger's outbox signal wakes the
/// workers after every commit that queued rows.
pub fn spawn(
    cfg: &PipelineConfig,
    ledger: &Ledger,
    metrics: &Metrics,
    stop: watch::Receiver<bool>,
) -> Pipeline {
    let mut tasks = Vec::new();
    let mut wakes = Vec::new();
    let mut names = Vec::new();
    for spec in &cfg.sinks {
        let sink = match sinks::build(spec) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(sink = %spec.name, error = %e, "cannot build sink; it gets no events");
                continue;
            }
        };
        tracing::info!(sink = %spec.name, kind = spec.kind.as_str(), "sink started");
        let wake = Arc::new(Notify::new());
        wakes.push(Arc::clone(&wake));
        names.push(spec.name.clone());
        let fwd = forwarder::Forwarder {
            sink,
            ledger: ledger.clone(),
            metrics: metrics.clone(),
            max_attempts: cfg.max_attempts,
            backoff: Backoff {
                initial: cfg.backoff_initial,
                max: cfg.backoff_max,
            },
            head_attempts: 0,
        };
        tasks.push(tokio::spawn(worker::run(
            fwd,
            cfg.batch,
            cfg.poll,
            wake,
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(fan_out(
        ledger.outbox_signal(),
        wakes,
        stop.clone(),
    )));
    tasks.push(tokio::spawn(gauges(
        ledger.clone(),
        metrics.clone(),
        names,
        cfg.poll,
        stop,
    )));
    Pipeline { tasks }
}

/// One outbox signal wakes every sink (a `Notify` wakes only one waiter).
async fn fan_out(source: Arc<Notify>, wakes: Vec<Arc<Notify>>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = source.notified() => wakes.iter().for_each(|w| w.notify_one()),
            _ = stop.wait_for(|v| *v) => return,
        }
    }
}

/// `outbox_pending`, `outbox_oldest_age_seconds` and `dead_letters`, refreshed every
/// poll interval.
async fn gauges(
    ledger: Ledger,
    metrics: Metrics,
    sinks: Vec<String>,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let names = sinks.clone();
        match ledger.query(move |c| delivery::backlog(c, &names)).await {
            Ok(b) => {
                metrics.outbox_pending.set(b.pending);
                let now = millis(OffsetDateTime::now_utc());
                let age = b
                    .oldest_ms
                    .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
                metrics.outbox_oldest_age_seconds.set(age);
                metrics.dead_letters.set(b.dead_letters);
            }
            Err(e) => tracing::warn!(error = %e, "reading the outbox backlog failed"),
        }
        if !forwarder::pause(every, &mut stop).await {
            return;
        }
    }
}

/// One line per sink saying where its events land (the demo prints them).
pub fn where_events_go(cfg: &PipelineConfig) -> Vec<String> {
    cfg.sinks
        .iter()
        .map(|s| match &s.kind {
            SinkKind::File { path } => {
                let n = std::fs::read_to_string(path).map_or(0, |t| t.lines().count());
                format!(
                    "pipeline events (sink {}): {n} in {} (one JSON event per line)",
                    s.name,
                    path.display()
                )
            }
            SinkKind::Http { .. } => {
                format!("pipeline events (sink {}): POSTed to its url", s.name)
            }
            SinkKind::Redis { stream, .. } => {
                format!("pipeline events (sink {}): Redis stream {stream}", s.name)
            }
            SinkKind::Nats {
                subject, stream, ..
            } => format!(
                "pipeline events (sink {}): NATS subject {subject} (stream {stream})",
                s.name
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::model::{PaymentStatus, Reason};

    /// docs/payment_event.schema.json stays true to the model's vocabularies.
    #[test]
    fn json_schema_matches_the_model() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/payment_event.schema.json")).unwrap();
        let props = &schema["properties"];
        for r in schema["required"].as_array().unwrap() {
            assert!(
                props.get(r.as_str().unwrap()).is_some(),
                "required {r} has no property"
            );
        }
        for key in ["refund", "stale"] {
            let required = schema["required"].as_array().unwrap();
            assert!(!required.iter().any(|r| r == key), "{key} must be optional");
        }
        let names = |v: &serde_json::Value| -> Vec<String> {
            v["enum"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        };
        let statuses: Vec<String> = PaymentStatus::ALL
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        let mut got = names(&props["status"]);
        let mut want = statuses.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        let reasons: Vec<String> = Reason::ALL.iter().map(|r| r.as_str().to_string()).collect();
        assert_eq!(names(&props["reason"]), reasons);
        assert_eq!(props["stale"]["type"], "boolean");
        for flag in [
            "late_success",
            "conflict",
            "orphan",
            "refund_required",
            "tpv_failed",
            "amount_mismatch",
            "duplicate_payment",
        ] {
            assert_eq!(
                props["flags"]["properties"][flag]["type"], "boolean",
                "{flag}"
            );
        }
        assert_eq!(props["refund"]["type"][0], "object");
    }
}
