//! The ledger: an embedded SQLite database in WAL mode holding payments (with the
//! five-field linkage), attempts, an append-only events/audit table and the
//! idempotency keys. One writer thread owns the write connection and commits in
//! groups: every command waiting in its queue joins one transaction and one fsync.
//!
//! - `guard`: the exclusive `<path>.lock` (a second process is refused, naming the
//!   holder's pid) and the integrity check at open (`quick_check` / `integrity_check`).
//! - [`schema`]: tables and versioned migrations (`PRAGMA user_version`). Times are
//!   `INTEGER` unix milliseconds UTC; money is `INTEGER` paise.
//! - [`writer`]: the group-commit writer thread (savepoint per command).
//! - `ops`: the SQL of each write command.
//! - `checkpoint`: WAL checkpoints on their own thread, so no commit waits for one.
//! - `read`: queries on a small pool of read-only connections, run on tokio's
//!   blocking pool, never on the writer.
//! - [`refunds`]: refund rows, reserved in the writer's transaction (never more
//!   than captured), moved through refund precedence; auto-refund bookkeeping.
//!
//! Durability: with `synchronous_full` every write method returns only after the
//! transaction holding it has been committed with `PRAGMA synchronous = FULL` in WAL
//! mode, i.e. after the WAL was fsynced. Without it (`NORMAL`) a committed write
//! survives a process crash (kill -9) but may be lost on power failure.
//!
//! Testing durability (kill -9): a write is durable exactly when its `await`
//! returned `Ok`. An integration test can start the binary on a temp ledger path,
//! drive `POST /v1/payments`, record every response it received (201/4xx/5xx all
//! mean `begin()` returned `New` and the intent was committed first), `kill -9` the
//! process, then open the same file with [`Ledger::open`] (or plain `rusqlite`) and
//! check that every acknowledged `payment_id` has a `payments` row and an
//! `initiated` event. The WAL (`<path>-wal`) must stay beside the database file:
//! copy all three files (`db`, `-wal`, `-shm`) or none. Reopening replays the WAL.

pub mod audit;
pub mod callbacks;
mod checkpoint;
pub mod delivery;
mod guard;
pub mod money;
mod ops;
pub mod orphans;
pub mod outbox;
mod precedence;
mod read;
pub mod refunds;
mod schema;
mod types;
pub mod watchdog;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

pub use guard::{Integrity, verify};
pub use ops::initiation_event_id;
pub use read::{Reference, payment_counts};
pub use types::*;

use read::ReadPool;
use writer::{Cmd, Counters};

/// How the ledger commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerOptions {
    /// Most commands committed in one transaction (at least 1).
    pub group_commit_max: usize,
    /// `PRAGMA synchronous = FULL` (fsync the WAL on every commit) instead of `NORMAL`.
    pub synchronous_full: bool,
    /// Take the exclusive `<path>.lock` (`serve`); `replay` opens without it.
    pub exclusive: bool,
    /// The check run before anything is written (`guard`).
    pub integrity: Integrity,
    /// Deadline of every call through the writer and of every read: a frozen disk
    /// answers [`LedgerError::Timeout`] instead of hanging the caller. `None` (the
    /// default: tests on paused time) waits as long as it takes; `serve` sets it to
    /// `[server] request_timeout`.
    pub call_timeout: Option<Duration>,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            group_commit_max: 512,
            synchronous_full: true,
            exclusive: true,
            integrity: Integrity::Quick,
            call_timeout: None,
        }
    }
}

/// Cheap counters from the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerStats {
    /// Successful commits (transactions).
    pub commits: u64,
    /// Commands committed (each write call is one).
    pub writes: u64,
    /// The most commands seen in one committed transaction.
    pub max_batch: u64,
    /// Commits that carried more than one command.
    pub grouped_commits: u64,
    /// Transactions that failed to begin or commit.
    pub failed_commits: u64,
    /// Background checkpoint passes (WAL frames copied into the database file).
    pub checkpoints: u64,
}

/// A handle to the ledger. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Cmd>,
    reads: Arc<ReadPool>,
    counters: Arc<Counters>,
    writer: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
    /// Signalled by the writer after a commit that queued outbox rows.
    outbox_signal: Arc<tokio::sync::Notify>,
    call_timeout: Option<Duration>,
    /// Held until [`Ledger::shutdown`] (`None` without `exclusive`).
    lock: Mutex<Option<guard::LockFile>>,
}

