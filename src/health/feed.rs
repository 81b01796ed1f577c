//! The outcome feed: every initiation attempt and every final payment outcome goes
//! to the one health task through a bounded channel. Senders use `try_send`, so a
//! request never waits on health accounting; when the channel is full the
//! observation is dropped and counted (`health_feed_dropped_total`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::connectors::Outcome;
use crate::model::Method;

/// Capacity of the feed: about two seconds of a sale-day peak.
pub const FEED_CAPACITY: usize = 16_384;

/// How an initiation attempt ended, as health counts it. Technical failures feed
/// availability; business declines do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClass {
    /// The gateway accepted the payment (201 from us).
    Created,
    /// A business decline (insufficient funds, invalid VPA, ...).
    Declined,
    /// The request never reached the gateway (refused, DNS, TLS, pool timeout).
    NotSent,
    /// A 5xx (or a configured gateway error code) from the gateway.
    Error5xx,
    /// Timed out or reset after the request was written.
    Timeout,
}

impl From<&Outcome> for AttemptClass {
    /// How the health task counts a classified initiation attempt.
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Created(_) => AttemptClass::Created,
            Outcome::Declined { .. } => AttemptClass::Declined,
            Outcome::NotSent { .. } => AttemptClass::NotSent,
            Outcome::Error5xx { .. } => AttemptClass::Error5xx,
            Outcome::SentUnknown { .. } => AttemptClass::Timeout,
        }
    }
}

impl AttemptClass {
    /// Technical failures count against availability.
    pub fn is_technical_failure(self) -> bool {
        matches!(
            self,
            AttemptClass::NotSent | AttemptClass::Error5xx | AttemptClass::Timeout
        )
    }
}

/// One thing the health task learns.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// An initiation attempt against `gateway` on `route`.
    Attempt {
        gateway: Arc<str>,
        route: Arc<str>,
        method: Method,
        class: AttemptClass,
        latency: Duration,
    },
    /// A payment reached a final state (from a callback or a status check):
    /// `succeeded == true` for success, false for failed/expired. Pending, deemed
    /// and unknown are not final and are not sent.
    Final {
        gateway: Arc<str>,
        method: Method,
        succeeded: bool,
    },
}

/// The sending half, cloned into every handler.
#[derive(Debug, Clone)]
pub struct HealthFeed {
    tx: mpsc::Sender<Observation>,
    dropped: Arc<AtomicU64>,
}

impl HealthFeed {
    /// A feed and the receiver the health task consumes.
    pub fn channel(capacity: usize) -> (HealthFeed, mpsc::Receiver<Observation>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            HealthFeed {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }

    /// Never waits: a full or closed channel drops the observation and counts it.
    pub fn send(&self, obs: Observation) {
        if self.tx.try_send(obs).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Observations dropped because the health task was behind (or gone).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_channel_drops_and_counts_without_waiting() {
        let (feed, mut rx) = HealthFeed::channel(1);
        let obs = Observation::Final {
            gateway: "a".into(),
            method: Method::UpiCollect,
            succeeded: true,
        };
        feed.send(obs.clone());
        feed.send(obs.clone());
        assert_eq!(feed.dropped(), 1);
        assert_eq!(rx.try_recv().ok(), Some(obs));
    }
}
