//! A switchyard whose config lives in a file (so it can be reloaded) with the admin
//! API open on 127.0.0.1:0 behind a token read from a file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use switchyard::alerts::deliver::{self, RetryPolicy};
use switchyard::config::{self, Env};
use switchyard::state::AppState;

use super::Running;

pub const TOKEN: &str = "admin-t0ken-value";

pub struct OpsServer {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub state: AppState,
    pub path: PathBuf,
    pub client: reqwest::Client,
    header: String,
    pub dir: tempfile::TempDir,
    _run: Running,
    _alert_stop: tokio::sync::watch::Sender<bool>,
}

impl OpsServer {
    /// `body`: gateways, routes, alerts. Every `*_env` resolves to "test-secret".
    pub async fn start(body: &str) -> OpsServer {
        Self::start_with_env(body, Arc::new(|_| Some("test-secret".to_string()))).await
    }

    pub async fn start_with_env(body: &str, env: Env) -> OpsServer {
        Self::start_full(body, env, None).await
    }

    /// Alert delivery with `policy` instead of the default (started before
    /// `Server::run`, which then finds the alert queue taken).
    pub async fn start_with_policy(body: &str, policy: RetryPolicy) -> OpsServer {
        let env: Env = Arc::new(|_| Some("test-secret".to_string()));
        Self::start_full(body, env, Some(policy)).await
    }

    async fn start_full(body: &str, env: Env, policy: Option<RetryPolicy>) -> OpsServer {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("admin.token");
        std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
        let header = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"3s\"\n\n\
             [admin]\nlisten = \"127.0.0.1:0\"\ntoken_file = {:?}\n\n[ledger]\npath = {:?}\n\n",
            token.display().to_string(),
            dir.path().join("ledger.db").display().to_string()
        );
        let path = dir.path().join("switchyard.toml");
        std::fs::write(&path, format!("{header}{body}")).unwrap();
        let (snap, text) = match config::load_file(&path, &env, 1) {
            Ok(v) => v,
            Err(e) => panic!("test config invalid:\n{e}"),
        };
        let mut server = super::bind(snap).await.with_config_path(&path, Some(text));
        server.state.reload.set_env(env);
        // Tests here reload explicitly; tests/reload_process.rs covers the watch.
        server.state.reload.set_file_watch(false);
        let (alert_stop, alert_rx) = tokio::sync::watch::channel(false);
        if let Some(p) = policy {
            // Our own delivery: `run` then finds the alert queue taken.
            let queue = server.take_alert_queue().unwrap();
            let s = &server.state;
            deliver::spawn(queue, s.webhooks(), s.metrics.clone(), alert_rx, p);
        }
        let run = Running::start(server);
        OpsServer {
            addr: run.addr,
            admin: run.admin.unwrap(),
            state: run.state.clone(),
            path,
            client: reqwest::Client::new(),
            header,
            dir,
            _run: run,
            _alert_stop: alert_stop,
        }
    }

    /// Rewrites the config file with the same bootstrap header and a new body.
    pub fn write(&self, body: &str) {
        std::fs::write(&self.path, format!("{}{body}", self.header)).unwrap();
    }

    /// Rewrites the whole file, header included.
    pub fn write_raw(&self, text: &str) {
        std::fs::write(&self.path, text).unwrap();
    }

    pub fn header(&self) -> &str {
        &self.header
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin, path)
    }

    /// `POST /admin/reload` with the token: (status, body).
    pub async fn reload(&self) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(self.admin_url("/admin/reload"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or_default())
    }

    pub async fn pay(&self, key: &str, order: &str) -> u16 {
        self.client
            .post(self.url("/v1/payments"))
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({"order_id": order, "amount": 49900, "method": "upi_intent"}))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}

/// Two generic gateways and one route splitting between them.
pub fn two_gateways(a: SocketAddr, b: SocketAddr, wa: u32, wb: u32) -> String {
    let mut s = super::gateway("a", a, false);
    s.push_str(&super::gateway("b", b, false));
    let mut split = Vec::new();
    if wa > 0 {
        split.push(format!("{{ gateway = \"a\", weight = {wa} }}"));
    }
    if wb > 0 {
        split.push(format!("{{ gateway = \"b\", weight = {wb} }}"));
    }
    s.push_str(&format!(
        "[[route]]\nname = \"r\"\nsplit = [{}]\n\n",
        split.join(", ")
    ));
    s
}