impl Ledger {
    /// Opens (creating it and its parent directories if needed) the database at
    /// `path`, switches it to WAL, applies pending migrations and starts the writer
    /// thread. Blocking but short; callable inside or outside a tokio runtime.
    pub fn open(path: &Path, opts: LedgerOptions) -> Result<Ledger, LedgerError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        // Before the database is touched: a second process is refused here, before
        // it could run migrations or start a forwarder of its own.
        let lock = if opts.exclusive {
            Some(guard::lock(path)?)
        } else {
            None
        };
        let damaged = |e: rusqlite::Error| {
            if guard::is_corruption(&e) {
                LedgerError::Integrity {
                    path: path.display().to_string(),
                    check: "open",
                    detail: e.to_string(),
                }
            } else {
                e.into()
            }
        };
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(damaged)?;
        guard::check(&conn, path, opts.integrity)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::Corrupt(format!(
                "could not switch {} to WAL (journal_mode = {mode})",
                path.display()
            )));
        }
        let sync = if opts.synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        // temp_store = MEMORY: the per-command savepoints' statement journals stay in
        // memory instead of spilling to temp files (measured: ~23% less CPU per payment,
        // docs/BENCHMARKS.md "Profile").
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
        ))?;
        schema::migrate(&mut conn).map_err(|e| match e {
            LedgerError::Sqlite(e) => damaged(e),
            e => e,
        })?;
        // The writer runs a few dozen distinct statements (payments, callbacks,
        // outbox, delivery, audit, savepoints); rusqlite's default cache of 16 would
        // evict and re-prepare them in turn.
        conn.set_prepared_statement_cache_capacity(128);
        let counters = Arc::new(Counters::default());
        // WAL checkpoints run on their own thread, not inside a commit (checkpoint.rs).
        let checkpointer = checkpoint::Checkpointer::start(path, Arc::clone(&counters))?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;

        let max = opts.group_commit_max.max(1);
        let (tx, rx) = mpsc::channel(max.saturating_mul(4).max(1024));
        let thread_counters = Arc::clone(&counters);
        let outbox_signal = Arc::new(tokio::sync::Notify::new());
        let signal = Arc::clone(&outbox_signal);
        let handle = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer::run(conn, rx, thread_counters, max, checkpointer, signal))?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                tx,
                reads: Arc::new(ReadPool::new(path, 4)),
                counters,
                writer: Mutex::new(Some(handle)),
                path: path.to_path_buf(),
                outbox_signal,
                call_timeout: opts.call_timeout,
                lock: Mutex::new(lock),
            }),
        })
    }

    /// Notified after every commit that queued outbox rows (the forwarder waits on
    /// it instead of polling). One `Notify`: give it one waiter and fan out from there.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.outbox_signal)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Idempotency check and, for a new key, the write-ahead intent: the payment row
    /// (status `initiated`), the idempotency row and an `initiated` event, committed
    /// (fsynced with `synchronous_full`) before `Begin::New` is returned.
    pub async fn begin(&self, intent: Intent) -> Result<Begin, LedgerError> {
        self.call(|reply| Cmd::Begin(Box::new(intent), reply)).await
    }

    /// [`begin`](Self::begin) behind the order-level guard, in the same write: after
    /// the idempotency check (a replay still replays), an order that already has a
    /// live or succeeded payment gets `Begin::Refused` unless `policy` pins it to
    /// `intent.gateway`.
    pub async fn begin_guarded(
        &self,
        intent: Intent,
        policy: money::OrderPolicy,
    ) -> Result<Begin, LedgerError> {
        self.write(move |conn| {
            if let Some(g) = money::guard_in_begin(
                conn,
                &intent.order_id,
                &intent.idempotency_key,
                &intent.gateway,
                policy,
            )? {
                return Ok(Begin::Refused(g));
            }
            ops::begin(conn, &intent)
        })
        .await
    }

    /// The order-level guard's lookup (before routing): the order's succeeded or
    /// live payment, unless `idempotency_key` is already known.
    pub async fn order_guard(
        &self,
        order_id: &str,
        idempotency_key: &str,
    ) -> Result<money::OrderGuard, LedgerError> {
        let (o, k) = (order_id.to_owned(), idempotency_key.to_owned());
        self.read(move |conn| money::order_guard(conn, &o, &k))
            .await
    }

    /// Write-ahead for attempt `seq` (1-based, the attempt's position in
    /// `Completion::attempts`) on `gateway`: an attempt row with outcome `started`,
    /// the payment's `gateway` set to `gateway`, and an `attempt_started` event.
    pub async fn record_attempt_start(
        &self,
        payment_id: &str,
        seq: u32,
        gateway: &str,
    ) -> Result<(), LedgerError> {
        let (payment_id, gateway) = (payment_id.to_owned(), gateway.to_owned());
        self.call(|reply| Cmd::AttemptStart {
            payment_id,
            seq,
            gateway,
            at: OffsetDateTime::now_utc(),
            reply,
        })
        .await
    }

    /// Final linkage, attempts (upserted by position, 1-based), a `completed` event,
    /// and the response stored on the idempotency row (marked completed). Returns
    /// how many early callbacks (orphans) it linked, i.e. queued to the outbox.
    pub async fn complete(&self, c: Completion) -> Result<usize, LedgerError> {
        self.write(move |conn| ops::complete(conn, &c)).await
    }

    /// A payment with its attempts and events, or `None`.
    pub async fn payment(&self, payment_id: &str) -> Result<Option<PaymentView>, LedgerError> {
        let id = payment_id.to_owned();
        self.read(move |conn| read::payment(conn, &id)).await
    }

    /// Every payment with this UTR, RRN or gateway payment id, newest first.
    pub async fn payments_by_reference(
        &self,
        reference: Reference,
        value: &str,
    ) -> Result<Vec<PaymentView>, LedgerError> {
        let v = value.to_owned();
        self.read(move |conn| read::payments_by_reference(conn, reference, &v))
            .await
    }

    /// Every payment of an order, newest first.
    pub async fn payments_by_order(&self, order_id: &str) -> Result<Vec<PaymentView>, LedgerError> {
        let id = order_id.to_owned();
        self.read(move |conn| read::payments_by_order(conn, &id))
            .await
    }

    /// Runs `f` on the writer thread inside the next group commit (its own savepoint:
    /// an `Err` rolls back only `f`'s changes) and returns its result once the batch
    /// is committed (fsynced with `synchronous_full`). Each area keeps its SQL in its
    /// own module and calls it through here.
    pub async fn write<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        self.call(|reply| Cmd::Job(Box::new(writer::FnJob::new(f, reply))))
            .await
    }

    /// Runs `f` on a pooled read connection (off the async threads).
    pub async fn query<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        self.read(f).await
    }

    /// A heartbeat write through the writer: proves it is alive and the database is
    /// writable (for `/readyz`). After a storage failure the ping also rewrites a
    /// 64 KiB probe row, so readiness comes back only once real writes fit again.
    pub async fn ping(&self) -> Result<(), LedgerError> {
        self.call(Cmd::Ping).await
    }

    /// The last storage failure (disk full, I/O error...) of a write, until a later
    /// write commits: `/readyz` answers false from the first failed write on,
    /// without waiting for a ping of its own to fail.
    pub fn write_failure(&self) -> Option<String> {
        self.inner.counters.failure()
    }

    /// Commits everything already queued, checkpoints the WAL, stops the writer and
    /// waits for its thread. Later writes fail with [`LedgerError::Closed`]; reads
    /// keep working. Idempotent.
    pub async fn shutdown(&self) -> Result<(), LedgerError> {
        let result = match self.call_within(None, Cmd::Shutdown).await {
            Err(LedgerError::Closed) => Ok(()),
            other => other,
        };
        let handle = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| LedgerError::Internal(format!("joining the writer: {e}")))?
                .map_err(|_| LedgerError::Internal("the writer thread panicked".into()))?;
        }
        // The writer is gone: another process may have the file now.
        drop(
            self.inner
                .lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        result
    }

    /// Counters from the writer.
    pub fn stats(&self) -> LedgerStats {
        self.inner.counters.snapshot()
    }

    async fn call<T>(&self, make: impl FnOnce(writer::Reply<T>) -> Cmd) -> Result<T, LedgerError> {
        self.call_within(self.inner.call_timeout, make).await
    }

    async fn call_within<T>(
        &self,
        limit: Option<Duration>,
        make: impl FnOnce(writer::Reply<T>) -> Cmd,
    ) -> Result<T, LedgerError> {
        let (reply, rx) = oneshot::channel();
        let call = async {
            self.inner
                .tx
                .send(make(reply))
                .await
                .map_err(|_| LedgerError::Closed)?;
            rx.await.map_err(|_| LedgerError::Closed)?
        };
        match limit {
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .map_err(|_| LedgerError::Timeout(limit))?,
            None => call.await,
        }
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let pool = Arc::clone(&self.inner.reads);
        let task = tokio::task::spawn_blocking(move || pool.with(f));
        let joined = match self.inner.call_timeout {
            Some(limit) => tokio::time::timeout(limit, task)
                .await
                .map_err(|_| LedgerError::Timeout(limit))?,
            None => task.await,
        };
        joined.map_err(|e| LedgerError::Internal(format!("read task: {e}")))?
    }
}

/// Unix milliseconds (UTC) of `t`: the ledger's stored time format.
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
        .saturating_mul(1000)
        .saturating_add(i64::from(t.millisecond()))
}

/// The inverse of [`millis`], in UTC.
pub(crate) fn from_millis(ms: i64) -> Result<OffsetDateTime, LedgerError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| LedgerError::Corrupt(format!("timestamp {ms}: {e}")))
}
