//! Alerts: what the health controller (and later the pipeline) tells people.
//!
//! Producers call [`Alerter::send`], which never waits: the alert goes to a bounded
//! queue drained by the delivery task (one JSON POST per `[[alert]]` webhook,
//! Slack-compatible `text` plus structured `evidence`, retried with backoff). Every
//! alert is also a tracing event at the point it is made.

pub mod deliver;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::model::Secret;

/// One `[[alert]]` webhook as compiled. The URL is a [`Secret`]: webhook URLs
/// (Slack's among them) carry their credential in the path.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSpec {
    pub name: String,
    pub url: Secret,
    pub min_severity: Severity,
    pub timeout: Duration,
}

/// Alerts queued for delivery at most; beyond that they are dropped and counted.
pub const ALERT_QUEUE: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One alert, as posted (plus the webhook's own `text` rendering).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Stable kind: `rollback`, `recovered`, `probing`, `ecosystem_outage`,
    /// `inconclusive`, `panic_mode`, `manual`, ...
    pub kind: &'static str,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// One human line (Slack's `text`).
    pub text: String,
    /// Counts, rates, statistic, threshold, baseline: whatever decided it.
    pub evidence: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The producers' handle.
#[derive(Debug, Clone)]
pub struct Alerter {
    tx: mpsc::Sender<Alert>,
    dropped: Arc<AtomicU64>,
}

impl Alerter {
    /// An alerter and the receiver the delivery task drains.
    pub fn channel(capacity: usize) -> (Alerter, mpsc::Receiver<Alert>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Alerter {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }

    /// Never waits; a full (or unconsumed) queue drops the alert and counts it.
    pub fn send(&self, alert: Alert) {
        if self.tx.try_send(alert).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Severity {
    /// Order for `min_severity` filters: info < warning < critical.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}
