//! The group-commit writer: one dedicated OS thread owns the write connection.
//!
//! It blocks for the first queued command, drains whatever else is already queued
//! (up to `group_commit_max` commands in all), runs the lot in ONE transaction —
//! each command inside its own savepoint, so a failing command is rolled back alone
//! and does not poison its neighbours — commits once (one fsync when
//! `synchronous = FULL`), and only then answers every caller. If the commit fails,
//! every caller whose command had succeeded gets the commit error instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, oneshot};

use super::{Begin, Intent, LedgerError, LedgerStats, ops};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, LedgerError>>;

/// A command for the writer thread.
pub(crate) enum Cmd {
    Begin(Box<Intent>, Reply<Begin>),
    AttemptStart {
        payment_id: String,
        seq: u32,
        gateway: String,
        at: OffsetDateTime,
        reply: Reply<()>,
    },
    Ping(Reply<()>),
    /// Any other write, run inside its own savepoint like the rest (see
    /// [`Ledger::write`](super::Ledger::write)).
    Job(Box<dyn Job>),
    /// Flush everything queued before and after it, checkpoint, stop.
    Shutdown(Reply<()>),
}

/// A write run by the writer thread: `run` inside the command's savepoint (an `Err`
/// rolls back just this command), then `answer` once the batch has committed.
pub(crate) trait Job: Send {
    fn run(&mut self, conn: &Connection) -> Result<(), LedgerError>;
    /// `commit_err` replaces a success when the batch's commit failed.
    fn answer(self: Box<Self>, commit_err: Option<&str>);
    /// The command could not run at all (or its savepoint failed).
    fn fail(self: Box<Self>, e: LedgerError);
}

/// A closure as a [`Job`], its result held until the commit.
pub(crate) struct FnJob<T, F> {
    f: Option<F>,
    out: Option<Result<T, LedgerError>>,
    reply: Reply<T>,
}

impl<T, F> FnJob<T, F> {
    pub(crate) fn new(f: F, reply: Reply<T>) -> Self {
        FnJob {
            f: Some(f),
            out: None,
            reply,
        }
    }
}

impl<T, F> Job for FnJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, LedgerError> + Send,
{
    fn run(&mut self, conn: &Connection) -> Result<(), LedgerError> {
        let Some(f) = self.f.take() else {
            return Err(LedgerError::Internal("ledger job ran twice".into()));
        };
        match f(conn) {
            Ok(v) => {
                self.out = Some(Ok(v));
                Ok(())
            }
            Err(e) => {
                // The copy keeps the one thing the writer needs: was it the storage?
                let copy = if storage_failure(&e) {
                    LedgerError::CommitFailed(e.to_string())
                } else {
                    LedgerError::Internal(e.to_string())
                };
                self.out = Some(Err(e));
                Err(copy)
            }
        }
    }

    fn answer(self: Box<Self>, commit_err: Option<&str>) {
        let this = *self;
        let r = match (this.out, commit_err) {
            (Some(Ok(_)), Some(e)) => Err(commit_failed(e)),
            (Some(r), _) => r,
            (None, _) => Err(LedgerError::Internal("ledger job never ran".into())),
        };
        drop(this.reply.send(r));
    }

    fn fail(self: Box<Self>, e: LedgerError) {
        drop(self.reply.send(Err(e)));
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    writes: AtomicU64,
    max_batch: AtomicU64,
    grouped_commits: AtomicU64,
    failed_commits: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    /// The last storage failure, until a later commit succeeds (`/readyz`).
    failure: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_failure(&self, why: Option<String>) {
        let mut f = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if why.is_some() && f.is_none() {
            tracing::warn!(
                error = why.as_deref().unwrap_or_default(),
                "ledger: writes are failing; /readyz is false until one commits"
            );
        } else if why.is_none() && f.is_some() {
            tracing::warn!("ledger: writes commit again; /readyz is true");
        }
        *f = why;
    }

    pub(crate) fn snapshot(&self) -> LedgerStats {
        LedgerStats {
            commits: self.commits.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            max_batch: self.max_batch.load(Ordering::Relaxed),
            grouped_commits: self.grouped_commits.load(Ordering::Relaxed),
            failed_commits: self.failed_commits.load(Ordering::Relaxed),
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
        }
    }
}

/// A command's result held until the batch commits.
enum Done {
    Begin(Reply<Begin>, Result<Begin, LedgerError>),
    Unit(Reply<()>, Result<(), LedgerError>),
    Job(Box<dyn Job>, Result<(), LedgerError>),
}

impl Done {
    /// The command's error, when it says the storage is failing.
    fn storage_error(&self) -> Option<String> {
        let e = match self {
            Done::Begin(_, Err(e)) | Done::Unit(_, Err(e)) | Done::Job(_, Err(e)) => e,
            _ => return None,
        };
        storage_failure(e).then(|| e.to_string())
    }

