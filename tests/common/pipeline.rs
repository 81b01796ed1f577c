//! Shared by the pipeline tests: a switchyard with an admin token and a chosen
//! `[pipeline]`/`[[sink]]` config, outbox rows inserted directly, and an HTTP sink
//! on port 0 that can be told to fail.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use switchyard::config;
use switchyard::ledger::{Ledger, outbox};
use switchyard::state::AppState;

use super::Running;

pub const SECRET: &str = "test-secret";
pub const TOKEN: &str = "test-secret";

pub struct Harness {
    pub state: AppState,
    pub admin: SocketAddr,
    pub dir: tempfile::TempDir,
    run: Running,
}

/// The text of a config with `extra` (`[pipeline]`, `[[sink]]`) for a ledger in `dir`.
pub fn config_text(dir: &std::path::Path, extra: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"T\"\n\n\
         [ledger]\npath = {:?}\n\n[[gateway]]\nname = \"g\"\nconnector = \"generic\"\n\
         base_url = \"http://127.0.0.1:9\"\n\n[[route]]\nname = \"r\"\n\
         split = [{{ gateway = \"g\", weight = 1 }}]\n\n{extra}",
        dir.join("ledger.db").display().to_string()
    )
}

impl Harness {
    pub async fn start(extra: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(dir.path(), extra);
        let snap = match config::load_str(&text, "test.toml", &|_| Some(SECRET.into()), 1) {
            Ok(s) => s,
            Err(e) => panic!("test config invalid:\n{e}\n---\n{text}"),
        };
        let run = Running::start(super::bind(snap).await);
        Harness {
            state: run.state.clone(),
            admin: run.admin.unwrap(),
            dir,
            run,
        }
    }

    /// Sends the shutdown signal and waits (at most `secs`) for `Server::run` to return.
    pub async fn shutdown(&mut self, secs: u64) {
        self.run.shutdown(secs).await;
    }

    /// `GET /admin/dead-letters` (every page).
    pub async fn dead_letters(&self) -> Vec<serde_json::Value> {
        let client = reqwest::Client::new();
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let v: serde_json::Value = client
                .get(format!(
                    "http://{}/admin/dead-letters?limit=3&after={after}",
                    self.admin
                ))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            all.extend(v["dead_letters"].as_array().unwrap().iter().cloned());
            match v["next_after"].as_i64() {
                Some(n) => after = n,
                None => return all,
            }
        }
    }
}

/// The event body the tests queue: `n` is the event's position within its payment.
pub fn event(payment: &str, n: usize) -> (String, String) {
    let id = format!("evt_{payment}_{n}");
    let body =
        serde_json::json!({"event_id": id, "payment_id": payment, "n": n, "status": "pending"});
    (id, body.to_string())
}

/// Queues events `0..per` for each payment, interleaved across payments.
pub async fn enqueue_interleaved(ledger: &Ledger, payments: &[String], per: usize) {
    for n in 0..per {
        for p in payments {
            let (id, body) = event(p, n);
            let p = p.clone();
            ledger
                .write(move |c| outbox::enqueue(c, &id, &p, &body, 1_700_000_000_000))
                .await
                .unwrap();
        }
    }
}

/// Polls `check` until it holds or `secs` pass (a deadline, not a fixed sleep).
pub async fn eventually<F: FnMut() -> bool>(secs: u64, what: &str, mut check: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An HTTP sink on port 0: answers 503 while `failing`, else 200, recording each
/// accepted body (after checking its signature).
#[derive(Clone)]
pub struct FakeSink {
    pub addr: SocketAddr,
    pub failing: Arc<AtomicBool>,
    pub attempts: Arc<AtomicUsize>,
    pub bad_signatures: Arc<AtomicUsize>,
    pub received: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl FakeSink {
    pub async fn start(failing: bool) -> FakeSink {
        let sink = FakeSink {
            addr: "127.0.0.1:0".parse().unwrap(),
            failing: Arc::new(AtomicBool::new(failing)),
            attempts: Arc::new(AtomicUsize::new(0)),
            bad_signatures: Arc::new(AtomicUsize::new(0)),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let s = sink.clone();
        let app = Router::new().route(
            "/events",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let s = s.clone();
                async move {
                    s.attempts.fetch_add(1, Ordering::SeqCst);
                    if s.failing.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let sig = headers
                        .get("x-switchyard-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let want =
                        switchyard::connectors::sign::hmac_sha256_hex(SECRET.as_bytes(), &[&body]);
                    if sig != want {
                        s.bad_signatures.fetch_add(1, Ordering::SeqCst);
                        return StatusCode::UNAUTHORIZED;
                    }
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    s.received.lock().unwrap().push(v);
                    StatusCode::OK
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        FakeSink { addr, ..sink }
    }

    pub fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    pub fn received(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }

    pub fn set_failing(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

/// Checks that, per payment, the received `n`s are `0..per` in order (duplicates
/// allowed: delivery is at least once), and every event arrived.
pub fn assert_complete_in_order(received: &[serde_json::Value], payments: &[String], per: usize) {
    for p in payments {
        let ns: Vec<u64> = received
            .iter()
            .filter(|v| v["payment_id"] == p.as_str())
            .map(|v| v["n"].as_u64().unwrap())
            .collect();
        let mut dedup = ns.clone();
        dedup.dedup();
        let want: Vec<u64> = (0..per as u64).collect();
        assert_eq!(
            dedup, want,
            "payment {p}: events out of order or missing: {ns:?}"
        );
    }
}
