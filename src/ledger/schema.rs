//! Schema and versioned migrations.
//!
//! The schema version lives in `PRAGMA user_version`. [`MIGRATIONS`] is append-only:
//! entry `i` takes the database from version `i` to `i + 1`. Never edit a migration
//! that has shipped; add a new one. A database whose version is newer than this
//! binary knows is refused ([`LedgerError::SchemaTooNew`]) rather than written to.
//!
//! Conventions:
//! - **Time** is stored as `INTEGER` unix milliseconds, UTC (sortable, exact, no
//!   time-zone parsing). Sub-millisecond precision is dropped on write.
//! - **Money** is `INTEGER` paise. Never a float.
//! - Enumerations (status, reason, method, currency) are stored as their snake_case /
//!   ISO text (`as_str()`), so the file is readable with the `sqlite3` shell.
//! - `events` is append-only: triggers abort any `UPDATE` or `DELETE`.

use rusqlite::Connection;

use super::LedgerError;

/// Migration `i` moves the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: payments, attempts, append-only events, idempotency keys, meta.
    r#"
CREATE TABLE payments (
    payment_id         TEXT    PRIMARY KEY NOT NULL,
    order_id           TEXT    NOT NULL,
    merchant_txn_id    TEXT    NOT NULL,
    idempotency_key    TEXT    NOT NULL,
    request_hash       TEXT    NOT NULL,
    gateway            TEXT    NOT NULL,
    gateway_payment_id TEXT,
    utr                TEXT,
    rrn                TEXT,
    status             TEXT    NOT NULL,
    reason             TEXT,
    raw_status         TEXT,
    amount_paise       INTEGER NOT NULL CHECK (amount_paise > 0),
    currency           TEXT    NOT NULL,
    method             TEXT    NOT NULL,
    route              TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    ttl_deadline       INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_by_order ON payments (order_id, created_at);
CREATE INDEX payments_by_status_ttl ON payments (status, ttl_deadline);
CREATE INDEX payments_by_gateway_id ON payments (gateway, gateway_payment_id);

CREATE TABLE attempts (
    payment_id TEXT    NOT NULL REFERENCES payments (payment_id),
    seq        INTEGER NOT NULL,
    gateway    TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    latency_ms INTEGER,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (payment_id, seq)
) STRICT;

-- No foreign key on payment_id: a callback may arrive for a payment this ledger
-- does not know yet (an orphan) and must still be stored.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    status     TEXT,
    detail     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_payment ON events (payment_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE idempotency (
    key           TEXT    PRIMARY KEY NOT NULL,
    request_hash  TEXT    NOT NULL,
    payment_id    TEXT    NOT NULL REFERENCES payments (payment_id),
    completed     INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    http_status   INTEGER,
    response_body BLOB,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
"#,
    // 2: the outbox (normalized events waiting for the pipeline) and the audit trail
    // of gateway state transitions.
    r#"
-- One row per accepted state change, written in the same transaction as the event
-- that caused it. `event_id` is the stable id consumers deduplicate on; `body` is
-- the PaymentEvent JSON exactly as the sinks send it. Delivery progress per sink is
-- kept by the forwarder in its own tables.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT    NOT NULL UNIQUE,
    payment_id TEXT    NOT NULL,
    body       TEXT    NOT NULL CHECK (json_valid(body)),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_by_payment ON outbox (payment_id, seq);

-- Every gateway state transition, automatic or manual, with its evidence.
CREATE TABLE audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    gateway  TEXT    NOT NULL,
    from_state TEXT  NOT NULL,
    to_state TEXT    NOT NULL,
    trigger  TEXT    NOT NULL,
    actor    TEXT    NOT NULL,
    reason   TEXT,
    evidence TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(evidence))
) STRICT;
CREATE INDEX audit_by_gateway ON audit (gateway, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
"#,
    // pipeline: per-sink cursors and dead letters.
    super::delivery::MIGRATION,
    super::callbacks::MIGRATION,
    // refunds: the refund row's own columns (refunds issue) and auto-refund decisions.
    super::refunds::MIGRATION,
    // utr / rrn / gateway_payment_id lookups (GET /v1/payments?utr=…).
    super::read::REFERENCE_MIGRATION,
    // money checks: TPV and amount flags on the payment, duplicate payments.
    super::money::MIGRATION,
    // resolution: the in-progress idempotency rows the watchdog recovers.
    super::watchdog::MIGRATION,
    // money checks: the gateway payment an initiation created (item 5).
    super::money::BOUND_MIGRATION,
    // money checks: the amount the gateway captured (refunds count against it).
    super::money::CAPTURED_MIGRATION,
];

/// The schema version this binary writes.
#[cfg(test)]
pub(crate) fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub(crate) fn user_version(conn: &Connection) -> Result<i64, LedgerError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies the pending migrations of [`MIGRATIONS`], each in its own transaction
/// together with its `user_version` bump. Returns the resulting version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, LedgerError> {
    migrate_with(conn, MIGRATIONS)
}

