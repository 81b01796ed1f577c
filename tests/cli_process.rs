//! The binary as a user runs it: `check` on a bad file, the ledger keeping
//! every intent row across `kill -9`, and a short `demo` over every gateway.

mod common;

use std::process::Command;

use common::{Behaviour, FakeGateway};

use common::bin::BIN;

#[test]
fn check_reports_every_error_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = r#"[server]
listen = "127.0.0.1:8080"

[[gateway]]
name = "payu"
connector = "generic"
base_url = "http://127.0.0.1:9"

[[route]]
name = "default"
split = [
  { gateway = "payu", weight = 90 },
  { gateway = "payuu", weight = 10 },
]
fallback = ["nowhere"]
"#;
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let file = path.display().to_string();
    assert!(
        err.contains(&format!("{file}:13:"))
            && err.contains(
                "route[0].split[1].gateway: unknown gateway \"payuu\" (did you mean \"payu\"?)"
            ),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:15:")) && err.contains("route[0].fallback[0]"),
        "{err}"
    );
}

#[test]
fn check_accepts_the_shipped_configs() {
    for f in ["config/switchyard.example.toml", "config/demo.toml"] {
        let out = Command::new(BIN)
            .args(["check", "--config", f])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .envs(env_for_configs())
            .output()
            .unwrap();
        let so = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{f}: {}{so}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(so.contains('%'), "{so}");
    }
}

/// `switchyard demo` routes over all eight gateways (and the in-house one), follows
/// the form posts PayU and Paytm answer for cards and netbanking, and every sandbox
/// callback verifies. Run in a temporary directory: the demo leaves `data/` there.
#[test]
fn demo_runs_over_every_gateway_and_posts_the_forms() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--seconds", "4", "--rate", "60"])
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{so}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table: Vec<Vec<&str>> = so
        .lines()
        .skip_while(|l| !l.starts_with("summary"))
        .skip(2)
        .take_while(|l| !l.starts_with("forms:"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let mut dialects: Vec<&str> = table.iter().map(|r| r[1]).collect();
    dialects.sort_unstable();
    assert_eq!(
        dialects,
        [
            "adyen",
            "cashfree",
            "ebanx",
            "generic",
            "juspay_ec",
            "paytm",
            "payu",
            "phonepe",
            "razorpay"
        ],
        "{so}"
    );
    // gateway dialect created declined errors failover forms succeeded failed open
    let forms: u64 = table.iter().map(|r| r[6].parse::<u64>().unwrap()).sum();
    assert!(forms > 0, "PayU / Paytm forms posted: {so}");
    let created: u64 = table.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert!(created > 100, "{so}");
    let callbacks = so
        .lines()
        .find(|l| l.starts_with("sandbox callbacks"))
        .expect("callback line");
    for g in callbacks.split(": ").nth(1).unwrap().split(", ") {
        assert!(
            g.ends_with("/0"),
            "a callback failed to verify: {g} in {callbacks}"
        );
    }
}

/// Every secret reference in the shipped configs, set to a dummy value.
fn env_for_configs() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for f in ["config/switchyard.example.toml", "config/demo.toml"] {
        let text =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f))
                .unwrap();
        for line in text.lines() {
            let l = line.trim();
            if let Some((k, val)) = l.split_once('=')
                && k.trim().ends_with("_env")
            {
                v.push((
                    val.trim().trim_matches('"').to_string(),
                    "dummy-secret".to_string(),
                ));
            }
        }
    }
    v
}

/// Writes a one-gateway config for `gw` with its ledger at `db`, starts
/// `switchyard serve` on it and returns the child and its bound address.
async fn serve_one_gateway(
    dir: &std::path::Path,
    db: &std::path::Path,
    gw: std::net::SocketAddr,
) -> (std::process::Child, String) {
    let cfg = dir.join("sy.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"60s\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
             [ledger]\npath = {:?}\n[[gateway]]\nname = \"gw\"\nconnector = \"generic\"\nbase_url = \"http://{}\"\ntimeout = \"60s\"\n\
             [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"gw\", weight = 1 }}]\n",
            db.display().to_string(),
            gw
        ),
    )
    .unwrap();
    let served = tokio::task::spawn_blocking(move || common::bin::serve(&cfg, &[]))
        .await
        .unwrap();
    (served.child, served.addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intent_rows_survive_kill_9() {
    let gw = FakeGateway::start(Behaviour::Hang).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let (mut child, addr) = serve_one_gateway(dir.path(), &db, gw.addr).await;

    const N: usize = 40;
    let client = reqwest::Client::new();
    for i in 0..N {
        let client = client.clone();
        let url = format!("http://{addr}/v1/payments");
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .header("Idempotency-Key", format!("kill-{i}"))
                .json(&serde_json::json!({"order_id": format!("ord_{i}"), "amount": 100 + i, "method": "upi_intent"}))
                .send()
                .await;
        });
    }
    // Every request reached the gateway, so every intent row was committed first.
    for _ in 0..N {
        gw.wait_for_request().await;
    }
    assert_eq!(gw.hits(), N);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM payments WHERE status = 'initiated'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n as usize, N, "intent rows lost across kill -9");
    let sum: i64 = conn
        .query_row("SELECT SUM(amount_paise) FROM payments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sum as usize, (0..N).map(|i| 100 + i).sum::<usize>());
}

/// Every payment whose 201 reached the caller still shows the gateway's answer
/// (its completion) after kill -9, right after the last answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_completions_survive_kill_9() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let (mut child, addr) = serve_one_gateway(dir.path(), &db, gw.addr).await;

    const N: usize = 200;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..N {
        let (client, url) = (client.clone(), format!("http://{addr}/v1/payments"));
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("Idempotency-Key", format!("done-{i}"))
                .json(&serde_json::json!({"order_id": format!("ord_{i}"), "amount": 100 + i, "method": "upi_intent"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: serde_json::Value = r.json().await.unwrap();
            v["payment_id"].as_str().unwrap().to_string()
        }));
    }
    let mut answered = Vec::new();
    for t in tasks {
        answered.push(t.await.unwrap());
    }
    child.kill().unwrap(); // SIGKILL, right after the last answer
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    for id in &answered {
        let (status, gpid): (String, Option<String>) = conn
            .query_row(
                "SELECT status, gateway_payment_id FROM payments WHERE payment_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_ne!(status, "initiated", "{id}: completion lost across kill -9");
        assert!(gpid.is_some(), "{id}: gateway payment id lost");
    }
    let completed: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM idempotency WHERE completed = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(completed as usize, N);
}
