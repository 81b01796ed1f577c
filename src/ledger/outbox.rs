//! The outbox: normalized events waiting for the pipeline. A row is written in the
//! same transaction as the state change that caused it (so an acknowledged callback
//! always has its event queued), and the forwarder delivers rows to the sinks.

use std::cell::Cell;

use rusqlite::{Connection, OptionalExtension, params};

use super::LedgerError;

thread_local! {
    /// Set by [`enqueue`] on the thread running the write job (the writer thread),
    /// read and cleared by the writer after its commit: the writer signals the
    /// forwarder itself, so no caller has to remember to.
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// Whether an outbox row was queued on this thread since the last call (and clears it).
pub(crate) fn take_queued() -> bool {
    QUEUED.with(|q| q.replace(false))
}

/// Queues one event. Returns `false` (and changes nothing) when an event with this
/// `event_id` is already queued: the id is the dedupe key end to end. Call it from
/// inside a [`Ledger::write`](super::Ledger::write) job.
pub fn enqueue(
    conn: &Connection,
    event_id: &str,
    payment_id: &str,
    body_json: &str,
    created_at_ms: i64,
) -> Result<bool, LedgerError> {
    let n = conn.execute(
        "INSERT INTO outbox (event_id, payment_id, body, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (event_id) DO NOTHING",
        params![event_id, payment_id, body_json, created_at_ms],
    )?;
    if n == 1 {
        QUEUED.with(|q| q.set(true));
    }
    Ok(n == 1)
}

/// The outbox sequence number of `event_id`, if queued.
pub fn seq_of(conn: &Connection, event_id: &str) -> Result<Option<i64>, LedgerError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM outbox WHERE event_id = ?1",
            [event_id],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Ledger, LedgerOptions};

    #[tokio::test]
    async fn enqueue_is_idempotent_by_event_id() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(
            &dir.path().join("l.db"),
            LedgerOptions {
                group_commit_max: 16,
                ..LedgerOptions::default()
            },
        )
        .unwrap();
        let first = ledger
            .write(|c| enqueue(c, "evt_1", "pay_1", r#"{"a":1}"#, 5))
            .await
            .unwrap();
        let again = ledger
            .write(|c| enqueue(c, "evt_1", "pay_1", r#"{"a":2}"#, 6))
            .await
            .unwrap();
        assert!(first);
        assert!(!again);
        let seq = ledger.query(|c| seq_of(c, "evt_1")).await.unwrap();
        assert_eq!(seq, Some(1));
        let bad = ledger
            .write(|c| enqueue(c, "evt_2", "pay_1", "not json", 7))
            .await;
        assert!(bad.is_err(), "the body must be JSON");
    }
}
