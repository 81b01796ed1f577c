//! `loadtest saleday`: a compressed sale day scored against ground truth.
//!
//! Three sandbox gateways (generic dialect, in this process, truth recording on:
//! [`switchyard::sandbox::truth`]) behind a real `switchyard serve` (a child
//! process, so it can be killed with SIGKILL). Orders arrive at a constant rate;
//! the sandboxes decline some, "time out" some after creating the payment (the
//! answer is lost), drop 5% of callbacks, duplicate 2%, deliver 1% after the TTL,
//! report 0.5% of successes after an earlier failure callback, and a few callbacks
//! carry another amount than the intent's; a few orphan callbacks (payments nobody
//! initiated) arrive; gateway `c` is hard down for a window; switchyard is killed
//! with SIGKILL mid-run and restarted after `restart_gap`. Checkouts retry with the
//! same key while switchyard is unreachable or answers `request_in_progress`.
//! Then the watchdog is left to finish (short TTLs and schedule: the config sets
//! `watchdog.npci_floor = false`, the documented override for compressed runs).
//!
//! Scored ([`score`]) from the sandboxes' truth, the ledger (`GET /v1/payments`)
//! and the event stream (the file sink): wrongly failed paid payments, wrongly
//! succeeded unpaid ones, amount errors, double initiations, payments whose last
//! forwarded event disagrees with the ledger, and how the paid payments were
//! resolved (callback / status check / left as exception).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchyard::sandbox::truth::{TruthKnobs, TruthRecord};
use switchyard::sandbox::{
    CallbackConfig, CallbackKnobsPatch, Controls, KnobsPatch, RetryPolicy, SandboxGateway,
    SandboxHandle,
};
use tokio::sync::Semaphore;

use super::Outcome;
use checkout::checkout;
use config::{config_text, free_addr};
use fetch::{fetch_ledger, fetch_refunds};
use process::Proc;
use score::{is_final, score};

mod checkout;
mod config;
mod doubles;
mod fetch;
mod process;
mod refund_score;
mod refunds;
mod score;

const SECRET: &str = "saleday-secret";
const ADMIN: &str = "saleday-admin";
const GATEWAYS: [&str; 3] = ["a", "b", "c"];

/// How the day runs.
#[derive(Debug, Clone)]
pub struct SaleDay {
    pub bin: PathBuf,
    pub orders: usize,
    /// How long the orders take to arrive.
    pub load: Duration,
    /// How long switchyard stays dead after the SIGKILL.
    pub restart_gap: Duration,
    /// The payments' TTL (compressed).
    pub ttl: Duration,
    /// Most time to wait for the watchdog after the load.
    pub settle: Duration,
    pub orphans: usize,
    pub seed: u64,
    pub concurrency: usize,
}

impl SaleDay {
    /// The full day: 5,000 orders over 5 minutes, a 2-minute restart.
    pub fn full(bin: PathBuf) -> Self {
        SaleDay {
            bin,
            orders: 5000,
            load: Duration::from_secs(300),
            restart_gap: Duration::from_secs(120),
            ttl: Duration::from_secs(20),
            settle: Duration::from_secs(600),
            orphans: 10,
            seed: 20261202,
            concurrency: 48,
        }
    }

    /// The reduced run of `cargo test`: a few hundred orders, seconds.
    pub fn reduced(bin: PathBuf) -> Self {
        SaleDay {
            orders: 300,
            load: Duration::from_secs(12),
            restart_gap: Duration::from_secs(3),
            ttl: Duration::from_secs(6),
            settle: Duration::from_secs(150),
            orphans: 3,
            concurrency: 16,
            ..SaleDay::full(bin)
        }
    }

    /// Callbacks held this long arrive after the TTL (and after the expiry).
    fn late_delay(&self) -> Duration {
        self.ttl * 3 + Duration::from_secs(2)
    }
}

