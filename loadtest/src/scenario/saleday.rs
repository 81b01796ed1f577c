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

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use switchyard::sandbox::truth::{TruthKnobs, TruthRecord};
use switchyard::sandbox::{
    CallbackConfig, CallbackKnobsPatch, Controls, KnobsPatch, RetryPolicy, SandboxGateway,
    SandboxHandle,
};
use tokio::sync::Semaphore;

use super::Outcome;

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

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

struct Proc {
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    listen: SocketAddr,
    child: Option<Child>,
}

impl Proc {
    async fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("SALEDAY_SECRET", SECRET)
            .env("SALEDAY_ADMIN", ADMIN)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if tokio::net::TcpStream::connect(self.listen).await.is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("switchyard exited ({st}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("switchyard did not open {} in 30 s", self.listen)
    }

    /// SIGKILL: no shutdown path runs.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn config_text(
    d: &SaleDay,
    listen: SocketAddr,
    admin: SocketAddr,
    dir: &Path,
    gws: &[SocketAddr],
) -> String {
    let t = d.ttl.as_secs().max(1);
    let step = (t / 3).max(1);
    let mut s = format!(
        r#"[server]
listen = "{listen}"
request_timeout = "3s"
max_attempts = 2

[admin]
listen = "{admin}"
token_env = "SALEDAY_ADMIN"

[ledger]
path = "{ledger}"
synchronous = "full"

[callbacks]
orphan_grace = "{step}s"

[watchdog]
# A compressed day: below NPCI's floor on purpose (the documented override).
npci_floor = false
ttl = "{t}s"
first_check_after = "{step}s"
check_interval = "{step}s"
max_checks = 3
scan_interval = "1s"
expire_after = "{t}s"

[[sink]]
name = "file"
kind = "file"
path = "{sink}"
"#,
        ledger = dir.join("ledger.db").display(),
        sink = dir.join("events.jsonl").display(),
    );
    for (name, addr) in GATEWAYS.iter().zip(gws) {
        s.push_str(&format!(
            "\n[[gateway]]\nname = \"{name}\"\nconnector = \"generic\"\nbase_url = \"http://{addr}\"\n\
             webhook_secret_env = \"SALEDAY_SECRET\"\nconnect_timeout = \"500ms\"\ntimeout = \"1s\"\n"
        ));
    }
    s.push_str(
        "\n[[route]]\nname = \"default\"\nsplit = [{ gateway = \"a\", weight = 50 }, \
         { gateway = \"b\", weight = 30 }, { gateway = \"c\", weight = 20 }]\nfallback = [\"a\", \"b\", \"c\"]\n",
    );
    s
}

/// What one order's checkout saw.
#[derive(Debug, Clone, Default)]
struct Checkout {
    order_id: String,
    http_status: Option<u16>,
    payment_id: Option<String>,
    tries: u32,
    /// Retried the order with a new idempotency key after a 504.
    new_key: bool,
}

