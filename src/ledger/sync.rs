//! The sync thread: makes committed batches durable off the writer thread.
//!
//! With `synchronous = "full"` the write connection runs SQLite's
//! `synchronous = NORMAL`: a `COMMIT` appends the batch's frames to the WAL
//! (`pwrite`) and returns without an fsync. The writer hands each committed batch
//! here and goes straight on to the next one; this thread takes every batch that
//! is waiting, calls `fdatasync` on the WAL file once for all of them, and only then
//! answers their callers. A caller is therefore answered exactly when its
//! transaction is on stable storage, as with SQLite's `FULL`, but the writer never
//! waits for the disk, and one fsync covers every batch committed while the
//! previous one was in flight (measured in docs/BENCHMARKS.md).
//!
//! Why this is as durable as `FULL`:
//! - `fdatasync` flushes the file (the inode), whichever descriptor wrote it, and
//!   every batch drained before the call had finished its `pwrite`s (its `COMMIT`
//!   had returned), so the sync covers all of them.
//! - A batch's frames are only ever *after* the frames of every earlier batch, and
//!   SQLite's WAL recovery keeps a valid prefix of commits: a later sync that
//!   succeeds implies every earlier batch is durable too.
//! - In `NORMAL` mode SQLite itself syncs the WAL before every checkpoint and the
//!   WAL header when it restarts the log, so a checkpoint never copies unsynced
//!   frames into the database and a restart never orphans synced ones.
//! - If the WAL file is replaced (unlinked and created again), the next sync notices
//!   (`st_nlink == 0`) and reopens it by path before syncing.
//! - A failed `fdatasync` is final ("fsyncgate": after a failed sync Linux may drop
//!   the dirty pages and report the next sync as a success): this thread then
//!   fails every batch, now and later, until the process restarts, and `/readyz`
//!   reports the ledger as not writable.
//!
//! Readers (the read pool) may see a committed batch before it is synced. The
//! pipeline must not forward such rows, so the highest durable outbox `seq` is
//! published in `durable` and the sink workers read only up to it.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::writer::{Counters, Done};

/// A committed batch waiting for its sync.
pub(crate) struct Group {
    pub(crate) done: Vec<Done>,
    /// The highest outbox `seq` assigned when the batch committed.
    pub(crate) outbox_seq: i64,
}

impl Group {
    /// Fails every success in the batch with `why` (the data is committed but not
    /// known to be durable: the caller must not acknowledge it).
    pub(crate) fn fail(self, why: &str) {
        self.done.into_iter().for_each(|d| d.answer(Some(why)));
    }

    fn succeed(self) {
        self.done.into_iter().for_each(|d| d.answer(None));
    }
}

/// How many batches the sync thread holds unanswered. The writer waits on it
/// while it is non-zero (adding commands to its open transaction meanwhile), so a
/// batch commits when the previous sync has finished.
#[derive(Default)]
pub(crate) struct InFlight {
    n: Mutex<u64>,
    idle: Condvar,
}

impl InFlight {
    pub(crate) fn add(&self) {
        *self.n.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    }

    pub(crate) fn done(&self, k: u64) {
        let mut n = self.n.lock().unwrap_or_else(PoisonError::into_inner);
        *n = n.saturating_sub(k);
        if *n == 0 {
            self.idle.notify_all();
        }
    }

    /// While a sync is in flight: waits until it finishes or 50 µs pass, and
    /// returns true (look for more commands, then ask again). False when idle.
    pub(crate) fn wait_briefly(&self) -> bool {
        let n = self.n.lock().unwrap_or_else(PoisonError::into_inner);
        if *n == 0 {
            return false;
        }
        drop(
            self.idle
                .wait_timeout(n, Duration::from_micros(50))
                .unwrap_or_else(PoisonError::into_inner),
        );
        true
    }
}

/// The WAL file, opened lazily and reopened if it was replaced.
struct Wal {
    path: PathBuf,
    file: Option<File>,
}

impl Wal {
    fn sync(&mut self) -> std::io::Result<()> {
        let stale = match &self.file {
            Some(f) => f.metadata()?.nlink() == 0,
            None => true,
        };
        if stale {
            self.file = Some(File::open(&self.path)?);
        }
        match &self.file {
            Some(f) => f.sync_data(),
            None => Err(std::io::Error::other("WAL file not open")),
        }
    }
}

