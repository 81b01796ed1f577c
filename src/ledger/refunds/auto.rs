//! The automatic-refund cursor: `refund_required` events in the outbox, in order,
//! each looked at once (table `auto_refunds`, keyed by event id; the cursor is the
//! outbox sequence in `meta`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::ledger::{LedgerError, millis};

const CURSOR_KEY: &str = "refunds.auto.outbox_seq";

/// A `refund_required` event waiting for the automatic policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    pub seq: i64,
    pub event_id: String,
    pub payment_id: String,
    /// The PaymentEvent JSON.
    pub body: serde_json::Value,
}

pub fn cursor(conn: &Connection) -> Result<i64, LedgerError> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([CURSOR_KEY], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
}

pub fn advance(conn: &Connection, seq: i64) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![CURSOR_KEY, seq.to_string()])?;
    Ok(())
}

/// Up to `limit` flagged events after `after`, and the highest outbox seq looked at
/// (so the cursor moves past unflagged rows too).
pub fn flagged_after(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<(Vec<Flagged>, i64), LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, event_id, payment_id, body,
                COALESCE(json_extract(body, '$.flags.refund_required'), 0)
         FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![after, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let last = rows.last().map_or(after, |r| r.0);
    let mut out = Vec::new();
    for (seq, event_id, payment_id, body, flagged) in rows {
        if flagged == 0 {
            continue;
        }
        let body = serde_json::from_str(&body)
            .map_err(|e| LedgerError::Corrupt(format!("outbox {seq}: {e}")))?;
        out.push(Flagged {
            seq,
            event_id,
            payment_id,
            body,
        });
    }
    Ok((out, last))
}

/// Whether this event was already decided.
pub fn seen(conn: &Connection, event_id: &str) -> Result<bool, LedgerError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM auto_refunds WHERE event_id = ?1")?
        .query_row([event_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records the policy's decision for one event.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &Connection,
    event_id: &str,
    payment_id: &str,
    reason: &str,
    decision: &str,
    refund_id: Option<&str>,
    amount: Option<i64>,
    at: time::OffsetDateTime,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO auto_refunds (event_id, payment_id, reason, decision, refund_id,
             amount_paise, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
    )?
    .execute(params![
        event_id,
        payment_id,
        reason,
        decision,
        refund_id,
        amount,
        millis(at)
    ])?;
    Ok(())
}

/// One decided event, for the admin view and tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub event_id: String,
    pub payment_id: String,
    pub reason: String,
    pub decision: String,
    pub refund_id: Option<String>,
    pub amount: Option<i64>,
}

pub fn decisions(conn: &Connection, limit: u32) -> Result<Vec<Decision>, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, payment_id, reason, decision, refund_id, amount_paise
         FROM auto_refunds ORDER BY at DESC, event_id LIMIT ?1",
    )?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok(Decision {
                event_id: r.get(0)?,
                payment_id: r.get(1)?,
                reason: r.get(2)?,
                decision: r.get(3)?,
                refund_id: r.get(4)?,
                amount: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
