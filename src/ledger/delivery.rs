//! Delivery bookkeeping of the pipeline (the forwarder in `crate::pipeline`): how far
//! each sink has got through the outbox, and the events it gave up on (dead letters).
//!
//! A sink's cursor is the outbox `seq` up to which every row is settled for it:
//! delivered, or moved to `dead_letters`. Rows above the cursor are pending.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::LedgerError;

/// Migration: `sink_cursor`, `dead_letters` and an index for age queries on the outbox.
pub(crate) const MIGRATION: &str = r#"
-- Per sink: every outbox row with seq <= delivered_seq is settled for that sink.
CREATE TABLE sink_cursor (
    sink          TEXT    PRIMARY KEY NOT NULL,
    delivered_seq INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Events a sink gave up on after its attempt limit (reason `attempts`), or parked
-- behind such an event of the same payment (reason `parked`) so that no later event
-- of a payment overtakes an earlier one. Removed when a replay delivers them.
CREATE TABLE dead_letters (
    sink       TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    event_id   TEXT    NOT NULL,
    payment_id TEXT    NOT NULL,
    attempts   INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    last_error TEXT    NOT NULL,
    dead_at    INTEGER NOT NULL,
    PRIMARY KEY (sink, seq)
) STRICT;
CREATE INDEX dead_letters_by_payment ON dead_letters (sink, payment_id);
CREATE INDEX outbox_by_created ON outbox (created_at, seq);
"#;

/// One outbox row as the sinks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: String,
    pub payment_id: String,
    /// The event JSON, sent as is.
    pub body: String,
    pub created_at_ms: i64,
}

/// One dead letter, with its event.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub sink: String,
    pub seq: i64,
    pub event_id: String,
    pub payment_id: String,
    pub attempts: i64,
    /// `attempts` (the limit was reached) or `parked` (behind an earlier dead letter).
    pub reason: String,
    pub last_error: String,
    pub dead_at_ms: i64,
    /// The event JSON.
    pub event: Box<serde_json::value::RawValue>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        seq: r.get(0)?,
        event_id: r.get(1)?,
        payment_id: r.get(2)?,
        body: r.get(3)?,
        created_at_ms: r.get(4)?,
    })
}

