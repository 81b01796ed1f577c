//! The real binary against an attacker (issue 16): a forged-callback flood keeps
//! the log volume bounded while authentic callbacks flow; a lowered fd limit
//! refuses connections cleanly; and a full scenario at `trace` level leaks no
//! secret, full VPA, phone number or email into any log line, error body, sink
//! record (the export), `/admin/config`, `/metrics` or payment view.

mod cb;
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::bin::{BIN, Served, serve_via};
use serde_json::json;

const HOOK: &str = "whsec_Zq81_flood_and_scan_9c";
const ADMIN: &str = "adm_T0ken_never_logged_55";
const KEY_SECRET: &str = "ksec_Hidden_91ab_do_not_log";
const VPA: &str = "rahul.sharma77@okhdfcbank";
const PHONE: &str = "9876501234";
const EMAIL: &str = "rahul.sharma77@example.com";

/// A generic gateway that creates, declines or fails in turn, echoing the payer's
/// VPA, phone and email in its error text as real gateways do.
async fn leaky_gateway() -> SocketAddr {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = std::sync::Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/v1/payments",
        axum::routing::post(move |body: axum::body::Bytes| {
            let n = n.fetch_add(1, Ordering::SeqCst);
            async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let text = format!("payer {VPA} ({PHONE}, {EMAIL}) could not be charged");
                match n % 3 {
                    0 => (
                        StatusCode::CREATED,
                        axum::Json(
                            json!({"id": format!("gw_{n}"), "merchant_txn_id": v["merchant_txn_id"],
                            "status": "pending", "next_action": {"type": "await_customer"}}),
                        ),
                    )
                        .into_response(),
                    1 => (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": {"code": "invalid_vpa", "message": text}})),
                    )
                        .into_response(),
                    _ => (
                        StatusCode::BAD_GATEWAY,
                        axum::Json(json!({"error": {"code": "down", "detail": text}})),
                    )
                        .into_response(),
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    addr
}

fn write_config(dir: &Path, gw: SocketAddr, server_extra: &str) -> std::path::PathBuf {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"3s\"\n{server_extra}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"T_ADMIN\"\n\n\
         [ledger]\npath = {:?}\n\n\
         [[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://{gw}\"\n\
         key_id_env = \"T_KEY_ID\"\nkey_secret_env = \"T_KEY_SECRET\"\n\
         webhook_secret_env = \"T_HOOK\"\ntimeout = \"1s\"\n\n\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 100 }}]\n",
        dir.join("ledger.db").display().to_string()
    );
    let p = dir.join("switchyard.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(cfg: &Path, log: &str, shell_prefix: &str) -> Served {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "{shell_prefix} exec {BIN} serve --config {}",
            cfg.display()
        ))
        .env("RUST_LOG", log)
        .env("T_ADMIN", ADMIN)
        .env("T_KEY_ID", "key_id_public")
        .env("T_KEY_SECRET", KEY_SECRET)
        .env("T_HOOK", HOOK);
    serve_via(&mut cmd)
}

fn drain(s: &Served) -> Vec<String> {
    std::iter::from_fn(|| s.lines.recv_timeout(Duration::from_millis(300)).ok()).collect()
}

fn signed(
    client: &reqwest::Client,
    base: &str,
    body: Vec<u8>,
    secret: &str,
) -> reqwest::RequestBuilder {
    let mut req = client
        .post(format!("{base}/v1/callbacks/a"))
        .body(body.clone());
    for (k, v) in cb::headers("gen", &body, secret, cb::now_secs()) {
        req = req.header(k, v);
    }
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_callback_flood_keeps_logs_bounded_and_authentic_callbacks_flowing() {
    let gw = leaky_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), gw, "");
    let mut srv = start(&cfg, "info", "");
    let base = format!("http://{}", srv.addr);
    let client = reqwest::Client::new();
    let long_id = "A".repeat(16 * 1024);
    let mut authentic_ok = 0;
    for round in 0..20 {
        for i in 0..100 {
            let body = cb::payload(
                "gen",
                cb::Kind::Success,
                &format!("pay_{round}_{i}"),
                "gw_x",
                "t",
            );
            let r = signed(&client, &base, body, "not-the-secret")
                .header("x-request-id", long_id.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
        }
        let body = cb::payload(
            "gen",
            cb::Kind::Success,
            &format!("pay_auth_{round}"),
            "gw_y",
            "t",
        );
        let r = signed(&client, &base, body, HOOK).send().await.unwrap();
        if r.status() == 200 {
            authentic_ok += 1;
        }
    }
    assert_eq!(
        authentic_ok, 20,
        "every authentic callback was accepted during the flood"
    );
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    let lines = drain(&srv);
    let refused = lines
        .iter()
        .filter(|l| l.contains("callback refused"))
        .count();
    let bytes: usize = lines.iter().map(String::len).sum();
    assert!(
        refused <= 2,
        "{refused} refusal lines for 2,000 forged callbacks"
    );
    assert!(
        bytes < 200 * 1024,
        "{bytes} bytes of logs for 2,000 forged callbacks with 16 KiB request ids"
    );
    assert!(
        lines
            .iter()
            .all(|l| !l
                .contains("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
        "a caller's oversized request id reached the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_fd_limit_refuses_connections_cleanly_and_recovers() {
    let gw = leaky_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), gw, "idle_timeout = \"30s\"");
    let mut srv = start(&cfg, "info", "ulimit -n 160 &&");
    let addr: SocketAddr = srv.addr.parse().unwrap();
    // Far more connections than descriptors: the cap (fitted to the limit) answers
    // the excess with a 503 and closes them; nothing hangs, nothing spins.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
            continue;
        };
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                if text.starts_with("HTTP/1.1 503") {
                    assert!(text.contains("overloaded"), "{text}");
                    refused += 1;
                } else {
                    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
                    held.push(s);
                }
            }
            other => panic!("connection neither served nor refused: {other:?}"),
        }
    }
    assert!(
        refused > 0 && !held.is_empty(),
        "served {} refused {refused}",
        held.len()
    );
    drop(held);
    let ok = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(r) = reqwest::get(format!("http://{addr}/readyz")).await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(ok.is_ok(), "served again once the clients left");
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    let lines = drain(&srv);
    assert!(lines.iter().any(|l| l.contains("max_connections lowered")));
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("connection refused"))
            .count()
            <= 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_level_scenario_leaks_no_secret_vpa_phone_or_email() {
    let gw = leaky_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), gw, "");
    let mut srv = start(&cfg, "trace", "");
    let base = format!("http://{}", srv.addr);
    let client = reqwest::Client::new();
    let mut seen = Vec::<String>::new();
    let mut payment_ids = Vec::new();
    for i in 0..6 {
        let r = client
            .post(format!("{base}/v1/payments"))
            .header("idempotency-key", format!("scan-{i}"))
            .json(
                &json!({"order_id": format!("scan{i}"), "amount": 49900, "method": "upi_collect",
                "vpa": VPA, "customer": {"id": "c1", "email": EMAIL, "phone": PHONE},
                "description": format!("for {EMAIL}")}),
            )
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        if let (Some(p), Some(g)) = (v["payment_id"].as_str(), v["gateway_payment_id"].as_str()) {
            payment_ids.push((p.to_string(), g.to_string()));
        }
        seen.push(v.to_string());
    }
    assert!(!payment_ids.is_empty());
    for (p, g) in &payment_ids {
        let body = cb::payload("gen", cb::Kind::Success, p, g, "t");
        let text = String::from_utf8(body.clone())
            .unwrap()
            .replace("alice@okaxis", VPA);
        let r = signed(&client, &base, text.into_bytes(), HOOK)
            .send()
            .await
            .unwrap();
        seen.push(r.text().await.unwrap());
        let r = client
            .get(format!("{base}/v1/payments/{p}"))
            .send()
            .await
            .unwrap();
        seen.push(r.text().await.unwrap());
    }
    // Refused and invalid inputs: their error bodies too.
    let r = signed(&client, &base, b"{}".to_vec(), "wrong")
        .send()
        .await
        .unwrap();
    seen.push(r.text().await.unwrap());
    let r = client
        .post(format!("{base}/v1/payments"))
        .header("idempotency-key", "scan-bad")
        .json(&json!({"order_id": "bad", "amount": 1, "method": "upi_collect", "vpa": format!("{VPA}x@@")}))
        .send()
        .await
        .unwrap();
    seen.push(r.text().await.unwrap());
    seen.push(
        client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    // `/admin/config` is read from an in-process server on the same file (below).
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    let lines = drain(&srv);
    assert!(
        lines.len() > 50,
        "trace logging was on ({} lines)",
        lines.len()
    );
    assert!(
        lines.iter().any(|l| l.contains("***@okhdfcbank")),
        "the gateway's error text was logged, scrubbed"
    );
    let export = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap_or_default();
    assert!(!export.is_empty(), "the sink exported the callbacks");
    let admin = admin_config(&cfg).await;
    let secrets = [
        HOOK,
        ADMIN,
        KEY_SECRET,
        VPA,
        PHONE,
        EMAIL,
        "rahul.sharma77@",
    ];
    for (what, texts) in [
        ("log line", lines),
        ("response body", seen),
        ("sink export", vec![export]),
        ("/admin/config", vec![admin]),
    ] {
        for t in &texts {
            for s in secrets {
                assert!(!t.contains(s), "{what} contains {s:?}: {t:.400}");
            }
        }
    }
}

/// `GET /admin/config` from an in-process server on the same config file.
async fn admin_config(cfg: &Path) -> String {
    let text = std::fs::read_to_string(cfg)
        .unwrap()
        .replace("ledger.db", "ledger2.db");
    let env = |k: &str| {
        Some(
            match k {
                "T_ADMIN" => ADMIN,
                "T_KEY_SECRET" => KEY_SECRET,
                "T_HOOK" => HOOK,
                _ => "key_id_public",
            }
            .to_string(),
        )
    };
    let snap = switchyard::config::load_str(&text, "scan.toml", &env, 1).unwrap();
    let server = common::bind(snap).await.with_config_path(cfg, Some(text));
    let run = common::Running::start(server);
    let r = reqwest::Client::new()
        .get(format!("http://{}/admin/config", run.admin.unwrap()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}
