//! The binary under callback load: `kill -9` mid-burst loses no acknowledged
//! callback (every 200's `event_id` is in the outbox after a restart, and a
//! redelivery is a duplicate, and every one reaches the file sink), plus the ignored `callbacks_bench` that measures
//! durable callbacks per second and ACK latency.

mod common;

use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::bin;
use switchyard::connectors::generic;
use switchyard::ledger::{Intent, Ledger, LedgerOptions};
use switchyard::model::{Currency, Method, Paise};
use time::OffsetDateTime;
use tokio::sync::{Mutex, Notify, Semaphore};

const SECRET: &str = "crash-secret";

/// `n` payments written ahead, as `POST /v1/payments` would.
async fn seed(db: &Path, n: usize) {
    let ledger = Ledger::open(db, LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut tasks = Vec::new();
    for i in 0..n {
        let l = ledger.clone();
        tasks.push(tokio::spawn(async move {
            l.begin(Intent {
                payment_id: format!("pay_{i}"),
                order_id: format!("ord_{i}"),
                idempotency_key: format!("k_{i}"),
                request_hash: "h".into(),
                amount: Paise(49_900),
                currency: Currency::Inr,
                method: Method::UpiIntent,
                route: "r".into(),
                gateway: "gen".into(),
                created_at: now,
                ttl_deadline: now,
            })
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    ledger.shutdown().await.unwrap();
}

fn write_config(dir: &Path, db: &Path) -> std::path::PathBuf {
    let cfg = dir.join("sy.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
             [ledger]\npath = {:?}\n[[gateway]]\nname = \"gen\"\nconnector = \"generic\"\n\
             base_url = \"http://127.0.0.1:9\"\nwebhook_secret_env = \"SY_CRASH_HOOK\"\n\
             [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"gen\", weight = 1 }}]\n",
            db.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

/// Starts `switchyard serve`; returns the child and its address.
async fn serve(cfg: &Path) -> (Child, String) {
    let cfg = cfg.to_path_buf();
    let served = tokio::task::spawn_blocking(move || {
        bin::serve(
            &cfg,
            &[
                ("SY_CRASH_HOOK", SECRET),
                ("RUST_LOG", "warn,switchyard=info"),
            ],
        )
    })
    .await
    .unwrap();
    (served.child, served.addr)
}

fn callback(i: usize) -> (Vec<u8>, String, String) {
    let body = serde_json::to_vec(&serde_json::json!({
        "event_id": format!("crash-{i}"), "type": "payment",
        "payment": {"merchant_txn_id": format!("pay_{i}"), "id": format!("gw_{i}"),
            "status": "succeeded", "amount": 49900, "currency": "INR"}
    }))
    .unwrap();
    let ts = OffsetDateTime::now_utc().unix_timestamp();
    let sig = generic::sign_callback(SECRET, ts, &body);
    (body, sig, ts.to_string())
}

async fn post(client: &reqwest::Client, addr: &str, i: usize) -> Option<(u16, serde_json::Value)> {
    let (body, sig, ts) = callback(i);
    let r = client
        .post(format!("http://{addr}/v1/callbacks/gen"))
        .header(generic::SIGNATURE_HEADER, sig)
        .header(generic::TIMESTAMP_HEADER, ts)
        .body(body)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_callback_is_lost_across_kill_9() {
    const N: usize = 5_000;
    const KILL_AFTER: usize = 1_500;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    seed(&db, N).await;
    let cfg = write_config(dir.path(), &db);
    let (mut child, addr) = serve(&cfg).await;

    let client = reqwest::Client::new();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let limit = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::new();
    for i in 0..N {
        let (client, addr, acked, count, enough, limit) = (
            client.clone(),
            addr.clone(),
            acked.clone(),
            count.clone(),
            enough.clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            if let Some((200, v)) = post(&client, &addr, i).await {
                acked
                    .lock()
                    .await
                    .push(v["event_id"].as_str().unwrap().to_string());
                if count.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                    enough.notify_one();
                }
            }
        }));
    }
    enough.notified().await;
    child.kill().unwrap(); // SIGKILL mid-burst
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    assert!(
        acked.len() >= KILL_AFTER && acked.len() < N,
        "killed mid-burst: {}",
        acked.len()
    );

    // Restart on the same ledger: every acknowledged event is in the outbox.
    let (mut child, addr) = serve(&cfg).await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT count(*) FROM outbox WHERE event_id = ?1")
        .unwrap();
    for id in &acked {
        let n: i64 = stmt.query_row([id], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "acknowledged callback {id} lost");
    }
    // The gateway redelivers everything: acknowledged ones are duplicates, the rest
    // land now, and the outbox holds each event exactly once.
    let mut redeliveries = Vec::new();
    for i in 0..N {
        let (client, addr, limit) = (client.clone(), addr.clone(), limit.clone());
        redeliveries.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            let (status, v) = post(&client, &addr, i)
                .await
                .expect("restarted server answers");
            assert_eq!(status, 200);
            v["result"] == "duplicate"
        }));
    }
    let mut duplicates = 0;
    for t in redeliveries {
        duplicates += usize::from(t.await.unwrap());
    }
    assert!(duplicates >= acked.len(), "{duplicates} < {}", acked.len());
    let total: i64 = conn
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total as usize, N);

    // And the forwarder delivers them: every acknowledged event reaches the
    // embedded default sink (`<ledger dir>/events.jsonl`), each exactly once by
    // `event_id` after deduplication, none missing.
    let sink = dir.path().join("events.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = loop {
        let ids = sink_event_ids(&sink);
        if ids.len() >= N || Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // polling with a deadline
    };
    for id in &acked {
        assert!(
            delivered.contains(id),
            "acknowledged {id} never reached the sink"
        );
    }
    assert_eq!(delivered.len(), N, "every event delivered");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Distinct `event_id`s in a JSON-lines sink file (at-least-once: a line may repeat
/// after a crash; a consumer deduplicates by `event_id`).
fn sink_event_ids(path: &Path) -> std::collections::HashSet<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Default::default();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["event_id"].as_str().map(str::to_string))
        .collect()
}

/// `cargo test --release --test callbacks_crash -- --ignored --nocapture`
/// (`SY_BENCH_CONCURRENCY`, default 256).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand"]
async fn callbacks_bench() {
    const N: usize = 20_000;
    let concurrency: usize = std::env::var("SY_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    seed(&db, N).await;
    let cfg = write_config(dir.path(), &db);
    let (mut child, addr) = serve(&cfg).await;
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, addr, next) = (client.clone(), addr.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= N {
                    return lat;
                }
                let t = Instant::now();
                let r = post(&client, &addr, i).await;
                assert!(matches!(r, Some((200, _))), "{r:?}");
                lat.push(t.elapsed());
            }
        }));
    }
    let mut lat: Vec<Duration> = Vec::with_capacity(N);
    for w in workers {
        lat.extend(w.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "callbacks_bench: {N} durable callbacks (synchronous=FULL) in {secs:.2}s = {:.0}/s; ACK p50 {:?} p99 {:?} (concurrency {concurrency})",
        N as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