/// The sink's cursor (0 when it has none yet).
pub fn cursor(conn: &Connection, sink: &str) -> Result<i64, LedgerError> {
    Ok(conn
        .query_row(
            "SELECT delivered_seq FROM sink_cursor WHERE sink = ?1",
            [sink],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Moves the sink's cursor forward to `seq` (never back).
pub fn advance(conn: &Connection, sink: &str, seq: i64, now_ms: i64) -> Result<(), LedgerError> {
    conn.execute(
        "INSERT INTO sink_cursor (sink, delivered_seq, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (sink) DO UPDATE SET
           delivered_seq = max(delivered_seq, excluded.delivered_seq),
           updated_at = excluded.updated_at",
        params![sink, seq, now_ms],
    )?;
    Ok(())
}

/// Up to `limit` outbox rows after `after`, in order.
pub fn rows_after(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>, LedgerError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, event_id, payment_id, body, created_at FROM outbox
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = st.query_map(params![after, limit as i64], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` outbox rows created at or after `since_ms` with `seq > after`, in order.
pub fn rows_since(
    conn: &Connection,
    since_ms: i64,
    after: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>, LedgerError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, event_id, payment_id, body, created_at FROM outbox
         WHERE created_at >= ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = st.query_map(params![since_ms, after, limit as i64], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which of `payment_ids` have a dead letter for `sink` (their later events park).
pub fn parked_payments(
    conn: &Connection,
    sink: &str,
    payment_ids: &[&str],
) -> Result<Vec<String>, LedgerError> {
    let mut st = conn
        .prepare_cached("SELECT 1 FROM dead_letters WHERE sink = ?1 AND payment_id = ?2 LIMIT 1")?;
    let mut out = Vec::new();
    for p in payment_ids {
        if st.exists(params![sink, p])? {
            out.push((*p).to_string());
        }
    }
    Ok(out)
}

/// Records `row` as a dead letter of `sink` and moves the cursor past it.
pub fn bury(
    conn: &Connection,
    sink: &str,
    row: &OutboxRow,
    attempts: u32,
    reason: &str,
    last_error: &str,
    now_ms: i64,
) -> Result<(), LedgerError> {
    conn.execute(
        "INSERT INTO dead_letters (sink, seq, event_id, payment_id, attempts, reason, last_error, dead_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (sink, seq) DO NOTHING",
        params![sink, row.seq, row.event_id, row.payment_id, attempts, reason, last_error, now_ms],
    )?;
    advance(conn, sink, row.seq, now_ms)
}

/// Dead letters in outbox order: `sink` filters, `after` pages by `seq`.
pub fn dead_letters(
    conn: &Connection,
    sink: Option<&str>,
    after: i64,
    limit: usize,
) -> Result<Vec<DeadLetter>, LedgerError> {
    let mut st = conn.prepare_cached(
        "SELECT d.sink, d.seq, d.event_id, d.payment_id, d.attempts, d.reason, d.last_error,
                d.dead_at, o.body
         FROM dead_letters d JOIN outbox o ON o.seq = d.seq
         WHERE (?1 IS NULL OR d.sink = ?1) AND d.seq > ?2
         ORDER BY d.seq, d.sink LIMIT ?3",
    )?;
    let rows = st.query_map(params![sink, after, limit as i64], |r| {
        let body: String = r.get(8)?;
        let event = serde_json::value::RawValue::from_string(body).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, Box::new(e))
        })?;
        Ok(DeadLetter {
            sink: r.get(0)?,
            seq: r.get(1)?,
            event_id: r.get(2)?,
            payment_id: r.get(3)?,
            attempts: r.get(4)?,
            reason: r.get(5)?,
            last_error: r.get(6)?,
            dead_at_ms: r.get(7)?,
            event,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes a dead letter once a replay delivered it. Returns whether it existed.
pub fn resolve(conn: &Connection, sink: &str, seq: i64) -> Result<bool, LedgerError> {
    Ok(conn.execute(
        "DELETE FROM dead_letters WHERE sink = ?1 AND seq = ?2",
        params![sink, seq],
    )? == 1)
}

/// Backlog figures for the gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Outbox rows not yet settled by at least one of the sinks.
    pub pending: i64,
    /// `created_at` of the oldest such row.
    pub oldest_ms: Option<i64>,
    pub dead_letters: i64,
}

/// The backlog over `sinks` (a sink without a cursor counts from the start).
pub fn backlog(conn: &Connection, sinks: &[String]) -> Result<Backlog, LedgerError> {
    let mut low = i64::MAX;
    for s in sinks {
        low = low.min(cursor(conn, s)?);
    }
    if sinks.is_empty() {
        low = conn.query_row("SELECT coalesce(max(seq), 0) FROM outbox", [], |r| r.get(0))?;
    }
    let (pending, oldest_ms) = conn.query_row(
        "SELECT count(*), min(created_at) FROM outbox WHERE seq > ?1",
        [low],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let dead_letters = conn.query_row("SELECT count(*) FROM dead_letters", [], |r| r.get(0))?;
    Ok(Backlog {
        pending,
        oldest_ms,
        dead_letters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::outbox::enqueue;
    use crate::ledger::{Ledger, LedgerOptions};

    #[tokio::test]
    async fn cursors_only_move_forward_and_the_backlog_follows_the_slowest_sink() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
        let b = ledger
            .write(|c| {
                for i in 1..=4 {
                    enqueue(c, &format!("e{i}"), "p", "{}", i * 1000)?;
                }
                advance(c, "fast", 3, 0)?;
                advance(c, "fast", 1, 0)?;
                advance(c, "slow", 1, 0)?;
                let rows = rows_after(c, 1, 10)?;
                bury(c, "slow", &rows[0], 30, "attempts", "answered 503", 9)?;
                Ok((
                    cursor(c, "fast")?,
                    cursor(c, "slow")?,
                    cursor(c, "new")?,
                    backlog(c, &["fast".into(), "slow".into()])?,
                    parked_payments(c, "slow", &["p", "q"])?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((b.0, b.1, b.2), (3, 2, 0));
        assert_eq!(
            b.3,
            Backlog {
                pending: 2,
                oldest_ms: Some(3000),
                dead_letters: 1
            }
        );
        assert_eq!(b.4, vec!["p".to_string()]);
        let dead = ledger
            .query(|c| dead_letters(c, Some("slow"), 0, 10))
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].seq, dead[0].event.get()), (2, "{}"));
        let gone = ledger.write(|c| resolve(c, "slow", 2)).await.unwrap();
        assert!(gone);
    }
}
