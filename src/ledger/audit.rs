//! The audit trail of gateway state transitions, automatic and manual (table
//! `audit`, migration 2: append-only, enforced by triggers).

use rusqlite::{Connection, params};
use serde::Serialize;

use super::LedgerError;

/// One audited transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    /// Unix milliseconds.
    pub at: i64,
    pub gateway: String,
    pub from_state: String,
    pub to_state: String,
    pub trigger: String,
    /// `auto` or the admin actor.
    pub actor: String,
    pub reason: Option<String>,
    /// JSON evidence.
    pub evidence: String,
}

/// Appends one row. Call it from inside a [`Ledger::write`](super::Ledger::write) job.
pub fn insert(conn: &Connection, r: &AuditRow) -> Result<i64, LedgerError> {
    conn.execute(
        "INSERT INTO audit (at, gateway, from_state, to_state, trigger, actor, reason, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, json(?8))",
        params![
            r.at,
            r.gateway,
            r.from_state,
            r.to_state,
            r.trigger,
            r.actor,
            r.reason,
            r.evidence
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The newest `limit` rows, newest first (optionally for one gateway).
pub fn recent(
    conn: &Connection,
    gateway: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditRow>, LedgerError> {
    let mut stmt = conn.prepare(
        "SELECT at, gateway, from_state, to_state, trigger, actor, reason, evidence FROM audit
         WHERE ?1 IS NULL OR gateway = ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![gateway, limit], |r| {
        Ok(AuditRow {
            at: r.get(0)?,
            gateway: r.get(1)?,
            from_state: r.get(2)?,
            to_state: r.get(3)?,
            trigger: r.get(4)?,
            actor: r.get(5)?,
            reason: r.get(6)?,
            evidence: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Ledger, LedgerOptions};

    #[tokio::test]
    async fn rows_append_and_read_back_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(
            &dir.path().join("l.db"),
            LedgerOptions {
                group_commit_max: 16,
                ..LedgerOptions::default()
            },
        )
        .unwrap();
        for (i, to) in ["ejected", "probing"].iter().enumerate() {
            let row = AuditRow {
                at: i as i64,
                gateway: "rzp".into(),
                from_state: "healthy".into(),
                to_state: to.to_string(),
                trigger: "hard_down".into(),
                actor: "auto".into(),
                reason: None,
                evidence: r#"{"n":1}"#.into(),
            };
            ledger.write(move |c| insert(c, &row)).await.unwrap();
        }
        let rows = ledger.query(|c| recent(c, Some("rzp"), 10)).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].to_state, "probing");
    }
}
