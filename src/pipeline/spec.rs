//! The compiled `[pipeline]` and `[[sink]]` settings. Read when the forwarder starts:
//! changing them needs a restart (a reload keeps the running sinks).

use std::path::PathBuf;
use std::time::Duration;

use crate::model::Secret;

/// `[pipeline]` with its defaults applied, and the sinks (never empty: with no
/// `[[sink]]` the embedded default is a file sink beside the ledger).
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub batch: usize,
    pub poll: Duration,
    pub sinks: Vec<SinkSpec>,
}

/// One `[[sink]]`.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    pub name: String,
    pub kind: SinkKind,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    /// JSON lines appended to `path`, fsynced per batch.
    File { path: PathBuf },
    /// One signed `POST` per event; 2xx means delivered.
    Http {
        url: String,
        secret: Secret,
        timeout: Duration,
    },
    /// `XADD stream [MAXLEN ~ n] * event <json>`.
    Redis {
        url: String,
        stream: String,
        maxlen: Option<u64>,
    },
    /// JetStream publish to `subject` (captured by `stream`), `Nats-Msg-Id` = event id.
    Nats {
        url: String,
        subject: String,
        stream: String,
    },
}

impl SinkKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SinkKind::File { .. } => "file",
            SinkKind::Http { .. } => "http",
            SinkKind::Redis { .. } => "redis",
            SinkKind::Nats { .. } => "nats",
        }
    }
}

/// The default sink when none is configured: `<ledger dir>/events.jsonl`.
pub fn default_sink(ledger_path: &std::path::Path) -> SinkSpec {
    let dir = ledger_path.parent().map(PathBuf::from).unwrap_or_default();
    SinkSpec {
        name: "file".into(),
        kind: SinkKind::File {
            path: dir.join("events.jsonl"),
        },
    }
}
