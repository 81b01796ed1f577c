//! Hot reload: one path for `SIGHUP`, the debounced file watch and `POST /admin/reload`:
//! read → parse → validate → compile → [`Live::swap`] (the application state
//! implements [`Live`]; this module depends only on the config, alerts and metrics).
//!
//! An invalid file changes nothing (the old config keeps serving; every error is
//! logged, returned and counted as `config_reloads_total{result="error"}`, and an
//! alert is raised). A file that changes a bootstrap key (listeners, ledger) is
//! refused the same way: those need a restart. Reloads are serialized by one mutex,
//! and every applied generation is published on a `watch` channel.

mod diff;
mod last;
pub mod triggers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::alerts::{Alert, Alerter, Severity};
use crate::config::{self, ConfigErrors, Env, Snapshot};
use crate::metrics::Metrics;

pub use diff::changes;
pub use last::{LastReload, LastSlot};

/// What a reload acts on: the running service, as seen from here.
pub trait Live: Send + Sync {
    /// Where the config comes from, the reload lock, the generation channel.
    fn reloader(&self) -> &Reloader;
    /// The config in force.
    fn current(&self) -> Arc<Snapshot>;
    /// Swaps in a new config and everything derived from it.
    fn swap(&self, snapshot: Snapshot);
    fn metrics(&self) -> &Metrics;
    fn alerts(&self) -> &Alerter;
}

/// What asked for the reload (logged, and the file watch skips unchanged files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    FileWatch,
    Admin,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Signal => "sighup",
            Trigger::FileWatch => "file_watch",
            Trigger::Admin => "admin",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the running config did not come from a file, so it cannot be reloaded")]
    Unavailable,
    #[error("invalid config, nothing changed:\n{0}")]
    Invalid(ConfigErrors),
    #[error("refused: these keys need a restart: {}", .0.join(", "))]
    RestartRequired(Vec<String>),
}

/// A reload that was applied (or skipped because the file had not changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub generation: u64,
    /// One human line per change (`route default: razorpay 500‰ → 800‰`).
    pub changes: Vec<String>,
    pub unchanged: bool,
}

struct Source {
    path: Option<PathBuf>,
    /// The text of the config in force, when it came from a file.
    text: Option<Arc<str>>,
    env: Env,
    /// Whether the file watch trigger starts (on by default).
    watch_file: bool,
}

/// The reload state kept by the running service (`state.reload`).
pub struct Reloader {
    source: Mutex<Source>,
    generation: watch::Sender<u64>,
    /// The last attempt's result (for the status page).
    last: LastSlot,
}

impl Reloader {
    pub fn new(generation: u64) -> Self {
        Reloader {
            source: Mutex::new(Source {
                path: None,
                text: None,
                env: config::process_env(),
                watch_file: true,
            }),
            generation: watch::Sender::new(generation),
            last: LastSlot::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Source> {
        // A panic while holding it cannot leave `Source` half-written.
        self.source.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the config lives (reloads read it again) and the text now in force.
    pub fn set_source(&self, path: PathBuf, text: Option<String>) {
        let mut s = self.lock();
        s.path = Some(path);
        s.text = text.map(Arc::from);
    }

    /// Replaces the environment lookup used to resolve `*_env` references.
    pub fn set_env(&self, env: Env) {
        self.lock().env = env;
    }

    /// Turns the file watch off (before `Server::run`), e.g. where a test
    /// rewrites the file and wants only its own explicit reloads.
    pub fn set_file_watch(&self, on: bool) {
        self.lock().watch_file = on;
    }

    pub fn watches_file(&self) -> bool {
        self.lock().watch_file
    }

    pub fn path(&self) -> Option<PathBuf> {
        self.lock().path.clone()
    }

    /// The text of the config in force, when it came from a file.
    pub fn text(&self) -> Option<Arc<str>> {
        self.lock().text.clone()
    }

    /// The last reload attempt, applied or refused (none yet: `None`).
    pub fn last(&self) -> Option<LastReload> {
        self.last.get()
    }

    /// Every applied generation, newest last.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// The one reload path. Synchronous and quick (a file read and a compile); callers
/// in async code run it on a blocking thread.
pub fn reload(state: &dyn Live, trigger: Trigger) -> Result<Reloaded, ReloadError> {
    let mut source = state.reloader().lock();
    let Some(path) = source.path.clone() else {
        return Err(ReloadError::Unavailable);
    };
    let old = state.current();
    let generation = old.generation + 1;
    let text = match config::read_file(&path) {
        Ok(t) => t,
        Err(e) => {
            let e = ReloadError::Invalid(e);
            failed(state, trigger, &path, &e);
            return Err(e);
        }
    };
    // The watch also fires for saves that change nothing (and for other files of
    // a Kubernetes ConfigMap directory): the config in force stays, untouched.
    if trigger == Trigger::FileWatch && source.text.as_deref() == Some(text.as_str()) {
        return Ok(Reloaded {
            generation: old.generation,
            changes: Vec::new(),
            unchanged: true,
        });
    }
    let source_name = path.display().to_string();
    let result = config::load_str(&text, &source_name, source.env.as_ref(), generation)
        .map_err(ReloadError::Invalid)
        .and_then(|snap| {
            let keys = config::bootstrap_changes(&old.bootstrap, &snap.bootstrap);
            if keys.is_empty() {
                Ok(snap)
            } else {
                Err(ReloadError::RestartRequired(keys))
            }
        });
    let snap = match result {
        Ok(v) => v,
        Err(e) => {
            failed(state, trigger, &path, &e);
            return Err(e);
        }
    };
    let changes = diff::changes(&old, &snap);
    state.swap(snap);
    source.text = Some(Arc::from(text));
    drop(source);
    state
        .metrics()
        .config_reloads
        .with_label_values(&["ok"])
        .inc();
    state.reloader().generation.send_replace(generation);
    state
        .reloader()
        .last
        .record(trigger.as_str(), true, generation, &changes);
    tracing::info!(
        trigger = trigger.as_str(),
        generation,
        changes = %changes.join("; "),
        "config reloaded"
    );
    Ok(Reloaded {
        generation,
        changes,
        unchanged: false,
    })
}

fn failed(state: &dyn Live, trigger: Trigger, path: &Path, e: &ReloadError) {
    state
        .metrics()
        .config_reloads
        .with_label_values(&["error"])
        .inc();
    let errors: Vec<String> = match e {
        ReloadError::Invalid(errs) => errs.0.iter().map(ToString::to_string).collect(),
        other => vec![other.to_string()],
    };
    for err in &errors {
        tracing::error!(trigger = trigger.as_str(), error = %err, "config reload refused");
    }
    state
        .reloader()
        .last
        .record(trigger.as_str(), false, state.current().generation, &errors);
    state.alerts().send(Alert {
        kind: "config_reload_failed",
        severity: Severity::Warning,
        gateway: None,
        route: None,
        text: format!(
            "switchyard: config reload ({}) of {} failed; the old config keeps serving: {}",
            trigger.as_str(),
            path.display(),
            errors.first().map_or("", String::as_str)
        ),
        evidence: serde_json::json!({ "trigger": trigger.as_str(), "errors": errors }),
        at: time::OffsetDateTime::now_utc(),
    });
}