/// The sale day; returns the scored table.
pub async fn run(d: &SaleDay) -> anyhow::Result<Outcome> {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-saleday-{}-{}",
        std::process::id(),
        crate::payload::run_id()
    ));
    std::fs::create_dir_all(dir.join("config"))?;
    let listen = free_addr()?;
    let admin = free_addr()?;
    let gw_addrs: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let text = config_text(d, listen, admin, &dir, &gw_addrs);
    let config = dir.join("config/switchyard.toml");
    std::fs::write(&config, &text)?;
    let snap = switchyard::config::load_str(
        &text,
        "saleday.toml",
        &|k: &str| match k {
            "SALEDAY_SECRET" => Some(SECRET.to_string()),
            "SALEDAY_ADMIN" => Some(ADMIN.to_string()),
            _ => None,
        },
        1,
    )
    .map_err(|e| anyhow::anyhow!("saleday config: {e}"))?;

    // The gateways.
    let controls = Controls::new();
    let cbs = CallbackConfig {
        base_url: Some(format!("http://{listen}/v1/callbacks")),
        seed: Some(d.seed),
        // Gateways retry webhooks for hours (Razorpay: 24 h); here long enough to
        // outlast the restart gap.
        retry: RetryPolicy {
            attempts: 40,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        },
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    let mut sandboxes: Vec<SandboxHandle> = Vec::new();
    for (i, addr) in gw_addrs.iter().enumerate() {
        let spec = &snap.gateways[i].spec;
        let (_, h) = SandboxGateway::bind_sending(*addr, spec, &controls, &cbs).await?;
        h.patch(KnobsPatch {
            success_rate: Some(0.85),
            timeout_rate: Some(0.01),
            ..Default::default()
        });
        h.patch_callbacks(CallbackKnobsPatch {
            callbacks: Some(true),
            callback_delay_ms: Some(200),
            drop_rate: Some(0.05),
            duplicate_rate: Some(0.02),
            ..Default::default()
        });
        h.record_truth(
            TruthKnobs {
                record: true,
                fail_then_succeed_rate: 0.005,
                wrong_amount_rate: 0.003,
                late_rate: 0.01,
                late_delay_ms: d.late_delay().as_millis() as u64,
                tpv_failed_rate: 0.005,
                duplicate_rate: 0.003,
            },
            Some(d.seed + i as u64),
        );
        sandboxes.push(h);
    }

    let mut sy = Proc {
        bin: d.bin.clone(),
        config,
        log: dir.join("serve.log"),
        listen,
        child: None,
    };
    sy.start().await?;
    let sy = Arc::new(tokio::sync::Mutex::new(sy));
    let mut restart = None;

    // The load, with its incidents.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = format!("http://{listen}/v1/payments");
    let t0 = Instant::now();
    let give_up = t0 + d.load + d.restart_gap + Duration::from_secs(60);
    let gap = d.load.div_f64(d.orders.max(1) as f64);
    let sem = Arc::new(Semaphore::new(d.concurrency.max(1)));
    // The merchant refunds up to one order in five (one a tick) while the day goes on.
    let (paid_tx, paid_rx) = tokio::sync::mpsc::unbounded_channel();
    let refunder = tokio::spawn(refunds::drive(
        client.clone(),
        listen,
        paid_rx,
        d.load.div_f64((d.orders / 5).max(1) as f64),
        t0 + d.load,
        give_up,
    ));
    let mut tasks = Vec::with_capacity(d.orders);
    let (mut down_done, mut up_done, mut kill_done) = (false, false, false);
    let mut orphans_sent = 0;
    for i in 0..d.orders {
        let due = t0 + gap.mul_f64(i as f64);
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(w).await;
        }
        let frac = i as f64 / d.orders as f64;
        if !down_done && frac >= 0.2 {
            sandboxes[2].patch(KnobsPatch {
                down: Some(true),
                ..Default::default()
            });
            down_done = true;
        }
        if !up_done && frac >= 0.35 {
            sandboxes[2].patch(KnobsPatch {
                down: Some(false),
                ..Default::default()
            });
            up_done = true;
        }
        if orphans_sent < d.orphans && frac >= (orphans_sent as f64 + 0.5) / d.orphans as f64 {
            sandboxes[orphans_sent % 3].send_orphan(&format!("orph{orphans_sent}"), 12_300);
            orphans_sent += 1;
        }
        if !kill_done && frac >= 0.5 {
            kill_done = true;
            sy.lock().await.kill9();
            // Orders keep arriving while switchyard is dead; checkouts retry.
            let (sy2, gap) = (sy.clone(), d.restart_gap);
            restart = Some(tokio::spawn(async move {
                tokio::time::sleep(gap).await;
                sy2.lock().await.start().await
            }));
        }
        let amount = 100 + ((i as i64 * 7919 + d.seed as i64) % 2_000) * 50;
        let permit = sem.clone().acquire_owned().await?;
        let (client, url, paid_tx) = (client.clone(), url.clone(), paid_tx.clone());
        tasks.push(tokio::spawn(async move {
            let c = checkout(client, url, i, amount, give_up).await;
            drop(permit);
            if let (Some(201), Some(p)) = (c.http_status, &c.payment_id) {
                let _ = paid_tx.send((p.clone(), amount, Instant::now()));
            }
            c
        }));
    }
    if let Some(r) = restart {
        r.await??;
    }
    let mut checkouts = Vec::with_capacity(tasks.len());
    for t in tasks {
        checkouts.push(t.await?);
    }
    let load_secs = t0.elapsed().as_secs_f64();
    let requested = refunder.await?;

    // Let the watchdog finish: every payment final (or expired), the sink caught up.
    let settle_from = Instant::now();
    let mut ledger = fetch_ledger(&client, listen, &checkouts).await?;
    while settle_from.elapsed() < d.settle {
        let open = ledger
            .values()
            .flatten()
            .filter(|p| !is_final(p["status"].as_str().unwrap_or("")))
            .count();
        let late_pending = settle_from.elapsed() < d.late_delay() + Duration::from_secs(5);
        if open == 0 && !late_pending {
            // Then the refunds: every one final (the automatic ones included).
            let refunds = fetch_refunds(&client, listen, &ledger).await?;
            let pending = refunds
                .values()
                .flatten()
                .filter(|r| r["status"] == "pending");
            if pending.count() == 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        ledger = fetch_ledger(&client, listen, &checkouts).await?;
    }
    let ledger_refunds = fetch_refunds(&client, listen, &ledger).await?;
    // The forwarder's last batch.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settle_secs = settle_from.elapsed().as_secs_f64();
    let events = read_events(&dir.join("events.jsonl"));
    let truth: Vec<TruthRecord> = sandboxes.iter().flat_map(SandboxHandle::truth).collect();
    let mut out = score(&truth, &ledger, &events, &checkouts);
    let books: Vec<_> = sandboxes.iter().flat_map(SandboxHandle::refunds).collect();
    refund_score::score_refunds(
        &mut out,
        &truth,
        &books,
        &ledger_refunds,
        &requested,
        &events,
    );
    out.row("orders", "orders", d.orders as u64);
    out.row("load_s", "load (s, restart included)", load_secs);
    out.row("settle_s", "watchdog settle (s)", settle_secs);
    out.field("restart_gap_s", d.restart_gap.as_secs());
    out.field("ttl_s", d.ttl.as_secs());
    out.field("dir", dir.display().to_string());
    sy.lock().await.kill9();
    for s in &sandboxes {
        s.stop();
    }
    if std::env::var_os("LOADTEST_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(out)
}

fn read_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