async fn checkout(
    client: reqwest::Client,
    url: String,
    i: usize,
    amount: i64,
    give_up: Instant,
) -> Checkout {
    let mut c = Checkout {
        order_id: format!("sd{i}"),
        ..Default::default()
    };
    let body =
        serde_json::json!({"order_id": c.order_id, "amount": amount, "method": "upi_intent"});
    let mut key = format!("sdk{i}");
    let mut new_key_used = false;
    loop {
        c.tries += 1;
        let r = client
            .post(&url)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        let retry = match r {
            Ok(r) => {
                let st = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or_default();
                c.http_status = Some(st);
                if let Some(p) = v.get("payment_id").and_then(Value::as_str) {
                    c.payment_id = Some(p.to_string());
                }
                // A timeout: this checkout tries the order again with a new key (what
                // the order-level guard exists for), once.
                if st == 504 && !new_key_used {
                    new_key_used = true;
                    c.new_key = true;
                    key = format!("sdk{i}r");
                    true
                } else {
                    // Still in progress (the process died mid-initiation): ask again later.
                    st == 409 && v["error"]["code"] == "request_in_progress"
                }
            }
            // switchyard is down: the checkout retries the same key.
            Err(_) => true,
        };
        if !retry || Instant::now() > give_up {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
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
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let c = checkout(client, url, i, amount, give_up).await;
            drop(permit);
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
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        ledger = fetch_ledger(&client, listen, &checkouts).await?;
    }
    // The forwarder's last batch.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settle_secs = settle_from.elapsed().as_secs_f64();
    let events = read_events(&dir.join("events.jsonl"));
    let truth: Vec<TruthRecord> = sandboxes.iter().flat_map(SandboxHandle::truth).collect();
    let mut out = score(&truth, &ledger, &events, &checkouts);
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

fn is_final(s: &str) -> bool {
    matches!(
        s,
        "succeeded"
            | "failed"
            | "expired"
            | "cancelled"
            | "reversed"
            | "refunded"
            | "partially_refunded"
    )
}

/// Every payment of every order, by order id (`GET /v1/payments?order_id=`).
async fn fetch_ledger(
    client: &reqwest::Client,
    listen: SocketAddr,
    checkouts: &[Checkout],
) -> anyhow::Result<BTreeMap<String, Vec<Value>>> {
    let mut out = BTreeMap::new();
    for c in checkouts {
        let v: Value = client
            .get(format!(
                "http://{listen}/v1/payments?order_id={}",
                c.order_id
            ))
            .send()
            .await?
            .json()
            .await?;
        let list = v["payments"].as_array().cloned().unwrap_or_default();
        out.insert(c.order_id.clone(), list);
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

/// For an order with several payments created at the gateways: how many of the
/// later ones started after the one before had definitively failed (the ledger's
/// failure committed before the next payment was created, and the truth agrees it
/// was never paid), and a line per payment for the examples.
fn order_story(
    order: &str,
    ledger: &BTreeMap<String, Vec<Value>>,
    by_pid: &HashMap<&str, &TruthRecord>,
) -> (u64, String) {
    let at = |p: &Value, k: &str| {
        p[k].as_str().and_then(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let mut pays: Vec<&Value> = ledger
        .get(order)
        .map(|l| {
            l.iter()
                .filter(|p| {
                    p["payment_id"]
                        .as_str()
                        .and_then(|id| by_pid.get(id))
                        .is_some_and(|t| t.gateway_payment_id.is_some())
                })
                .collect()
        })
        .unwrap_or_default();
    pays.sort_by_key(|p| at(p, "created_at"));
    let mut legit = 0u64;
    for w in pays.windows(2) {
        let (e, l) = (w[0], w[1]);
        let failed = matches!(
            e["status"].as_str(),
            Some("failed" | "expired" | "cancelled")
        );
        let unpaid = e["payment_id"]
            .as_str()
            .and_then(|id| by_pid.get(id))
            .is_some_and(|t| t.status != "succeeded");
        let before = matches!(
            (at(e, "updated_at"), at(l, "created_at")),
            (Some(u), Some(c)) if u <= c
        );
        legit += u64::from(failed && unpaid && before);
    }
    let story = pays
        .iter()
        .map(|p| {
            let t = p["payment_id"].as_str().and_then(|id| by_pid.get(id));
            format!(
                "[{} {} {} created {} updated {}, truth {:?}]",
                p["payment_id"].as_str().unwrap_or(""),
                p["gateway"].as_str().unwrap_or(""),
                p["status"].as_str().unwrap_or(""),
                p["created_at"].as_str().unwrap_or(""),
                p["updated_at"].as_str().unwrap_or(""),
                t.map(|t| (&t.status, t.answer_lost, t.initiations))
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    (legit, story)
}

/// Scores the ledger and the event stream against the truth.
fn score(
    truth: &[TruthRecord],
    ledger: &BTreeMap<String, Vec<Value>>,
    events: &[Value],
    checkouts: &[Checkout],
) -> Outcome {
    let mut o = Outcome::new("saleday");
    let by_pid: HashMap<&str, &TruthRecord> =
        truth.iter().map(|t| (t.payment_id.as_str(), t)).collect();
    // The last forwarded event of each payment (the sink keeps outbox order per payment).
    let mut last: HashMap<String, &Value> = HashMap::new();
    let mut seen_ids = std::collections::HashSet::new();
    let mut dup_events = 0u64;
    for e in events {
        if let Some(id) = e["event_id"].as_str()
            && !seen_ids.insert(id.to_string())
        {
            dup_events += 1;
        }
        if let Some(p) = e["payment_id"].as_str() {
            last.insert(p.to_string(), e);
        }
    }
    let (mut wrong_failed, mut wrong_succeeded, mut amount_errors) = (0u64, 0u64, 0u64);
    let (mut disagree, mut no_event, mut non_final) = (0u64, 0u64, 0u64);
    let mut no_event_declined = 0u64;
    let (mut by_callback, mut by_check, mut by_initiation, mut exception) =
        (0u64, 0u64, 0u64, 0u64);
    let mut paid = 0u64;
    let mut examples: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let note = |v: &mut BTreeMap<&'static str, Vec<String>>, k: &'static str, s: String| {
        let list = v.entry(k).or_default();
        if list.len() < 5 {
            list.push(s);
        }
    };
    let detail = |p: &Value, t: Option<&&TruthRecord>| {
        format!(
            "{} at {} ledger {} ({}), truth {:?}",
            p["payment_id"].as_str().unwrap_or(""),
            p["gateway"].as_str().unwrap_or(""),
            p["status"].as_str().unwrap_or(""),
            p["raw_status"].as_str().unwrap_or(""),
            t.map(|t| (
                &t.status,
                t.amount_paid,
                t.answer_lost,
                t.callbacks_dropped,
                t.failed_first,
                t.late
            ))
        )
    };
    for list in ledger.values() {
        for p in list {
            let pid = p["payment_id"].as_str().unwrap_or("");
            let status = p["status"].as_str().unwrap_or("");
            let amount = p["amount"].as_i64().unwrap_or(0);
            let t = by_pid.get(pid);
            let truly_paid = t.is_some_and(|t| t.status == "succeeded");
            if !is_final(status) {
                non_final += 1;
            }
            let failed_like = matches!(status, "failed" | "expired" | "cancelled");
            if truly_paid && failed_like {
                wrong_failed += 1;
                note(&mut examples, "wrongly_failed", detail(p, t));
            }
            if status == "succeeded" && !truly_paid {
                wrong_succeeded += 1;
                note(&mut examples, "wrongly_succeeded", detail(p, t));
            }
            let ev = last.get(pid).copied();
            if status == "succeeded"
                && let Some(t) = t
                && let Some(paid_amt) = t.amount_paid
                && paid_amt != amount
            {
                let held = ev.is_some_and(|e| {
                    e["flags"]["amount_mismatch"] == true || e["order_action"] == "hold"
                });
                if !held {
                    amount_errors += 1;
                    note(&mut examples, "amount", detail(p, Some(t)));
                }
            }
            match ev {
                None => {
                    no_event += 1;
                    let declined = p["attempts"]
                        .as_array()
                        .and_then(|a| a.last())
                        .is_some_and(|a| a["outcome"] == "declined");
                    if declined {
                        no_event_declined += 1;
                    }
                    if is_final(status) {
                        disagree += 1;
                        note(&mut examples, "no_event", detail(p, t));
                    }
                }
                Some(e) if e["status"].as_str() != Some(status) => {
                    disagree += 1;
                    note(
                        &mut examples,
                        "disagrees",
                        format!(
                            "{} / last event {} from {}",
                            detail(p, t),
                            e["status"],
                            e["source"]
                        ),
                    );
                }
                _ => {}
            }
            if truly_paid {
                paid += 1;
                let src = ev.and_then(|e| e["source"].as_str()).unwrap_or("");
                let held = ev.is_some_and(|e| e["order_action"] == "hold" || e["stale"] == true);
                if status != "succeeded" || held {
                    exception += 1;
                    note(&mut examples, "exception", detail(p, t));
                } else {
                    match src {
                        "callback" => by_callback += 1,
                        "status_check" => by_check += 1,
                        _ => by_initiation += 1,
                    }
                }
            }
        }
    }
    // Double initiations: more than one payment created at the gateways for one
    // order, or one payment id initiated twice.
    let mut created_per_order: HashMap<&str, u64> = HashMap::new();
    let mut paid_per_order: HashMap<&str, u64> = HashMap::new();
    let mut double = 0u64;
    for t in truth.iter().filter(|t| !t.orphan) {
        if t.gateway_payment_id.is_some()
            && let Some(o) = t.order_id.as_deref()
        {
            *created_per_order.entry(o).or_default() += 1;
            if t.status == "succeeded" {
                *paid_per_order.entry(o).or_default() += 1;
            }
        }
        if t.initiations > 1 {
            double += u64::from(t.initiations - 1);
            note(
                &mut examples,
                "double_initiation",
                format!(
                    "{} at {}: {} payments created",
                    t.payment_id, t.gateway, t.initiations
                ),
            );
        }
    }
    // An order paid again after its payment definitively failed (the ledger said
    // failed before the next one was created, and it truly was not paid) is a
    // retry, not a double initiation: only one payment could ever take money.
    let mut retried_after_failure = 0u64;
    for (o, n) in created_per_order.iter().filter(|(_, n)| **n > 1) {
        let (legit, story) = order_story(o, ledger, &by_pid);
        retried_after_failure += legit;
        double += (n - 1).saturating_sub(legit);
        if n - 1 > legit {
            note(
                &mut examples,
                "double_initiation",
                format!("order {o}: {n} gateway payments: {story}"),
            );
        }
    }
    let replays: u64 = truth.iter().map(|t| u64::from(t.replays)).sum();
    let double_charged = paid_per_order.values().filter(|n| **n > 1).count() as u64;
    let orphans = truth.iter().filter(|t| t.orphan).count() as u64;
    let orphans_forwarded = truth
        .iter()
        .filter(|t| t.orphan)
        .filter(|t| {
            events.iter().any(|e| {
                e["payment_id"].as_str() == Some(t.payment_id.as_str())
                    && e["flags"]["orphan"] == true
            })
        })
        .count() as u64;
    let pct = |n: u64| {
        if paid == 0 {
            0.0
        } else {
            100.0 * n as f64 / paid as f64
        }
    };
    let unanswered = checkouts.iter().filter(|c| c.payment_id.is_none()).count() as u64;
    let retried = checkouts.iter().filter(|c| c.tries > 1).count() as u64;
    o.row(
        "wrongly_failed_paid",
        "wrongly failed paid payments",
        wrong_failed,
    );
    o.row(
        "wrongly_succeeded_unpaid",
        "wrongly succeeded unpaid payments",
        wrong_succeeded,
    );
    o.row("amount_errors", "amount errors", amount_errors);
    o.row("double_initiations", "double initiations", double);
    o.row(
        "double_charged_orders",
        "orders paid more than once",
        double_charged,
    );
    o.row(
        "last_event_disagrees",
        "last forwarded event disagrees with ledger",
        disagree,
    );
    o.row("no_event", "payments with no forwarded event", no_event);
    o.row(
        "no_event_declined",
        "  of which declined at initiation",
        no_event_declined,
    );
    o.row("non_final", "payments left non-final", non_final);
    o.row("paid", "truly paid payments", paid);
    o.row(
        "resolved_by_callback_pct",
        "paid resolved by callback (%)",
        pct(by_callback),
    );
    o.row(
        "resolved_by_status_check_pct",
        "paid resolved by status check (%)",
        pct(by_check),
    );
    o.row(
        "resolved_at_initiation_pct",
        "paid resolved at initiation (%)",
        pct(by_initiation),
    );
    o.row(
        "exception_pct",
        "paid left as exception (%)",
        pct(exception),
    );
    o.row("orphans", "orphan callbacks sent", orphans);
    o.row(
        "orphans_forwarded",
        "orphans forwarded (flags.orphan)",
        orphans_forwarded,
    );
    o.row(
        "duplicate_event_ids",
        "duplicate event ids in the stream",
        dup_events,
    );
    o.row(
        "truth_records",
        "payments the gateways handled",
        truth.len() as u64,
    );
    o.row(
        "answer_lost",
        "created, answer lost (timeout)",
        truth.iter().filter(|t| t.answer_lost).count() as u64,
    );
    o.row(
        "replays",
        "same-payment retries answered with the created payment",
        replays,
    );
    o.row(
        "retried_after_failure",
        "orders paid again after a definitive failure (not double)",
        retried_after_failure,
    );
    o.row("checkouts_retried", "checkouts that retried", retried);
    o.row(
        "checkouts_new_key",
        "checkouts that retried the order with a new key after a 504",
        checkouts.iter().filter(|c| c.new_key).count() as u64,
    );
    o.row(
        "checkouts_unanswered",
        "checkouts with no payment id",
        unanswered,
    );
    o.field(
        "examples",
        serde_json::to_value(&examples).unwrap_or_default(),
    );
    o
}
