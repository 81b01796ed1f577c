//! What starts a reload besides `POST /admin/reload`: `SIGHUP`, and a debounced
//! watch of the config file.
//!
//! The watch polls the path's metadata (`stat`, which follows symlinks) twice a
//! second and fires once a change has held still for one more poll. An inotify
//! watch (the first version, `notify-debouncer-mini`) had to watch the file's
//! directory, because editors and config tools replace a file by renaming a new one
//! over it; with the ledger or a file sink in that directory every write woke it,
//! which cost about 15 % of switchyard's CPU under load (docs/BENCHMARKS.md). A stat
//! poll sees renames and Kubernetes ConfigMap symlink swaps alike, costs two system
//! calls a second, and does not care what else lives in the directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};

use super::{Live, Trigger, reload};

/// How often the config file's metadata is checked; a change is read once it has
/// held still for one more check (editors write in bursts).
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// Starts the `SIGHUP` and file-watch triggers when the config came from a file.
/// Both stop when `stop` turns true.
pub fn spawn<L: Live + Clone + 'static>(state: &L, stop: watch::Receiver<bool>) {
    let Some(path) = state.reloader().path() else {
        return;
    };
    let (tx, rx) = mpsc::channel::<Trigger>(4);
    #[cfg(unix)]
    spawn_sighup(tx.clone(), stop.clone());
    if state.reloader().watches_file() {
        tokio::spawn(watch_file(path, tx, stop.clone()));
    }
    tracing::info!("config reload triggers ready (SIGHUP, file watch, POST /admin/reload)");
    let state = state.clone();
    tokio::spawn(run(state, rx, stop));
}

async fn run<L: Live + Clone + 'static>(
    state: L,
    mut rx: mpsc::Receiver<Trigger>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let trigger = tokio::select! {
            t = rx.recv() => match t { Some(t) => t, None => break },
            _ = stop.wait_for(|v| *v) => break,
        };
        let st = state.clone();
        // Errors are logged, counted and alerted inside `reload`.
        let _ = tokio::task::spawn_blocking(move || reload(&st, trigger)).await;
    }
}

#[cfg(unix)]
fn spawn_sighup(tx: mpsc::Sender<Trigger>, mut stop: watch::Receiver<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload by file change or POST /admin/reload");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                s = hup.recv() => {
                    if s.is_none() { break }
                    tracing::info!("SIGHUP: reloading the config");
                    // A reload already queued covers this one.
                    let _ = tx.try_send(Trigger::Signal);
                }
                _ = stop.wait_for(|v| *v) => break,
            }
        }
    });
}

/// What identifies one version of the file: modification time, length and (on
/// Unix) inode, of the file the path points to. `None` while it cannot be read
/// (mid-rename, deleted): no trigger until it is back.
type Fingerprint = Option<(Option<SystemTime>, u64, u64)>;

fn fingerprint(path: &Path) -> Fingerprint {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok(), m.len(), ino))
}

/// Polls the file every [`DEBOUNCE`]; sends [`Trigger::FileWatch`] when its
/// fingerprint changed and then held for one more poll. Unchanged text is skipped
/// later, before parsing, so a `touch` costs one read.
async fn watch_file(path: PathBuf, tx: mpsc::Sender<Trigger>, mut stop: watch::Receiver<bool>) {
    let mut seen = fingerprint(&path);
    let mut pending: Option<Fingerprint> = None;
    let mut tick = tokio::time::interval(DEBOUNCE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|v| *v) => break,
        }
        let now = fingerprint(&path);
        if now == seen || now.is_none() {
            pending = None;
            continue;
        }
        if pending.as_ref() == Some(&now) {
            seen = now;
            pending = None;
            // A reload already queued covers this one.
            let _ = tx.try_send(Trigger::FileWatch);
        } else {
            pending = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_change_fires_once_after_it_holds_still() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sy.toml");
        std::fs::write(&path, "a = 1\n").unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(watch_file(path.clone(), tx, stop_rx));
        tokio::time::sleep(DEBOUNCE * 3).await;
        assert!(rx.try_recv().is_err(), "nothing changed");
        // A rename over the file, as editors save.
        let tmp = dir.path().join(".sy.toml.swp");
        std::fs::write(&tmp, "a = 22\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        tokio::time::sleep(DEBOUNCE * 3).await;
        assert!(matches!(rx.try_recv(), Ok(Trigger::FileWatch)));
        tokio::time::sleep(DEBOUNCE * 3).await;
        assert!(rx.try_recv().is_err(), "one trigger per change");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
