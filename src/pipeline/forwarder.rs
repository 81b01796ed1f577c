//! Settling one batch of outbox rows for one sink: deliver in order, retry the head
//! with backoff, bury it as a dead letter after `max_attempts`, and park every later
//! event of a buried payment (so nothing overtakes it).

use std::collections::HashSet;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::backoff::Backoff;
use super::sinks::NamedSink;
use crate::ledger::delivery::{self, OutboxRow};
use crate::ledger::{Ledger, LedgerError, millis};
use crate::metrics::Metrics;

/// Why a parked event is a dead letter.
pub const PARKED: &str = "parked";
/// Why an event that used up its attempts is a dead letter.
pub const EXHAUSTED: &str = "attempts";

pub(crate) struct Forwarder {
    pub sink: NamedSink,
    pub ledger: Ledger,
    pub metrics: Metrics,
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Failed attempts of the current head event (kept in memory: a restart gives
    /// the head a fresh set of attempts).
    pub head_attempts: u32,
}

fn now_ms() -> i64 {
    millis(OffsetDateTime::now_utc())
}

impl Forwarder {
    fn count(&self, result: &str, n: usize) {
        self.metrics
            .events_forwarded
            .with_label_values(&[&self.sink.name, result])
            .inc_by(n as u64);
    }

    async fn advance(&self, seq: i64) -> Result<(), LedgerError> {
        let sink = self.sink.name.clone();
        self.ledger
            .write(move |c| delivery::advance(c, &sink, seq, now_ms()))
            .await
    }

    async fn bury(
        &self,
        row: &OutboxRow,
        attempts: u32,
        reason: &'static str,
        error: String,
    ) -> Result<(), LedgerError> {
        let (sink, row) = (self.sink.name.clone(), row.clone());
        self.ledger
            .write(move |c| delivery::bury(c, &sink, &row, attempts, reason, &error, now_ms()))
            .await?;
        self.count("dead_lettered", 1);
        Ok(())
    }

    /// Settles `rows` (in outbox order). `Ok(false)` when `stop` fired during a
    /// backoff wait: what was delivered so far is recorded, the rest stays pending.
    pub async fn settle(
        &mut self,
        rows: &[OutboxRow],
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool, LedgerError> {
        let sink = self.sink.name.clone();
        let ids: Vec<String> = rows.iter().map(|r| r.payment_id.clone()).collect();
        let mut parked: HashSet<String> = self
            .ledger
            .query(move |c| {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                delivery::parked_payments(c, &sink, &refs)
            })
            .await?
            .into_iter()
            .collect();
        let mut i = 0;
        while i < rows.len() {
            if parked.contains(&rows[i].payment_id) {
                let why = "an earlier event of this payment is a dead letter".to_string();
                self.bury(&rows[i], 0, PARKED, why).await?;
                i += 1;
                continue;
            }
            let end = (i..rows.len())
                .find(|&k| parked.contains(&rows[k].payment_id))
                .unwrap_or(rows.len());
            let run = &rows[i..end];
            let (delivered, error) = match self.sink.sink.deliver(run).await {
                Ok(()) => (run.len(), None),
                Err(p) => (p.delivered.min(run.len()), Some(p.error)),
            };
            if delivered > 0 {
                self.advance(run[delivered - 1].seq).await?;
                self.count("delivered", delivered);
                self.head_attempts = 0;
                i += delivered;
            }
            let Some(error) = error else { continue };
            self.head_attempts += 1;
            self.count("failed", 1);
            let head = &rows[i];
            if self.head_attempts >= self.max_attempts {
                tracing::warn!(sink = %self.sink.name, event_id = %head.event_id,
                    attempts = self.head_attempts, %error, "event is a dead letter");
                self.bury(head, self.head_attempts, EXHAUSTED, error.0)
                    .await?;
                parked.insert(head.payment_id.clone());
                self.head_attempts = 0;
                i += 1;
                continue;
            }
            let wait = self.backoff.delay(self.head_attempts);
            // WARN, throttled by the retry count: the first failure of a run and then
            // attempts 2, 4, 8... (the backoff already spaces them out).
            if self.head_attempts.is_power_of_two() {
                tracing::warn!(sink = %self.sink.name, attempt = self.head_attempts,
                    retry_in_ms = wait.as_millis() as u64, %error, "sink delivery failed");
            }
            if !pause(wait, stop).await {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Sleeps `d`; `false` if `stop` fired first.
pub(crate) async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stop.wait_for(|v| *v) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::ledger::LedgerOptions;
    use crate::pipeline::sinks::{Partial, Sink};

    /// Fails every call, recording when each came (in paused, virtual time).
    struct Down(Arc<Mutex<Vec<tokio::time::Instant>>>);

    #[async_trait::async_trait]
    impl Sink for Down {
        async fn deliver(&self, _: &[OutboxRow]) -> Result<(), Partial> {
            self.0.lock().unwrap().push(tokio::time::Instant::now());
            Err(Partial::none("answered 503"))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_follow_the_jittered_exponential_schedule_then_bury() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
        ledger
            .write(|c| crate::ledger::outbox::enqueue(c, "e1", "p1", "{}", 1))
            .await
            .unwrap();
        let rows = ledger
            .query(|c| delivery::rows_after(c, 0, 10))
            .await
            .unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut fwd = Forwarder {
            sink: NamedSink {
                name: "down".into(),
                sink: Arc::new(Down(Arc::clone(&calls))),
            },
            ledger: ledger.clone(),
            metrics: Metrics::new(prometheus::Registry::new()),
            max_attempts: 6,
            backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(8),
            },
            head_attempts: 0,
        };
        let (_tx, mut stop) = watch::channel(false);
        assert!(fwd.settle(&rows, &mut stop).await.unwrap());
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 6);
        for (n, pair) in calls.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            let nominal = fwd.backoff.nominal(n as u32 + 1);
            assert!(
                gap >= nominal / 2 && gap <= nominal + Duration::from_millis(5),
                "gap {n}: {gap:?} for nominal {nominal:?}"
            );
        }
        let dead = ledger
            .query(|c| delivery::dead_letters(c, None, 0, 10))
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].attempts, dead[0].reason.as_str()), (6, EXHAUSTED));
        assert_eq!(
            ledger.query(|c| delivery::cursor(c, "down")).await.unwrap(),
            1
        );
    }
}
