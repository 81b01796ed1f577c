//! What starts a reload besides `POST /admin/reload`: `SIGHUP`, and a debounced
//! watch of the config file.
//!
//! The watch uses `notify-debouncer-mini` (the `notify` project's own debouncer:
//! inotify on Linux, kqueue/FSEvents elsewhere) on the file's directory, not the
//! file, because editors and config-management tools replace a file by renaming a
//! new one over it, which a watch on the old inode would miss.

use std::path::PathBuf;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, new_debouncer};
use tokio::sync::{mpsc, watch};

use super::{Trigger, reload};
use crate::state::AppState;

/// Quiet time after the last change before the file is read (editors write in bursts).
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// Starts the `SIGHUP` and file-watch triggers when the config came from a file.
/// Both stop when `stop` turns true.
pub fn spawn(state: &AppState, stop: watch::Receiver<bool>) {
    let Some(path) = state.reload.path() else {
        return;
    };
    let (tx, rx) = mpsc::channel::<Trigger>(4);
    #[cfg(unix)]
    spawn_sighup(tx.clone(), stop.clone());
    let watcher = if state.reload.watches_file() {
        watch_file(path, tx)
    } else {
        None
    };
    tracing::info!("config reload triggers ready (SIGHUP, file watch, POST /admin/reload)");
    let state = state.clone();
    tokio::spawn(run(state, rx, stop, watcher));
}

async fn run<W: Send + 'static>(
    state: AppState,
    mut rx: mpsc::Receiver<Trigger>,
    mut stop: watch::Receiver<bool>,
    watcher: W,
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
    drop(watcher);
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

/// The watcher must be kept alive for events to flow; `None` when it cannot start
/// (reload then works by signal and admin call only).
fn watch_file(
    path: PathBuf,
    tx: mpsc::Sender<Trigger>,
) -> Option<notify_debouncer_mini::Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>> {
    let file_name = path.file_name()?.to_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let handler = move |res: DebounceEventResult| match res {
        Ok(events) => {
            if events
                .iter()
                .any(|e| e.path.file_name() == Some(file_name.as_os_str()))
            {
                let _ = tx.try_send(Trigger::FileWatch);
            }
        }
        Err(e) => tracing::warn!(error = %e, "config file watch error"),
    };
    let mut debouncer = match new_debouncer(DEBOUNCE, handler) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the config file; reload by SIGHUP or POST /admin/reload");
            return None;
        }
    };
    if let Err(e) = debouncer.watcher().watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot watch the config directory");
        return None;
    }
    Some(debouncer)
}
