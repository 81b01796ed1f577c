//! Scenarios against real processes started by [`crate::stack`]: each prints a table
//! and one JSON object.
//!
//! - [`latency`]: open loop, direct vs through switchyard: the added p50/p99;
//! - [`callbacks`]: payments created first, then sustained signed callbacks for them:
//!   durable ACKs/s and ACK latency, and every ACKed event in the file sink;
//! - [`soak`]: moderate rate; RSS and fds of the switchyard process over time, ledger
//!   bytes per payment;
//! - [`reload`]: hot reload every second under load (SIGHUP or `POST /admin/reload`):
//!   failed requests and latency with vs without reloads;
//! - [`incident`]: 90/10 split; `a` hard down, later `b` degrades 95% → 80%: detection
//!   time, customer-failed requests, recovery time (from `GET /admin/gateways`);
//! - [`saleday`]: a compressed sale day through three gateways with every fault, a
//!   SIGKILL and restart, scored against the sandboxes' ground truth.

pub mod callbacks;
pub mod incident;
pub mod latency;
pub mod reload;
pub mod saleday;
pub mod soak;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::payload::TargetKind;
use crate::report::Report;
use crate::run::{Mode, Plan};

/// Options every scenario takes.
#[derive(Debug, Clone)]
pub struct Common {
    /// The `switchyard` binary (release for benchmarks).
    pub bin: PathBuf,
    /// Offered load, requests per second (open loop).
    pub rate: f64,
    pub duration: Duration,
    pub connections: usize,
}

/// What a scenario measured: a two-column table and the same as JSON.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub rows: Vec<(String, String)>,
    pub json: Value,
}

impl Outcome {
    pub fn new(name: &'static str) -> Self {
        Outcome {
            name,
            rows: Vec::new(),
            json: serde_json::json!({ "scenario": name }),
        }
    }

    /// Adds a table row and the JSON field `key`.
    pub fn row(&mut self, key: &str, label: &str, v: impl Into<Value>) {
        let v = v.into();
        let text = match &v {
            Value::String(s) => s.clone(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => format!("{f:.3}"),
                _ => n.to_string(),
            },
            other => other.to_string(),
        };
        self.rows.push((label.to_string(), text));
        if let Some(o) = self.json.as_object_mut() {
            o.insert(key.to_string(), v);
        }
    }

    /// Adds a JSON-only field.
    pub fn field(&mut self, key: &str, v: impl Into<Value>) {
        if let Some(o) = self.json.as_object_mut() {
            o.insert(key.to_string(), v.into());
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        writeln!(f, "scenario: {}", self.name)?;
        for (l, v) in &self.rows {
            writeln!(f, "  {l:<w$}  {v}")?;
        }
        Ok(())
    }
}

/// An open-loop plan at the scenario's rate.
pub(crate) fn open_plan(c: &Common, url: String, kind: TargetKind, duration: Duration) -> Plan {
    Plan {
        mode: Mode::Open { rate: c.rate },
        url,
        kind,
        connections: c.connections,
        duration,
        timeout: Duration::from_secs(5),
        max_requests: None,
        callbacks: None,
    }
}

/// Milliseconds from a report's microseconds.
pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Customer-visible failures of a run: every error except a business decline (4xx).
pub(crate) fn failed(r: &Report) -> u64 {
    r.errors_total - r.errors.http_4xx
}
