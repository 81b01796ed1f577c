//! The operator tools of the binary: `explain` on the example config, `check
//! --no-env` on the shipped configs with no secret set, shell completions, and
//! `healthcheck` against a running server.

mod common;

use std::process::Command;

use common::bin::BIN;
use serde_json::Value;

fn explain(request: &str) -> Value {
    let out = Command::new(BIN)
        .args([
            "explain",
            "--config",
            "config/switchyard.example.toml",
            "--json",
            "--request",
            request,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn explain_gives_the_expected_route_candidates_and_pick() {
    // A small UPI payment: upi-small (razorpay 70 / cashfree 30, cashfree ramping).
    let v = explain(r#"{"order_id":"ord_1","amount":49900,"method":"upi_intent"}"#);
    assert_eq!(v["route"], "upi-small");
    assert_eq!(v["routes_not_matching"][0]["route"], "enterprise");
    let names: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["gateway"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["razorpay", "cashfree"]);
    // The ramp starts cashfree at 5% of its 30%.
    assert_eq!(v["candidates"][1]["effective_permille"], 15);
    assert_eq!(v["fallback"], serde_json::json!(["inhouse"]));
    assert!(v["why"].as_str().unwrap().contains("slot"), "{v}");
    assert_eq!(v["try_order"][0], v["pick"]);

    // Tagged enterprise: the first route, whatever the method.
    let v = explain(
        r#"{"order_id":"ord_9","amount":499000,"method":"card","tags":{"merchant_tier":"enterprise"}}"#,
    );
    assert_eq!(v["route"], "enterprise");
    assert_eq!(v["pick"], "cashfree");
    assert_eq!(v["try_order"], serde_json::json!(["cashfree", "razorpay"]));

    // A large netbanking payment: default (razorpay 60 / cashfree 30 / inhouse 10).
    let v = explain(r#"{"order_id":"ord_2","amount":500000,"method":"netbanking"}"#);
    assert_eq!(v["route"], "default");
    assert_eq!(v["routes_not_matching"].as_array().unwrap().len(), 2);
    assert_eq!(v["candidates"].as_array().unwrap().len(), 3);

    // Sticky: the same order always gets the same pick.
    let a = explain(r#"{"order_id":"ord_sticky","amount":500000,"method":"card"}"#);
    let b = explain(r#"{"order_id":"ord_sticky","amount":700000,"method":"card"}"#);
    assert_eq!(a["pick"], b["pick"]);
    assert_eq!(a["sticky_key"]["slot"], b["sticky_key"]["slot"]);
}

#[test]
fn explain_refuses_a_request_the_api_would_refuse() {
    let out = Command::new(BIN)
        .args([
            "explain",
            "-c",
            "config/switchyard.example.toml",
            "-r",
            r#"{"order_id":"o","amount":-1,"method":"card"}"#,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("amount"));
}

#[test]
fn check_no_env_accepts_the_shipped_configs_without_secrets() {
    for f in ["config/switchyard.example.toml", "config/demo.toml"] {
        let out = Command::new(BIN)
            .args(["check", "--no-env", "--config", f])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .output()
            .unwrap();
        let so = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{f}: {}{so}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(so.contains("unresolved secret references"), "{so}");
        assert!(so.contains("environment variable"), "{so}");
    }
    // Without --no-env and without the secrets, the same file is invalid.
    let out = Command::new(BIN)
        .args(["check", "--config", "config/switchyard.example.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_no_env_still_reports_real_errors_and_missing_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(
        &f,
        "[admin]\ntoken_file = \"/nonexistent/token\"\n\n[[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:1\"\n\n\
         [[route]]\nname = \"r\"\nsplit = [{ gateway = \"a\", weight = 1 }]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "--no-env", "-c"])
        .arg(&f)
        .env_clear()
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{so}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(so.contains("admin.token_file"), "{so}");
    std::fs::write(
        &f,
        "[[route]]\nname = \"r\"\nsplit = [{ gateway = \"nope\", weight = 1 }]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "--no-env", "-c"])
        .arg(&f)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in ["explain", "check", "replay", "completions"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}

#[test]
fn healthcheck_passes_against_a_running_server_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("s.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[ledger]\npath = {:?}\n\n[[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:1\"\n\n\
             [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n",
            dir.path().join("l.db").display().to_string()
        ),
    )
    .unwrap();
    let mut served = common::bin::serve(&cfg, &[]);
    let ok = Command::new(BIN)
        .args([
            "healthcheck",
            "--url",
            &format!("http://{}/healthz", served.addr),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let down = Command::new(BIN)
        .args([
            "healthcheck",
            "--url",
            &format!("http://{}/healthz", served.addr),
        ])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_live_uses_the_running_weights() {
    let g = common::FakeGateway::start(common::Behaviour::Create).await;
    let body = format!(
        "{}{}[[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 50 }}, {{ gateway = \"b\", weight = 50 }}]\nfallback = [\"a\", \"b\"]\n",
        common::gateway("a", g.addr, false),
        common::gateway("b", g.addr, false)
    );
    let s = common::TestServer::start(&body).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, &body).unwrap();
    let run = |live: Option<String>| {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(BIN);
            cmd.args([
                "explain",
                "--json",
                "-r",
                r#"{"order_id":"o1","amount":100,"method":"card"}"#,
                "-c",
            ])
            .arg(&cfg)
            .env("SWITCHYARD_ADMIN_TOKEN", common::ADMIN_TOKEN);
            if let Some(l) = live {
                cmd.args(["--live", &l]);
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        })
    };
    let offline = run(None).await.unwrap();
    let first = offline["pick"].as_str().unwrap().to_string();
    // Drain the gateway the offline pick names: the live explanation moves off it.
    let r = s
        .client
        .post(s.admin_url(&format!("/admin/gateways/{first}/drain")))
        .bearer_auth(common::ADMIN_TOKEN)
        .json(&serde_json::json!({"reason": "explain test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let admin = format!("http://{}", s.admin_addr.unwrap());
    let live = run(Some(admin)).await.unwrap();
    assert_ne!(live["pick"], first.as_str(), "{live}");
    let drained = live["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["gateway"] == first.as_str())
        .unwrap();
    assert_eq!(drained["effective_permille"], 0, "{live}");
    assert!(
        live["why"].as_str().unwrap().contains("moved forward"),
        "{live}"
    );
}