/// [`migrate`] over an explicit list (tests use their own lists).
pub(crate) fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<i64, LedgerError> {
    let known = migrations.len() as i64;
    let found = user_version(conn)?;
    if found > known {
        return Err(LedgerError::SchemaTooNew { found, known });
    }
    if found < 0 {
        return Err(LedgerError::Corrupt(format!(
            "negative user_version {found}"
        )));
    }
    // The version is read again inside each IMMEDIATE transaction: another
    // connection (a second process on a fresh file) may have applied the same
    // migration between our read and our write lock, and must not be re-applied
    // ("table payments already exists").
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let v = user_version(&tx)?;
        if v >= known {
            tx.commit()?;
            break;
        }
        tx.execute_batch(migrations[v as usize])?;
        // PRAGMA takes no bound parameters; the value is an integer we produced.
        tx.execute_batch(&format!("PRAGMA user_version = {}", v + 1))?;
        tx.commit()?;
    }
    user_version(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_in_order_and_reopen_is_noop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        // Migration 2 depends on migration 1's table; 3 on 2's column.
        let list: &[&str] = &[
            "CREATE TABLE a (x INTEGER);",
            "ALTER TABLE a ADD COLUMN y INTEGER; INSERT INTO a (x, y) VALUES (1, 2);",
            "CREATE TABLE b AS SELECT x + y AS z FROM a;",
        ];
        {
            let mut conn = Connection::open(&path).unwrap();
            assert_eq!(migrate_with(&mut conn, &list[..1]).unwrap(), 1);
            assert_eq!(migrate_with(&mut conn, list).unwrap(), 3);
            let z: i64 = conn.query_row("SELECT z FROM b", [], |r| r.get(0)).unwrap();
            assert_eq!(z, 3);
        }
        {
            // Re-running is a no-op: the INSERT in migration 2 is not repeated.
            let mut conn = Connection::open(&path).unwrap();
            assert_eq!(migrate_with(&mut conn, list).unwrap(), 3);
            let n: i64 = conn
                .query_row("SELECT count(*) FROM a", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 1);
            // An older binary (knowing two migrations) refuses the newer database.
            match migrate_with(&mut conn, &list[..2]) {
                Err(LedgerError::SchemaTooNew { found: 3, known: 2 }) => {}
                other => panic!("expected SchemaTooNew, got {other:?}"),
            }
        }
    }

    #[test]
    fn failed_migration_leaves_version_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        let list: &[&str] = &["CREATE TABLE a (x INTEGER);", "CREATE TABLE a (x INTEGER);"];
        assert!(migrate_with(&mut conn, list).is_err());
        assert_eq!(user_version(&conn).unwrap(), 1);
    }

    #[test]
    fn concurrent_migrations_on_a_fresh_file_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let mut conn = Connection::open(&path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(10))
                        .unwrap();
                    barrier.wait();
                    migrate(&mut conn)
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), known_version());
        }
    }

    #[test]
    fn real_schema_applies() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), known_version());
        assert_eq!(migrate(&mut conn).unwrap(), known_version());
    }
}