/// The sync thread's body: returns when the writer has dropped its sender and
/// every batch handed over has been answered.
pub(crate) fn run(
    wal_path: PathBuf,
    rx: Receiver<Group>,
    counters: Arc<Counters>,
    durable: Arc<AtomicI64>,
    in_flight: Arc<InFlight>,
) {
    let mut wal = Wal {
        path: wal_path,
        file: None,
    };
    let mut failed: Option<String> = None;
    let mut groups = Vec::new();
    while let Ok(first) = rx.recv() {
        groups.push(first);
        while let Ok(g) = rx.try_recv() {
            groups.push(g);
        }
        if failed.is_none()
            && let Err(e) = wal.sync()
        {
            tracing::error!(error = %e, path = %wal.path.display(),
                "ledger: fdatasync of the WAL failed; refusing every later write until restart");
            failed = Some(format!("fdatasync of the WAL failed: {e}"));
        }
        let k = groups.len() as u64;
        match &failed {
            None => {
                counters.syncs.fetch_add(1, Ordering::Relaxed);
                let top = groups.iter().map(|g| g.outbox_seq).max().unwrap_or(0);
                durable.fetch_max(top, Ordering::Release);
                groups.drain(..).for_each(Group::succeed);
            }
            Some(why) => groups.drain(..).for_each(|g| g.fail(why)),
        }
        in_flight.done(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_reopens_a_replaced_wal_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-wal");
        std::fs::write(&path, b"a").unwrap();
        let mut wal = Wal {
            path: path.clone(),
            file: None,
        };
        wal.sync().unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"b").unwrap();
        wal.sync().unwrap();
        // The descriptor now synced is the new file's (inode numbers may be reused,
        // so compare the contents).
        let mut now = String::new();
        std::io::Read::read_to_string(wal.file.as_mut().unwrap(), &mut now).unwrap();
        assert_eq!(now, "b", "the replaced file is reopened");
        std::fs::remove_file(&path).unwrap();
        assert!(
            wal.sync().is_err(),
            "a WAL that is gone is an error, not a success"
        );
    }
}

#[cfg(test)]
mod ledger_tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    use super::*;
    use crate::ledger::writer::{FnJob, Job};
    use crate::ledger::{Ledger, LedgerError, LedgerOptions, outbox};

    #[tokio::test]
    async fn a_durable_write_is_answered_after_a_sync_and_moves_the_outbox_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
        assert_eq!(ledger.durable_outbox_seq(), 0);
        let seq = ledger
            .write(|c| {
                outbox::enqueue(c, "evt_1", "pay_1", "{}", 1)?;
                outbox::seq_of(c, "evt_1")
            })
            .await
            .unwrap()
            .unwrap();
        assert!(ledger.stats().syncs >= 1, "answered before any fsync");
        assert!(ledger.durable_outbox_seq() >= seq);
        ledger.shutdown().await.unwrap();
    }

    fn job() -> (
        Done,
        tokio::sync::oneshot::Receiver<Result<(), LedgerError>>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut j = FnJob::new(|_: &rusqlite::Connection| Ok(()), tx);
        j.run(&conn).unwrap();
        (Done::Job(Box::new(j), Ok(())), rx)
    }

    #[test]
    fn a_failed_sync_fails_its_batches_and_every_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let in_flight = Arc::new(InFlight::default());
        let (a, mut a_rx) = job();
        let (b, mut b_rx) = job();
        in_flight.add();
        tx.send(Group {
            done: vec![a],
            outbox_seq: 3,
        })
        .unwrap();
        in_flight.add();
        tx.send(Group {
            done: vec![b],
            outbox_seq: 4,
        })
        .unwrap();
        drop(tx);
        let durable = Arc::new(AtomicI64::new(0));
        // No WAL file at that path: the sync fails.
        run(
            dir.path().join("missing-wal"),
            rx,
            Arc::new(Counters::default()),
            Arc::clone(&durable),
            Arc::clone(&in_flight),
        );
        assert!(matches!(
            a_rx.try_recv(),
            Ok(Err(LedgerError::CommitFailed(_)))
        ));
        assert!(matches!(
            b_rx.try_recv(),
            Ok(Err(LedgerError::CommitFailed(_)))
        ));
        assert_eq!(durable.load(Ordering::Relaxed), 0, "nothing became durable");
        assert!(!in_flight.wait_briefly(), "every batch was accounted for");
    }
}
