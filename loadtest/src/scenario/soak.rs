//! `soak`: open-loop load at a moderate rate for the duration while the switchyard
//! process's RSS and open file descriptors are sampled every `interval`; then the
//! ledger's bytes per payment. Flat means: the last samples are within a few percent
//! of the ones after warm-up (the report gives first, max, last and the drift).

use std::time::Duration;

use super::{Common, Outcome, failed, open_plan};
use crate::payload::TargetKind;
use crate::stack::{Stack, StackOptions, proc_sample};

/// One sample: seconds since start, RSS kB, fds.
pub type Sample = (f64, u64, u64);

pub async fn run(c: &Common, interval: Duration) -> anyhow::Result<Outcome> {
    let mut stack = Stack::start(&StackOptions::new(&c.bin)).await?;
    let pid = stack
        .switchyard_pid()
        .ok_or_else(|| anyhow::anyhow!("switchyard is not running"))?;
    let ledger_before = stack.ledger_bytes();
    let load = tokio::spawn(crate::run(open_plan(
        c,
        stack.payments_url(),
        TargetKind::Switchyard,
        c.duration,
    )));
    let start = tokio::time::Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut tick = tokio::time::interval(interval);
    while !load.is_finished() {
        tick.tick().await;
        if load.is_finished() {
            break; // a sample after the load would show the generator's sockets gone
        }
        if let Some((rss, fds)) = proc_sample(pid) {
            samples.push((start.elapsed().as_secs_f64(), rss, fds));
        }
    }
    let report = load.await??;
    let ledger = stack.ledger_bytes().saturating_sub(ledger_before);
    stack.stop();

    let mut o = Outcome::new("soak");
    o.row("rate", "offered rate (req/s)", c.rate);
    o.row("duration_s", "duration (s)", c.duration.as_secs_f64());
    o.row("payments", "payments (2xx)", report.ok_2xx);
    o.row("failed", "failed requests", failed(&report));
    o.row("p99_ms", "p99 (ms)", super::ms(report.p99_us));
    // Skip the first fifth (warm-up: pools, caches, the ledger's first pages).
    let steady = &samples[samples.len() / 5..];
    let pick = |f: fn(&Sample) -> u64| {
        let first = steady.first().map_or(0, f);
        let last = steady.last().map_or(0, f);
        let max = steady.iter().map(f).max().unwrap_or(0);
        (first, max, last)
    };
    let (r0, rmax, r1) = pick(|s| s.1);
    let (f0, fmax, f1) = pick(|s| s.2);
    o.row("samples", "samples", samples.len() as u64);
    o.row("rss_first_kb", "RSS after warm-up (kB)", r0);
    o.row("rss_max_kb", "RSS max (kB)", rmax);
    o.row("rss_last_kb", "RSS last (kB)", r1);
    o.row(
        "rss_drift_kb",
        "RSS drift last-first (kB)",
        r1 as i64 - r0 as i64,
    );
    o.row("fds_first", "fds after warm-up", f0);
    o.row("fds_max", "fds max", fmax);
    o.row("fds_last", "fds last", f1);
    o.row("ledger_bytes", "ledger growth (bytes)", ledger);
    let per = if report.ok_2xx > 0 {
        ledger as f64 / report.ok_2xx as f64
    } else {
        0.0
    };
    o.row("ledger_bytes_per_payment", "ledger bytes per payment", per);
    o.field("samples_t_rss_fds", serde_json::to_value(&samples)?);
    Ok(o)
}