    fn succeeded(&self) -> bool {
        match self {
            Done::Begin(_, r) => r.is_ok(),
            Done::Unit(_, r) => r.is_ok(),
            Done::Job(_, r) => r.is_ok(),
        }
    }

    /// Answers the caller; `commit_err` replaces a success when the commit failed.
    fn answer(self, commit_err: Option<&str>) {
        // A caller that gave up (dropped its receiver) is not an error here.
        match (self, commit_err) {
            (Done::Job(job, Ok(())), e) => job.answer(e),
            (Done::Job(job, Err(_)), _) => job.answer(None),
            (Done::Begin(tx, Ok(_)), Some(e)) => drop(tx.send(Err(commit_failed(e)))),
            (Done::Unit(tx, Ok(())), Some(e)) => drop(tx.send(Err(commit_failed(e)))),
            (Done::Begin(tx, r), _) => drop(tx.send(r)),
            (Done::Unit(tx, r), _) => drop(tx.send(r)),
        }
    }
}

/// An error that says the storage is failing, not the command (`guard`).
fn storage_failure(e: &LedgerError) -> bool {
    match e {
        LedgerError::Sqlite(e) => super::guard::is_storage_failure(e),
        LedgerError::CommitFailed(_) | LedgerError::Io(_) => true,
        _ => false,
    }
}

fn commit_failed(e: &str) -> LedgerError {
    LedgerError::CommitFailed(e.to_owned())
}

/// The writer thread's body. Returns when every sender is gone or after a shutdown.
pub(crate) fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Cmd>,
    counters: Arc<Counters>,
    group_commit_max: usize,
    checkpointer: super::checkpoint::Checkpointer,
    outbox_signal: Arc<Notify>,
) {
    let max = group_commit_max.max(1);
    let mut batch = Vec::with_capacity(max);
    let mut shutdown_waiters: Vec<Reply<()>> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        let before = shutdown_waiters.len();
        process_batch(&mut conn, &mut batch, &counters, &mut shutdown_waiters);
        // A committed batch that queued outbox rows wakes the forwarder.
        if super::outbox::take_queued() {
            outbox_signal.notify_one();
        }
        if checkpointer.take_finish_request() {
            checkpointer.finish(&conn);
        }
        if before == 0 && !shutdown_waiters.is_empty() {
            // Refuse new commands; keep draining what is already queued.
            rx.close();
        }
    }
    checkpointer.stop();
    let result = checkpoint(&conn);
    for w in shutdown_waiters {
        let r = match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(LedgerError::CommitFailed(format!("checkpoint: {e}"))),
        };
        drop(w.send(r));
    }
    if let Err(e) = conn.close() {
        tracing::warn!(error = %e.1, "ledger: closing the write connection failed");
    }
}

