//! Where events go. Each [`Sink`] delivers a batch of outbox rows in order and says
//! how many of them (a prefix) it delivered; the forwarder retries the rest.
//!
//! Connections are made on first use and remade after an error, so a broker that is
//! down when switchyard starts only delays delivery.

mod file;
mod http;
mod nats;
mod redis;

use std::sync::Arc;

use super::{SinkKind, SinkSpec};
use crate::ledger::delivery::OutboxRow;

pub use file::FileSink;
pub use http::{HttpSink, SIGNATURE_HEADER};
pub use nats::NatsSink;
pub use redis::RedisSink;

/// Why a delivery failed (the text goes to logs and to the dead letter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

impl SinkError {
    pub fn new(e: impl std::fmt::Display) -> Self {
        SinkError(e.to_string())
    }
}

/// A batch that was delivered only in part: `delivered` rows from the start made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub delivered: usize,
    pub error: SinkError,
}

impl Partial {
    pub fn none(error: impl std::fmt::Display) -> Self {
        Partial {
            delivered: 0,
            error: SinkError::new(error),
        }
    }
}

#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// Delivers `events` in order. `Err` carries how many from the start were
    /// delivered before the failure.
    async fn deliver(&self, events: &[OutboxRow]) -> Result<(), Partial>;
}

/// A configured sink, ready to deliver.
#[derive(Clone)]
pub struct NamedSink {
    pub name: String,
    pub sink: Arc<dyn Sink>,
}

/// Builds the sink for `spec` (no connection is made yet).
pub fn build(spec: &SinkSpec) -> Result<NamedSink, SinkError> {
    let sink: Arc<dyn Sink> = match &spec.kind {
        SinkKind::File { path } => Arc::new(FileSink::new(path.clone())),
        SinkKind::Http {
            url,
            secret,
            timeout,
        } => Arc::new(HttpSink::new(url, secret.clone(), *timeout)?),
        SinkKind::Redis {
            url,
            stream,
            maxlen,
        } => Arc::new(RedisSink::new(url, stream, *maxlen)?),
        SinkKind::Nats {
            url,
            subject,
            stream,
        } => Arc::new(NatsSink::new(url, subject, stream)),
    };
    Ok(NamedSink {
        name: spec.name.clone(),
        sink,
    })
}

/// Builds every sink of `specs`, keeping only `only` when given.
pub fn build_all(specs: &[SinkSpec], only: Option<&str>) -> Result<Vec<NamedSink>, SinkError> {
    specs
        .iter()
        .filter(|s| only.is_none_or(|o| o == s.name))
        .map(build)
        .collect()
}
