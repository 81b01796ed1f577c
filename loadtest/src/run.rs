//! The closed-loop and open-loop drivers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::bail;
use tokio::time::Instant;

use crate::client::{Conn, Outcome, Target};
use crate::payload::{CreatedPayment, Payloads, TargetKind, run_id};
use crate::report::{Report, ReportHead, Tally};

/// A send that starts this much after its intended time counts as late (the Tokio timer
/// has a 1 ms granularity, so smaller delays are the generator's own timer slop).
const LATE: Duration = Duration::from_millis(2);

/// How early an open-loop worker aims its wake-up: the Tokio timer rounds deadlines up to
/// 1 ms ticks and the driver's park timeout can add another tick, so a worker that aimed
/// at the intended time would add up to ~2 ms of its own to every latency.
const EARLY: Duration = Duration::from_millis(2);

/// Pause after a failed connect, so a dead target is not hammered in a hot loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every connection sends back to back.
    Closed,
    /// A constant offered rate (requests per second).
    Open { rate: f64 },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub url: String,
    pub kind: TargetKind,
    pub connections: usize,
    pub duration: Duration,
    /// Per request, connect included.
    pub timeout: Duration,
    /// Stop after this many requests even if the duration has not elapsed.
    pub max_requests: Option<u64>,
    /// [`TargetKind::Callback`]: the `i`-th request is a callback for the `i`-th of these
    /// payments (`None`: for made-up payments, which switchyard stores as orphans).
    pub callbacks: Option<Arc<[CreatedPayment]>>,
}

/// Runs the plan to completion: at most `duration` of sending plus one request timeout.
pub async fn run(plan: Plan) -> anyhow::Result<Report> {
    let target = Target::parse(&plan.url)?;
    if plan.connections == 0 || plan.connections > 10_000 {
        bail!("connections must be 1..=10000");
    }
    if plan.duration.is_zero() || plan.duration > Duration::from_secs(3600) {
        bail!("duration must be within (0, 3600] s");
    }
    let run = run_id();
    let start = Instant::now();
    let deadline = start + plan.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let (mode, rate, limit) = match plan.mode {
        Mode::Closed => ("closed", 0.0, plan.max_requests.unwrap_or(u64::MAX)),
        Mode::Open { rate } => {
            if !(rate > 0.0 && rate <= 1_000_000.0) {
                bail!("rate must be within (0, 1000000] req/s");
            }
            let scheduled = (rate * plan.duration.as_secs_f64()).round() as u64;
            (
                "open",
                rate,
                scheduled.min(plan.max_requests.unwrap_or(u64::MAX)),
            )
        }
    };
    let mut tasks = Vec::with_capacity(plan.connections);
    for w in 0..plan.connections {
        let conn = Conn::new(target.clone(), plan.timeout);
        let payloads = Payloads::new(plan.kind, &run, w).for_payments(plan.callbacks.clone());
        let issued = issued.clone();
        let timeout = plan.timeout;
        tasks.push(tokio::spawn(async move {
            match plan.mode {
                Mode::Closed => {
                    closed_worker(conn, payloads, deadline, timeout, issued, limit).await
                }
                Mode::Open { rate } => {
                    open_worker(conn, payloads, start, rate, timeout, issued, limit).await
                }
            }
        }));
    }
    let mut total = Tally::new();
    for t in tasks {
        match t.await {
            Ok(tally) => total.merge(&tally),
            Err(e) => bail!("a worker failed: {e}"),
        }
    }
    let elapsed = start.elapsed();
    let head = ReportHead {
        mode,
        url: plan.url.clone(),
        target_kind: plan.kind.as_str(),
        connections: plan.connections,
        target_rate: rate,
        duration_s: plan.duration.as_secs_f64(),
    };
    Ok(Report::from_tally(&total, head, elapsed))
}

async fn closed_worker(
    mut conn: Conn,
    payloads: Payloads,
    deadline: Instant,
    timeout: Duration,
    issued: Arc<AtomicU64>,
    limit: u64,
) -> Tally {
    let mut tally = Tally::new();
    while Instant::now() < deadline {
        // The global index: distinct across workers (callbacks: one per payment).
        let seq = issued.fetch_add(1, Ordering::Relaxed);
        if seq >= limit {
            break;
        }
        let sent = Instant::now();
        let outcome = conn.send(payloads.make(seq), timeout).await;
        tally.record(outcome, sent.elapsed());
        record_ack(&mut tally, &payloads, &conn, outcome);
        if outcome == Outcome::Connect {
            tokio::time::sleep(CONNECT_BACKOFF).await;
        }
    }
    tally
}

/// Takes the next scheduled slot from the shared counter (so any free connection sends
/// the next request), waits for its intended time, and measures from that time (or from
/// the real send, when the worker woke up early).
async fn open_worker(
    mut conn: Conn,
    payloads: Payloads,
    start: Instant,
    rate: f64,
    timeout: Duration,
    next: Arc<AtomicU64>,
    scheduled: u64,
) -> Tally {
    let mut tally = Tally::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= scheduled {
            break;
        }
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        // Aim early (see EARLY): the send lands at most ~2 ms before its intended time
        // instead of up to ~2 ms after it.
        tokio::time::sleep_until(intended.checked_sub(EARLY).unwrap_or(intended)).await;
        let sent = Instant::now();
        if sent > intended + LATE {
            tally.late_sends += 1;
        }
        let outcome = conn.send(payloads.make(i), timeout).await;
        // From the intended time when the send was late (a stall of the target or of a
        // busy connection counts in full), from the real send when it was early.
        tally.record(outcome, sent.min(intended).elapsed());
        record_ack(&mut tally, &payloads, &conn, outcome);
    }
    tally
}

/// Callbacks: keeps a 2xx answer's `result` and `event_id`.
fn record_ack(tally: &mut Tally, payloads: &Payloads, conn: &Conn, outcome: Outcome) {
    if payloads.kind() == TargetKind::Callback
        && matches!(outcome, Outcome::Status(s) if (200..300).contains(&s))
    {
        tally.record_ack(conn.last_body());
    }
}
