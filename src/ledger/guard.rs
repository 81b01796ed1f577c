//! What stands between a ledger file and a process that should not write it: the
//! exclusive lock (one serving process per ledger) and the integrity check at open.
//!
//! **The lock** is an advisory `flock` on `<ledger>.lock`, taken before the
//! database is touched (so before migrations: two fresh processes on one new path
//! cannot both create the tables). The holder writes its pid into the file; a
//! second process is refused with [`LedgerError::Locked`] naming that pid. The
//! kernel drops the lock when the holder exits, `kill -9` included, so a stale lock
//! file never blocks a restart. `switchyard replay` opens the ledger without the
//! lock (it is documented safe beside a running `serve`: SQLite serializes its few
//! writes), as do read-only tools.
//!
//! **The integrity check** runs `PRAGMA quick_check` (every page and b-tree
//! structure, without cross-checking indexes against tables; O(pages)) or, with
//! [`Integrity::Full`], `PRAGMA integrity_check`. A ledger that fails is refused
//! with [`LedgerError::Integrity`]: serving from it would answer some reads with
//! "malformed" and write new money records into a damaged file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::LedgerError;

/// Which integrity check runs when the ledger opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Integrity {
    /// `PRAGMA quick_check` (the default).
    #[default]
    Quick,
    /// `PRAGMA integrity_check`: also checks every index against its table.
    Full,
    /// No check (tests and throwaway ledgers).
    Off,
}

/// The held lock: dropping it releases the ledger.
#[derive(Debug)]
pub(crate) struct LockFile {
    _file: File,
}

/// `<ledger path>.lock`.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the exclusive lock on `db` or says who holds it.
pub(crate) fn lock(db: &Path) -> Result<LockFile, LedgerError> {
    let path = lock_path(db);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.sync_data()?;
            Ok(LockFile { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let holder = text.trim().parse::<u32>().ok();
            Err(LedgerError::Locked {
                path: db.display().to_string(),
                holder: holder.map_or_else(|| "unknown pid".to_string(), |p| format!("pid {p}")),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Runs the chosen check on an open connection.
pub(crate) fn check(conn: &Connection, db: &Path, kind: Integrity) -> Result<(), LedgerError> {
    let pragma = match kind {
        Integrity::Off => return Ok(()),
        Integrity::Quick => "quick_check",
        Integrity::Full => "integrity_check",
    };
    let refused = |detail: String| LedgerError::Integrity {
        path: db.display().to_string(),
        check: pragma,
        detail,
    };
    // At most 20 problems are listed; one is enough to refuse.
    let mut stmt = conn
        .prepare(&format!("PRAGMA {pragma}(20)"))
        .map_err(|e| refused(e.to_string()))?;
    let rows: Result<Vec<String>, _> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect());
    match rows {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok(()),
        Ok(rows) => Err(refused(rows.join("; "))),
        Err(e) => Err(refused(e.to_string())),
    }
}

/// Checks the file at `db` on a read-only connection, beside a running server or
/// not (`switchyard check --full`). A missing file is an error.
pub fn verify(db: &Path, kind: Integrity) -> Result<(), LedgerError> {
    if !db.exists() {
        return Err(LedgerError::NotFound(format!(
            "ledger file {}",
            db.display()
        )));
    }
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    check(&conn, db, kind)
}

/// Whether a SQLite error says the file itself is damaged (as opposed to busy or
/// full): such an error at open is an integrity failure.
pub(crate) fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// Whether a SQLite error means the storage under the ledger is failing (full,
/// I/O error, read-only, gone): `/readyz` turns false on the first one.
pub(crate) fn is_storage_failure(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::DatabaseCorrupt
                | rusqlite::ErrorCode::NotADatabase
                | rusqlite::ErrorCode::TooBig
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_the_holder_pid_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("l.db");
        let held = lock(&db).unwrap();
        match lock(&db) {
            Err(LedgerError::Locked { holder, .. }) => {
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(held);
        lock(&db).unwrap();
    }

    #[test]
    fn a_healthy_database_passes_both_checks() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        check(&conn, Path::new(":memory:"), Integrity::Quick).unwrap();
        check(&conn, Path::new(":memory:"), Integrity::Full).unwrap();
    }
}
