//! Re-driving events through the same sinks: the dead letters (which are removed as
//! they are delivered), or every outbox event created since a time (a consumer that
//! lost data asks for it again; it deduplicates by `event_id`). Used by
//! `switchyard replay`, which may run while the server runs: the ledger serializes
//! their writes, and a payment's events parked meanwhile are picked up by the loop.

use time::OffsetDateTime;

use super::sinks::NamedSink;
use crate::ledger::delivery::{self, OutboxRow};
use crate::ledger::{Ledger, LedgerError};

/// Rows re-sent per sink call.
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("sink {sink}: {error} ({delivered} delivered before it)")]
    Sink {
        sink: String,
        delivered: u64,
        error: String,
    },
}

/// What a replay did, per sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub sink: String,
    pub delivered: u64,
}

/// Delivers every dead letter of each sink in `sinks` (outbox order) and removes it.
/// Stops at a sink's first failure and reports it (the rest stay dead letters).
pub async fn dead_letters(
    ledger: &Ledger,
    sinks: &[NamedSink],
    mut progress: impl FnMut(&Progress),
) -> Result<Vec<Progress>, ReplayError> {
    let mut out = Vec::new();
    for s in sinks {
        let mut p = Progress {
            sink: s.name.clone(),
            delivered: 0,
        };
        loop {
            let name = s.name.clone();
            let page = ledger
                .query(move |c| delivery::dead_letters(c, Some(&name), 0, PAGE))
                .await?;
            if page.is_empty() {
                break;
            }
            let rows: Vec<OutboxRow> = page
                .iter()
                .map(|d| OutboxRow {
                    seq: d.seq,
                    event_id: d.event_id.clone(),
                    payment_id: d.payment_id.clone(),
                    body: d.event.get().to_string(),
                    created_at_ms: 0,
                })
                .collect();
            let (n, failure) = match s.sink.deliver(&rows).await {
                Ok(()) => (rows.len(), None),
                Err(partial) => (partial.delivered.min(rows.len()), Some(partial.error)),
            };
            let (name, seqs) = (
                s.name.clone(),
                rows[..n].iter().map(|r| r.seq).collect::<Vec<_>>(),
            );
            ledger
                .write(move |c| {
                    for seq in seqs {
                        delivery::resolve(c, &name, seq)?;
                    }
                    Ok(())
                })
                .await?;
            p.delivered += n as u64;
            progress(&p);
            if let Some(error) = failure {
                return Err(ReplayError::Sink {
                    sink: s.name.clone(),
                    delivered: p.delivered,
                    error: error.0,
                });
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// Re-sends every outbox event created at or after `since` to each sink in `sinks`,
/// in outbox order. Cursors and dead letters are left as they are.
pub async fn since(
    ledger: &Ledger,
    sinks: &[NamedSink],
    since: OffsetDateTime,
    mut progress: impl FnMut(&Progress),
) -> Result<Vec<Progress>, ReplayError> {
    let since_ms = crate::ledger::millis(since);
    let mut out = Vec::new();
    for s in sinks {
        let mut p = Progress {
            sink: s.name.clone(),
            delivered: 0,
        };
        let mut after = 0;
        loop {
            let page = ledger
                .query(move |c| delivery::rows_since(c, since_ms, after, PAGE))
                .await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            if let Err(partial) = s.sink.deliver(&page).await {
                p.delivered += partial.delivered as u64;
                return Err(ReplayError::Sink {
                    sink: s.name.clone(),
                    delivered: p.delivered,
                    error: partial.error.0,
                });
            }
            p.delivered += page.len() as u64;
            progress(&p);
        }
        out.push(p);
    }
    Ok(out)
}
