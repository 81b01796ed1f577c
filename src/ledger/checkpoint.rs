//! The checkpointer: copies WAL frames back into the database file off the writer.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that crosses the
//! threshold (1,000 frames), on the writer thread: every caller queued behind that
//! commit waited for a WAL sync, the copy and a database sync. Under load that was
//! 12% of the writer's CPU and the largest source of tail latency (measured in
//! docs/BENCHMARKS.md). Here the writer's connection has `wal_autocheckpoint = 0`
//! and this thread, on a connection of its own, runs a `PASSIVE` checkpoint every
//! 10 ms when something was committed. `PASSIVE` never blocks the writer or the
//! readers; it copies what no reader still needs.
//!
//! The WAL only restarts from its beginning when a write transaction starts with
//! every frame already copied, which a busy writer rarely allows a concurrent
//! checkpoint to achieve. So when a pass leaves more than [`FINISH_AT`] frames in
//! the log, it asks the writer to run one `PASSIVE` checkpoint itself between two
//! batches ([`Checkpointer::take_finish_request`]): most frames are already copied,
//! so that pass is short, and as nothing commits during it, it leaves the log fully
//! copied and the next transaction restarts it. The WAL therefore stays near
//! `FINISH_AT` frames (~16 MiB) under any load.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::LedgerError;
use super::writer::Counters;

/// Frames left in the WAL after a pass above which the writer finishes the job.
const FINISH_AT: i64 = 4_000;

const EVERY: Duration = Duration::from_millis(10);

/// A running checkpointer thread.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    finish: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens its connection (errors surface here, at ledger open) and starts the
    /// thread. A pass runs only after the writer's commit counter moved; it counts
    /// the passes in `checkpoints`.
    pub(crate) fn start(path: &Path, counters: Arc<Counters>) -> Result<Checkpointer, LedgerError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let stop = Arc::new(AtomicBool::new(false));
        let finish = Arc::new(AtomicBool::new(false));
        let (s, f) = (Arc::clone(&stop), Arc::clone(&finish));
        let handle = std::thread::Builder::new()
            .name("ledger-ckpt".into())
            .spawn(move || run(conn, &s, &f, &counters))?;
        Ok(Checkpointer {
            stop,
            finish,
            handle: Some(handle),
        })
    }

    /// True once after a pass asked the writer to finish the checkpoint.
    pub(crate) fn take_finish_request(&self) -> bool {
        self.finish.swap(false, Ordering::AcqRel)
    }

    /// The writer's finishing pass, between two batches (nothing else writes
    /// meanwhile, so it leaves the whole log copied). Asks again after the next
    /// batch when the background pass held the lock or a reader kept frames.
    pub(crate) fn finish(&self, conn: &Connection) {
        match passive(conn) {
            Ok(p) if p.busy || p.copied < p.log => self.finish.store(true, Ordering::Release),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ledger: finishing a checkpoint failed"),
        }
    }

    /// Stops the thread and waits for it (its current pass completes first).
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            if h.join().is_err() {
                tracing::error!("ledger: the checkpoint thread panicked");
            }
        }
    }
}

/// What one checkpoint pass did.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// Another checkpoint held the lock: nothing was done.
    busy: bool,
    /// Frames in the WAL when the pass began.
    log: i64,
    /// Frames copied into the database file, in all.
    copied: i64,
}

impl Drop for Checkpointer {
    /// A checkpointer dropped without [`Checkpointer::stop`] (a failed ledger open)
    /// still ends its thread.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
    }
}

/// One `PASSIVE` checkpoint.
fn passive(conn: &Connection) -> Result<Pass, rusqlite::Error> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(Pass {
            busy: r.get::<_, i64>(0)? != 0,
            log: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}

fn run(conn: Connection, stop: &AtomicBool, finish: &AtomicBool, counters: &Counters) {
    let mut seen = counters.commits.load(Ordering::Relaxed);
    let mut warned = false;
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(EVERY);
        let now = counters.commits.load(Ordering::Relaxed);
        if now == seen {
            continue;
        }
        seen = now;
        match passive(&conn) {
            Ok(p) => {
                counters.checkpoints.fetch_add(1, Ordering::Relaxed);
                warned = false;
                // `log` is the WAL as the pass began: the writer has appended
                // since, so a long log is never fully copied here (see above).
                if p.log > FINISH_AT {
                    finish.store(true, Ordering::Release);
                }
            }
            Err(e) if !warned => {
                warned = true;
                tracing::warn!(error = %e, "ledger: background checkpoint failed; will retry");
            }
            Err(_) => {}
        }
    }
    drop(conn);
}

#[cfg(test)]
mod tests {
    use crate::ledger::{Ledger, LedgerOptions};

    /// Sustained writes far past `FINISH_AT` frames: the background passes plus
    /// the writer's finishing pass keep restarting the WAL, so the file stays
    /// bounded instead of growing with everything written (~60 MiB here).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::open(&path, LedgerOptions::default()).unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let ledger = ledger.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..375 {
                    ledger
                        .write(move |c| {
                            c.execute(
                                "INSERT INTO meta (key, value) VALUES (?1, hex(randomblob(8000)))",
                                [format!("k{t}-{i}")],
                            )?;
                            Ok(())
                        })
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("l.db-wal"))
            .unwrap()
            .len();
        let s = ledger.stats();
        assert!(s.checkpoints > 0, "no background checkpoint ran: {s:?}");
        assert!(
            wal < 40 << 20,
            "WAL grew to {wal} bytes for ~60 MiB written: it is not being restarted"
        );
        ledger.shutdown().await.unwrap();
        // The shutdown checkpoint (TRUNCATE) leaves an empty WAL.
        let wal = std::fs::metadata(dir.path().join("l.db-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0);
    }
}
