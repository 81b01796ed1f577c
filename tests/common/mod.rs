//! Test harness: a real switchyard on 127.0.0.1:0 and fake generic-dialect gateways
//! on port 0, all inside the test process.
#![allow(dead_code)]

pub mod bin;
pub mod ops;
pub mod pipeline;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use switchyard::app::serve::Server;
use switchyard::config;
use switchyard::metrics::Metrics;
use tokio::net::TcpListener;

/// How a fake gateway answers `POST /v1/payments`.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// 201 with a created payment.
    Create,
    /// 400 with a business decline (insufficient funds).
    Decline,
    /// Reads the request, never answers.
    Hang,
    /// Answers with this status and an error body.
    Status(u16),
}

pub struct FakeGateway {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// One permit per request received.
    arrived: Arc<tokio::sync::Semaphore>,
}

impl FakeGateway {
    pub async fn start(behaviour: Behaviour) -> FakeGateway {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let arrived = Arc::new(tokio::sync::Semaphore::new(0));
        let ar = arrived.clone();
        let app = Router::new().route(
            "/v1/payments",
            post(move |body: axum::body::Bytes| {
                let h = h.clone();
                let ar = ar.clone();
                async move {
                    let n = h.fetch_add(1, Ordering::SeqCst) + 1;
                    ar.add_permits(1);
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    match behaviour {
                        Behaviour::Create => (
                            StatusCode::CREATED,
                            axum::Json(serde_json::json!({
                                "id": format!("gw_{n}"),
                                "merchant_txn_id": v["merchant_txn_id"],
                                "status": "pending",
                                "next_action": {"type": "await_customer"}
                            })),
                        )
                            .into_response(),
                        Behaviour::Decline => (
                            StatusCode::BAD_REQUEST,
                            axum::Json(serde_json::json!({
                                "error": {"code": "insufficient_funds", "message": "secret gateway text", "npci_code": "Z9"}
                            })),
                        )
                            .into_response(),
                        Behaviour::Hang => {
                            std::future::pending::<()>().await;
                            StatusCode::OK.into_response()
                        }
                        Behaviour::Status(s) => (
                            StatusCode::from_u16(s).unwrap(),
                            axum::Json(serde_json::json!({"error": {"code": "down", "message": "internal gateway text"}})),
                        )
                            .into_response(),
                    }
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGateway {
            addr,
            hits,
            arrived,
        }
    }

    /// Waits until one more request has reached this gateway.
    pub async fn wait_for_request(&self) {
        self.arrived.acquire().await.unwrap().forget();
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// An address nothing listens on (connection refused).
pub async fn closed_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

/// Binds a server on the snapshot (ports 0) with a fresh metrics registry.
pub async fn bind(snap: switchyard::config::Snapshot) -> Server {
    Server::bind(snap, Metrics::new(prometheus::Registry::new()))
        .await
        .unwrap()
}

/// The one in-process harness core: a bound [`Server`] running on its own task
/// until this value is dropped or [`Running::shutdown`] is called.
pub struct Running {
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub state: switchyard::state::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<Result<(), switchyard::app::serve::ServeError>>>,
}

impl Running {
    pub fn start(server: Server) -> Running {
        let addr = server.local_addr().unwrap();
        let admin = server.admin_addr();
        let state = server.state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Running {
            addr,
            admin,
            state,
            stop: Some(tx),
            done: Some(done),
        }
    }

    /// Sends the shutdown signal and waits (at most `secs`) for `Server::run` to return.
    pub async fn shutdown(&mut self, secs: u64) {
        drop(self.stop.take());
        let done = self.done.take().unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(secs), done)
            .await
            .expect("the server stops in time")
            .unwrap()
            .unwrap();
    }
}

/// The admin bearer token the harness configures (every env lookup returns it).
pub const ADMIN_TOKEN: &str = "test-secret";

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: switchyard::state::AppState,
    /// The admin listener (the harness configures [`ADMIN_TOKEN`]).
    pub admin_addr: Option<SocketAddr>,
    _dir: tempfile::TempDir,
    _run: Running,
}

impl TestServer {
    /// `gateways`: (name, base address, idempotent). The first route splits over
    /// `split` and falls back to `fallback`.
    pub async fn start(body: &str) -> TestServer {
        Self::start_with("", body, false).await.0
    }

    /// Like [`start`](Self::start) with `server.public_url` set (the URL the
    /// gateways are given for callbacks and browser returns).
    #[allow(dead_code)]
    pub async fn start_public(body: &str, public_url: &str) -> TestServer {
        Self::start_with(&format!("public_url = {public_url:?}\n"), body, false)
            .await
            .0
    }

    /// Like [`start`](Self::start), and the health feed's receiving end is the
    /// test's (no health task runs).
    pub async fn start_with_health_feed(
        body: &str,
    ) -> (
        TestServer,
        tokio::sync::mpsc::Receiver<switchyard::health::Observation>,
    ) {
        let (s, rx) = Self::start_with("", body, true).await;
        (s, rx.unwrap())
    }

    /// `server_extra`: more `[server]` lines.
    async fn start_with(
        server_extra: &str,
        body: &str,
        take_health: bool,
    ) -> (
        TestServer,
        Option<tokio::sync::mpsc::Receiver<switchyard::health::Observation>>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"3s\"\nmax_body_bytes = 4096\n{server_extra}\n\
             [admin]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"SWITCHYARD_ADMIN_TOKEN\"\n\n[ledger]\npath = {:?}\n\n{body}",
            db.display().to_string()
        );
        let snap = match config::load_str(&text, "test.toml", &|_| Some("test-secret".into()), 1) {
            Ok(s) => s,
            Err(e) => panic!("test config invalid:\n{e}\n---\n{text}"),
        };
        let mut server = bind(snap).await;
        let feed = if take_health {
            server.take_health_feed()
        } else {
            None
        };
        let run = Running::start(server);
        let s = TestServer {
            addr: run.addr,
            client: reqwest::Client::new(),
            state: run.state.clone(),
            admin_addr: run.admin,
            _dir: dir,
            _run: run,
        };
        (s, feed)
    }

    /// A URL on the admin listener (token: [`ADMIN_TOKEN`]).
    pub fn admin_url(&self, path: &str) -> String {
        format!(
            "http://{}{}",
            self.admin_addr.expect("admin listener"),
            path
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await.unwrap();
        r.text().await.unwrap()
    }

    pub async fn pay(&self, key: &str, body: serde_json::Value) -> (u16, serde_json::Value, bool) {
        let r = self
            .client
            .post(self.url("/v1/payments"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let replayed = r.headers().get("idempotent-replayed").is_some();
        let v = r.json().await.unwrap_or_default();
        (status, v, replayed)
    }
}

/// A `[[gateway]]` block for the generic dialect.
pub fn gateway(name: &str, addr: SocketAddr, idempotent: bool) -> String {
    format!(
        "[[gateway]]\nname = \"{name}\"\nconnector = \"generic\"\nbase_url = \"http://{addr}\"\n\
         timeout = \"500ms\"\nconnect_timeout = \"500ms\"\nidempotent = {idempotent}\n\n"
    )
}

pub fn payment(order: &str) -> serde_json::Value {
    serde_json::json!({"order_id": order, "amount": 49900, "method": "upi_intent"})
}
