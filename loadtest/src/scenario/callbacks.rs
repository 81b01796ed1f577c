//! `callbacks`: sustained signed generic-dialect callbacks (open loop at the rate) to
//! switchyard's `POST /v1/callbacks/a`, with the forwarder running to the file sink.
//!
//! 1. Setup (not timed): `rate × duration` payments are created through switchyard
//!    (`POST /v1/payments`, all routed to sandbox gateway `a`, sandbox callbacks off so
//!    only ours arrive). Each answer names the payment (`payment_id`, which the generic
//!    dialect echoes as `merchant_txn_id`, and the gateway's `gateway_payment_id`).
//! 2. Timed: one signed final `succeeded` callback per payment at the offered rate:
//!    durable ACKs per second (2xx answers: switchyard commits before it answers) and
//!    the ACK latency; each ACK's `result` and `event_id` are kept.
//! 3. Drain: waits (up to [`DRAIN`]) until the file sink holds every ACKed `event_id`
//!    (distinct ids, not lines), and reports how many did and how long it took.
//!
//! Callbacks for payments switchyard never saw would be stored as orphans, which are
//! forwarded only once linked (docs/CALLBACKS.md): not the path a benchmark wants.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::bail;
use tokio::time::Instant;

use super::{Common, Outcome, failed, ms, open_plan};
use crate::client::{Conn, Outcome as Sent, Target};
use crate::payload::{CreatedPayment, Payloads, TargetKind, run_id};
use crate::stack::{Stack, StackOptions};

/// How long the forwarder may take, after the timed phase, to write every ACKed event.
const DRAIN: Duration = Duration::from_secs(60);
/// Connections that create the payments in the setup phase.
const SETUP_CONNECTIONS: usize = 32;
/// Time allowed for the setup phase.
const SETUP_LIMIT: Duration = Duration::from_secs(300);

/// Creates `n` payments through switchyard; their answers in creation order.
pub async fn create_payments(url: &str, n: u64) -> anyhow::Result<Vec<CreatedPayment>> {
    let target = Target::parse(url)?;
    let run = run_id();
    let next = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + SETUP_LIMIT;
    let mut tasks = Vec::new();
    for w in 0..SETUP_CONNECTIONS {
        let mut conn = Conn::new(target.clone(), Duration::from_secs(10));
        let payloads = Payloads::new(TargetKind::Switchyard, &run, w);
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            let mut failures = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || Instant::now() > until {
                    break;
                }
                let outcome = conn.send(payloads.make(i), Duration::from_secs(10)).await;
                let created = matches!(outcome, Sent::Status(s) if (200..300).contains(&s))
                    .then(|| CreatedPayment::from_answer(conn.last_body()))
                    .flatten();
                match created {
                    Some(p) => made.push((i, p)),
                    None => failures += 1,
                }
            }
            (made, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (made, f) = t.await?;
        all.extend(made);
        failures += f;
    }
    if failures > 0 || all.len() as u64 != n {
        bail!(
            "setup created {} of {n} payments ({failures} failed)",
            all.len()
        );
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, p)| p).collect())
}

/// The distinct `event_id`s of a JSON-lines file, read incrementally from `pos`
/// (only complete lines; `pos` moves past them).
fn read_event_ids(path: &Path, pos: &mut u64, ids: &mut HashSet<String>) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Line {
        event_id: String,
    }
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    f.seek(SeekFrom::Start(*pos))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let complete = buf.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    for line in buf[..complete].split(|&c| c == b'\n') {
        if line.is_empty() {
            continue;
        }
        let l: Line = serde_json::from_slice(line)?;
        ids.insert(l.event_id);
    }
    *pos += complete as u64;
    Ok(())
}

/// switchyard's `(ledger_commits, ledger_writes)` from `GET /metrics`: group commits
/// (one WAL fsync each) and write commands since start.
async fn ledger_counters(stack: &Stack) -> anyhow::Result<(u64, u64)> {
    let (status, text) = crate::http::request(stack.listen, "GET", "/metrics", &[], None).await?;
    if status != 200 {
        bail!("GET /metrics answered {status}");
    }
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Ok((
        value("switchyard_ledger_commits"),
        value("switchyard_ledger_writes"),
    ))
}