fn checkpoint(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

/// Runs `batch` (drained) as one transaction and answers every caller.
pub(crate) fn process_batch(
    conn: &mut Connection,
    batch: &mut Vec<Cmd>,
    counters: &Counters,
    shutdown_waiters: &mut Vec<Reply<()>>,
) {
    let mut done = Vec::with_capacity(batch.len());
    let mut writes = 0u64;
    let probe = counters.failure().is_some();
    let mut storage_err: Option<String> = None;
    // Whether a probe ping (64 KiB) ran without error in this batch: only that
    // ends a storage failure, not a small write that happened to fit.
    let mut probed = false;
    let mut began = conn.execute_batch("BEGIN IMMEDIATE");
    for cmd in batch.drain(..) {
        if let Cmd::Shutdown(reply) = cmd {
            shutdown_waiters.push(reply);
            continue;
        }
        writes += 1;
        match &began {
            Ok(()) => {
                let is_ping = matches!(cmd, Cmd::Ping(_));
                let d = run_one(conn, cmd, probe);
                probed |= probe && is_ping && d.succeeded();
                if let Some(e) = d.storage_error() {
                    storage_err = Some(e);
                }
                done.push(d);
            }
            Err(e) => {
                storage_err = Some(format!("begin: {e}"));
                done.push(fail(cmd, LedgerError::CommitFailed(format!("begin: {e}"))));
            }
        }
        if began.is_ok() && conn.is_autocommit() {
            storage_err = Some("transaction rolled back by sqlite".into());
            // SQLite rolled the whole transaction back on its own (I/O error, disk
            // full...): every earlier success in this batch is gone. Tell those
            // callers, and start again for the rest of the batch.
            counters.failed_commits.fetch_add(1, Ordering::Relaxed);
            tracing::error!("ledger: transaction rolled back by sqlite mid-batch");
            for d in done.drain(..) {
                d.answer(Some("transaction rolled back by sqlite"));
            }
            writes = 0;
            began = conn.execute_batch("BEGIN IMMEDIATE");
        }
    }
    if writes == 0 {
        if began.is_ok() {
            // Only shutdown requests: nothing to commit.
            let _ = conn.execute_batch("ROLLBACK");
        }
        return;
    }
    if began.is_err() {
        counters.failed_commits.fetch_add(1, Ordering::Relaxed);
        counters.set_failure(storage_err);
        done.into_iter().for_each(|d| d.answer(None));
        return;
    }
    let commit_err = match conn.execute_batch("COMMIT") {
        Ok(()) => {
            // A command that hit the storage keeps readiness off even though the
            // batch (its other commands) committed; a committed probe ends it.
            if storage_err.is_some() {
                counters.set_failure(storage_err);
            } else if probed {
                counters.set_failure(None);
            }
            counters.commits.fetch_add(1, Ordering::Relaxed);
            counters.writes.fetch_add(writes, Ordering::Relaxed);
            counters.max_batch.fetch_max(writes, Ordering::Relaxed);
            if writes > 1 {
                counters.grouped_commits.fetch_add(1, Ordering::Relaxed);
            }
            None
        }
        Err(e) => {
            counters.failed_commits.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, batch = writes, "ledger: group commit failed");
            counters.set_failure(Some(format!("commit: {e}")));
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Some(e.to_string())
        }
    };
    let any_ok = done.iter().any(Done::succeeded);
    if commit_err.is_some() && !any_ok {
        done.into_iter().for_each(|d| d.answer(None));
    } else {
        done.into_iter()
            .for_each(|d| d.answer(commit_err.as_deref()));
    }
}

/// One command inside its own savepoint. `probe`: a ping also rewrites the
/// readiness probe row (after a storage failure).
fn run_one(conn: &Connection, cmd: Cmd, probe: bool) -> Done {
    if let Err(e) = exec_cached(conn, "SAVEPOINT cmd") {
        return fail(cmd, e.into());
    }
    let done = match cmd {
        Cmd::Begin(intent, reply) => Done::Begin(reply, ops::begin(conn, &intent)),
        Cmd::AttemptStart {
            payment_id,
            seq,
            gateway,
            at,
            reply,
        } => Done::Unit(
            reply,
            ops::attempt_start(conn, &payment_id, seq, &gateway, at),
        ),
        Cmd::Ping(reply) => {
            let now = OffsetDateTime::now_utc();
            let r = ops::ping(conn, now)
                .and_then(|()| if probe { ops::probe(conn, now) } else { Ok(()) });
            Done::Unit(reply, r)
        }
        Cmd::Job(mut job) => {
            let r = job.run(conn);
            Done::Job(job, r)
        }
        Cmd::Shutdown(reply) => Done::Unit(reply, Ok(())),
    };
    let end = if done.succeeded() {
        exec_cached(conn, "RELEASE cmd")
    } else {
        exec_cached(conn, "ROLLBACK TO cmd").and_then(|()| exec_cached(conn, "RELEASE cmd"))
    };
    match (end, done) {
        (Ok(()), done) => done,
        (Err(e), Done::Begin(tx, _)) => Done::Begin(tx, Err(e.into())),
        (Err(e), Done::Unit(tx, _)) => Done::Unit(tx, Err(e.into())),
        (Err(e), Done::Job(job, _)) => {
            job.fail(e.into());
            Done::Job(
                Box::new(Answered),
                Err(LedgerError::Internal("answered".into())),
            )
        }
    }
}

/// Runs a parameterless statement through the statement cache: the savepoint
/// statements run twice per command, and `execute_batch` parsed them every time.
fn exec_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// A job whose caller has already been answered.
struct Answered;

impl Job for Answered {
    fn run(&mut self, _: &Connection) -> Result<(), LedgerError> {
        Ok(())
    }
    fn answer(self: Box<Self>, _: Option<&str>) {}
    fn fail(self: Box<Self>, _: LedgerError) {}
}

fn fail(cmd: Cmd, e: LedgerError) -> Done {
    match cmd {
        Cmd::Job(job) => {
            job.fail(e);
            Done::Job(
                Box::new(Answered),
                Err(LedgerError::Internal("answered".into())),
            )
        }
        Cmd::Begin(_, reply) => Done::Begin(reply, Err(e)),
        Cmd::AttemptStart { reply, .. } | Cmd::Ping(reply) | Cmd::Shutdown(reply) => {
            Done::Unit(reply, Err(e))
        }
    }
}
