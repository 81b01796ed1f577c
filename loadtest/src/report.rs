//! Per-worker tallies, their merge, and the final report (text or one-line JSON).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::Outcome;

/// Latencies are recorded in µs up to this bound (larger values are clamped to it).
const MAX_US: u64 = 120_000_000;

/// One worker's tally.
pub struct Tally {
    pub hist: Histogram<u64>,
    pub ok_2xx: u64,
    pub http_4xx: u64,
    pub http_5xx: u64,
    pub http_other: u64,
    pub connect: u64,
    pub timeout: u64,
    pub io: u64,
    /// Open loop: sends that started more than 2 ms after their intended time.
    pub late_sends: u64,
    /// Callbacks: the `event_id` of every 2xx answer (switchyard's id of the event).
    pub acked_event_ids: Vec<String>,
    /// Callbacks: 2xx answers by their `result` (`accepted`, `orphan`, `duplicate`, ...).
    pub ack_results: BTreeMap<String, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    pub fn new() -> Self {
        // 3 significant digits over 1 µs .. 120 s (created before any request is sent).
        let hist = Histogram::new_with_bounds(1, MAX_US, 3).expect("constant bounds are valid");
        Tally {
            hist,
            ok_2xx: 0,
            http_4xx: 0,
            http_5xx: 0,
            http_other: 0,
            connect: 0,
            timeout: 0,
            io: 0,
            late_sends: 0,
            acked_event_ids: Vec::new(),
            ack_results: BTreeMap::new(),
        }
    }

    /// Counts one outcome; complete HTTP answers (any status) also record their latency.
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        match outcome {
            Outcome::Status(s) => {
                let us = u64::try_from(latency.as_micros()).unwrap_or(MAX_US).max(1);
                self.hist.saturating_record(us.min(MAX_US));
                match s {
                    200..=299 => self.ok_2xx += 1,
                    400..=499 => self.http_4xx += 1,
                    500..=599 => self.http_5xx += 1,
                    _ => self.http_other += 1,
                }
            }
            Outcome::Connect => self.connect += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::Io => self.io += 1,
        }
    }

    pub fn merge(&mut self, o: &Tally) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.hist.add(&o.hist);
        self.ok_2xx += o.ok_2xx;
        self.http_4xx += o.http_4xx;
        self.http_5xx += o.http_5xx;
        self.http_other += o.http_other;
        self.connect += o.connect;
        self.timeout += o.timeout;
        self.io += o.io;
        self.late_sends += o.late_sends;
        self.acked_event_ids
            .extend(o.acked_event_ids.iter().cloned());
        for (k, v) in &o.ack_results {
            *self.ack_results.entry(k.clone()).or_default() += v;
        }
    }

    /// Records a callback ACK's answer `{"result": "...", "event_id": "..."}`.
    pub fn record_ack(&mut self, body: &[u8]) {
        #[derive(serde::Deserialize)]
        struct Ack {
            result: Option<String>,
            event_id: Option<String>,
        }
        let ack: Option<Ack> = serde_json::from_slice(body).ok();
        let (result, id) = ack.map_or((None, None), |a| (a.result, a.event_id));
        let result = result.unwrap_or_else(|| "unreadable".to_string());
        *self.ack_results.entry(result).or_default() += 1;
        if let Some(id) = id {
            self.acked_event_ids.push(id);
        }
    }
}

/// Errors by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Errors {
    pub connect: u64,
    pub timeout: u64,
    pub io: u64,
    pub http_4xx: u64,
    pub http_5xx: u64,
    pub http_other: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.io + self.http_4xx + self.http_5xx + self.http_other
    }
}

/// The result of a run. Flat field names so shell scripts can pick them with `sed`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub url: String,
    pub target_kind: &'static str,
    pub connections: usize,
    /// Open loop: the offered rate; closed loop: 0.
    pub target_rate: f64,
    pub duration_s: f64,
    /// Attempts that ended (answered or failed).
    pub requests: u64,
    pub ok_2xx: u64,
    pub errors_total: u64,
    pub errors: Errors,
    pub late_sends: u64,
    pub elapsed_s: f64,
    /// Complete 2xx answers per second of elapsed time.
    pub rps: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    /// Callbacks: 2xx answers by their `result`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ack_results: BTreeMap<String, u64>,
    /// Callbacks: the `event_id` of every 2xx answer (not serialized: it can be long).
    #[serde(skip)]
    pub acked_event_ids: Vec<String>,
}

impl Report {
    pub fn from_tally(t: &Tally, head: ReportHead, elapsed: Duration) -> Report {
        let errors = Errors {
            connect: t.connect,
            timeout: t.timeout,
            io: t.io,
            http_4xx: t.http_4xx,
            http_5xx: t.http_5xx,
            http_other: t.http_other,
        };
        let secs = elapsed.as_secs_f64().max(1e-9);
        let h = &t.hist;
        let q = |p: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(p)
            }
        };
        Report {
            mode: head.mode,
            url: head.url,
            target_kind: head.target_kind,
            connections: head.connections,
            target_rate: head.target_rate,
            duration_s: head.duration_s,
            requests: t.ok_2xx + errors.total(),
            ok_2xx: t.ok_2xx,
            errors_total: errors.total(),
            errors,
            late_sends: t.late_sends,
            elapsed_s: secs,
            rps: t.ok_2xx as f64 / secs,
            p50_us: q(0.50),
            p90_us: q(0.90),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: if h.is_empty() { 0 } else { h.max() },
            mean_us: if h.is_empty() { 0.0 } else { h.mean() },
            ack_results: t.ack_results.clone(),
            acked_event_ids: t.acked_event_ids.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#))
    }
}

/// The run parameters echoed in the report.
pub struct ReportHead {
    pub mode: &'static str,
    pub url: String,
    pub target_kind: &'static str,
    pub connections: usize,
    pub target_rate: f64,
    pub duration_s: f64,
}

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} loop, {} ({}), {} connections{}",
            self.mode,
            self.url,
            self.target_kind,
            self.connections,
            if self.mode == "open" {
                format!(", offered {} req/s", self.target_rate)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  requests {}  ok {}  errors {}  in {:.2} s  =>  {:.1} req/s (2xx)",
            self.requests, self.ok_2xx, self.errors_total, self.elapsed_s, self.rps
        )?;
        writeln!(
            f,
            "  latency p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.3} ms",
            ms(self.p50_us),
            ms(self.p90_us),
            ms(self.p99_us),
            ms(self.p999_us),
            ms(self.max_us),
            self.mean_us / 1000.0
        )?;
        let e = &self.errors;
        write!(
            f,
            "  errors: connect {}  timeout {}  io {}  http_4xx {}  http_5xx {}  http_other {}",
            e.connect, e.timeout, e.io, e.http_4xx, e.http_5xx, e.http_other
        )?;
        if self.mode == "open" {
            write!(
                f,
                "\n  late sends (>2 ms behind schedule): {}",
                self.late_sends
            )?;
        }
        Ok(())
    }
}