/// Waits until the sink holds every id of `acked` or [`DRAIN`] passed: the distinct
/// ids in the sink, how many of `acked` are among them, and the time waited.
async fn drain(sink: &Path, acked: &HashSet<String>) -> anyhow::Result<(usize, usize, Duration)> {
    let start = Instant::now();
    let (mut pos, mut seen) = (0, HashSet::new());
    loop {
        read_event_ids(sink, &mut pos, &mut seen)?;
        let found = acked.iter().filter(|id| seen.contains(*id)).count();
        if found == acked.len() || start.elapsed() > DRAIN {
            return Ok((seen.len(), found, start.elapsed()));
        }
        // Polling a file the forwarder appends to: there is nothing to await.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn run(c: &Common) -> anyhow::Result<Outcome> {
    let mut opts = StackOptions::new(&c.bin);
    opts.file_sink = true;
    opts.sandbox_callbacks = false;
    // All payments on gateway `a`, so every callback comes from the payment's gateway.
    opts.split = (100, 0);
    let mut stack = Stack::start(&opts).await?;
    let n = (c.rate * c.duration.as_secs_f64()).round() as u64;
    let setup = Instant::now();
    let payments: Arc<[CreatedPayment]> = create_payments(&stack.payments_url(), n).await?.into();
    let setup_s = setup.elapsed().as_secs_f64();
    let url = format!("http://{}/v1/callbacks/a", stack.listen);
    let mut plan = open_plan(c, url, TargetKind::Callback, c.duration);
    plan.max_requests = Some(n);
    plan.callbacks = Some(payments);
    let before = ledger_counters(&stack).await?;
    let r = crate::run(plan).await?;
    let after = ledger_counters(&stack).await?;
    // The timed phase's writes: the callbacks plus the forwarder's bookkeeping.
    let commits = after.0.saturating_sub(before.0);
    let writes = after.1.saturating_sub(before.1);
    let acked: HashSet<String> = r.acked_event_ids.iter().cloned().collect();
    let sink = stack.sink_path.clone();
    let (sink_events, acked_in_sink, waited) = match &sink {
        Some(p) => drain(p, &acked).await?,
        None => (0, 0, Duration::ZERO),
    };
    stack.stop();
    let mut o = Outcome::new("callbacks");
    o.row("rate", "offered rate (callbacks/s)", c.rate);
    o.row("duration_s", "duration (s)", c.duration.as_secs_f64());
    o.row("payments", "payments created first (setup)", n);
    o.row("setup_s", "setup time (s)", setup_s);
    o.row("acked", "ACKed (2xx)", r.ok_2xx);
    o.row("acked_ids", "distinct ACKed event ids", acked.len() as u64);
    o.row("acks_per_s", "durable ACKs/s", r.rps);
    o.row("failed", "not ACKed (errors, 4xx included)", r.errors_total);
    o.row("failed_non_4xx", "of which 5xx/connect/timeout", failed(&r));
    o.row("late_sends", "sends >2 ms behind schedule", r.late_sends);
    o.row("ack_p50_ms", "ACK p50 (ms)", ms(r.p50_us));
    o.row("ack_p99_ms", "ACK p99 (ms)", ms(r.p99_us));
    o.row("ack_p999_ms", "ACK p99.9 (ms)", ms(r.p999_us));
    o.row("ack_max_ms", "ACK max (ms)", ms(r.max_us));
    o.row(
        "commits",
        "ledger group commits (fsyncs) while timed",
        commits,
    );
    o.row(
        "writes_per_commit",
        "ledger writes per group commit",
        writes as f64 / commits.max(1) as f64,
    );
    o.row(
        "sink_events",
        "distinct events in the file sink",
        sink_events as u64,
    );
    o.row(
        "acked_in_sink",
        "ACKed event ids found in the sink",
        acked_in_sink as u64,
    );
    o.row(
        "drain_s",
        "sink caught up after the last ACK (s)",
        waited.as_secs_f64(),
    );
    o.field("ack_results", serde_json::to_value(&r.ack_results)?);
    o.field("report", serde_json::to_value(&r)?);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_read_incrementally_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let (mut pos, mut ids) = (0, HashSet::new());
        read_event_ids(&p, &mut pos, &mut ids).unwrap();
        assert!(ids.is_empty());
        std::fs::write(
            &p,
            "{\"event_id\":\"e1\"}\n{\"event_id\":\"e1\"}\n{\"event_",
        )
        .unwrap();
        read_event_ids(&p, &mut pos, &mut ids).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(pos, 36);
        std::fs::write(
            &p,
            "{\"event_id\":\"e1\"}\n{\"event_id\":\"e1\"}\n{\"event_id\":\"e2\",\"x\":1}\n",
        )
        .unwrap();
        read_event_ids(&p, &mut pos, &mut ids).unwrap();
        assert_eq!(ids.len(), 2);
    }
}
