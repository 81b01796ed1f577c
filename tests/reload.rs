//! Hot reload through `POST /admin/reload` (the same path as SIGHUP and the file
//! watch): atomic effect, invalid files change nothing, bootstrap keys are refused,
//! and no request fails while the config is swapped under load.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::ops::{OpsServer, two_gateways};
use common::{Behaviour, FakeGateway};
use switchyard::reload::{self, ReloadError, Trigger};

fn reloads(s: &OpsServer, result: &str) -> u64 {
    s.state
        .metrics
        .config_reloads
        .with_label_values(&[result])
        .get()
}

#[tokio::test]
async fn valid_weight_change_takes_effect_atomically() {
    let (a, b) = (
        FakeGateway::start(Behaviour::Create).await,
        FakeGateway::start(Behaviour::Create).await,
    );
    let s = OpsServer::start(&two_gateways(a.addr, b.addr, 1, 0)).await;
    for i in 0..5 {
        assert_eq!(s.pay(&format!("k{i}"), &format!("o{i}")).await, 201);
    }
    assert_eq!((a.hits(), b.hits()), (5, 0));
    let mut gen_rx = s.state.reload.subscribe();

    s.write(&two_gateways(a.addr, b.addr, 0, 1));
    let (status, body) = s.reload().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["generation"], 2);
    let changes = body["changes"].to_string();
    assert!(
        changes.contains("route r: split a 1000‰ → b 1000‰"),
        "{changes}"
    );
    assert_eq!(*gen_rx.borrow_and_update(), 2);
    // The whole snapshot moved at once: generation, split and weights agree.
    let snap = s.state.config.load();
    assert_eq!(snap.generation, 2);
    let (bi, _) = snap.gateway("b").unwrap();
    assert_eq!(snap.routes[0].split.permille(bi), 1000);
    drop(snap);
    let text = s.state.metrics.render();
    assert!(
        text.contains("switchyard_gateway_weight{gateway=\"b\",route=\"r\"} 1000"),
        "{text}"
    );
    assert!(
        !text.contains("switchyard_gateway_weight{gateway=\"a\""),
        "{text}"
    );
    assert!(text.contains("switchyard_config_generation 2"));
    for i in 5..10 {
        assert_eq!(s.pay(&format!("k{i}"), &format!("o{i}")).await, 201);
    }
    assert_eq!((a.hits(), b.hits()), (5, 5));
    assert_eq!(reloads(&s, "ok"), 1);
}

#[tokio::test]
async fn invalid_file_keeps_the_old_config_and_returns_every_error() {
    let a = FakeGateway::start(Behaviour::Create).await;
    let s = OpsServer::start(&two_gateways(a.addr, a.addr, 1, 1)).await;
    let before = s.state.metrics.render();
    s.write(&format!(
        "{}[[route]]\nname = \"r2\"\nsplit = [{{ gateway = \"nope\", weight = 1 }}]\ncolour = \"red\"\n",
        two_gateways(a.addr, a.addr, 1, 1).replace("timeout = \"500ms\"", "timeout = \"soon\"")
    ));
    let (status, body) = s.reload().await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "config_invalid");
    let errors: Vec<String> = body["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    let all = errors.join("\n");
    assert!(errors.len() >= 4, "{all}");
    assert!(all.contains("gateway[0].timeout"), "{all}");
    assert!(all.contains("gateway[1].timeout"), "{all}");
    assert!(all.contains("unknown gateway \"nope\""), "{all}");
    assert!(all.contains("colour"), "{all}");
    assert!(
        all.contains("switchyard.toml:"),
        "errors carry file:line:col: {all}"
    );
    // Nothing changed: same generation, same weights, still serving.
    assert_eq!(s.state.config.load().generation, 1);
    assert_eq!(s.state.config.load().routes.len(), 1);
    assert_eq!(reloads(&s, "error"), 1);
    assert_eq!(reloads(&s, "ok"), 0);
    let after = s.state.metrics.render();
    let weights = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("switchyard_gateway_weight"))
            .map(String::from)
            .collect()
    };
    assert_eq!(weights(&before), weights(&after));
    assert_eq!(s.pay("k1", "o1").await, 201);
}

#[tokio::test]
async fn changing_a_bootstrap_key_is_refused() {
    let a = FakeGateway::start(Behaviour::Create).await;
    let body = two_gateways(a.addr, a.addr, 1, 0);
    let s = OpsServer::start(&body).await;
    let text = format!("{}{body}", s.header()).replace("ledger.db", "other.db");
    s.write_raw(&text);
    let (status, resp) = s.reload().await;
    assert_eq!(status, 409, "{resp}");
    assert_eq!(resp["error"]["code"], "restart_required");
    assert_eq!(resp["error"]["errors"], serde_json::json!(["ledger.path"]));
    assert!(
        resp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restart")
    );
    assert_eq!(s.state.config.load().generation, 1);
    assert_eq!(reloads(&s, "error"), 1);
}

#[tokio::test]
async fn a_config_without_a_file_cannot_be_reloaded() {
    let a = FakeGateway::start(Behaviour::Create).await;
    let t = common::TestServer::start(&format!(
        "{}[[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n",
        common::gateway("a", a.addr, false)
    ))
    .await;
    assert!(matches!(
        reload::reload(&t.state, Trigger::Admin),
        Err(ReloadError::Unavailable)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_request_fails_across_50_reloads_under_8_clients() {
    let (a, b) = (
        FakeGateway::start(Behaviour::Create).await,
        FakeGateway::start(Behaviour::Create).await,
    );
    let s = Arc::new(OpsServer::start(&two_gateways(a.addr, b.addr, 1, 1)).await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (s, stop) = (s.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) || i < 5 {
                let st = s.pay(&format!("c{c}-{i}"), &format!("o{c}-{i}")).await;
                if st == 201 {
                    ok += 1;
                } else {
                    failed.push(st);
                }
                i += 1;
            }
            (ok, failed)
        }));
    }
    for n in 0..50u32 {
        s.write(&two_gateways(a.addr, b.addr, 1 + n % 7, 1 + (n * 3) % 5));
        let (status, body) = s.reload().await;
        assert_eq!(status, 200, "reload {n}: {body}");
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        let (ok, failed) = c.await.unwrap();
        assert!(failed.is_empty(), "failed requests: {failed:?}");
        total += ok;
    }
    assert!(total >= 40, "only {total} requests");
    println!("50 reloads under 8 clients: {total} requests, 0 failed");
    assert_eq!(s.state.config.load().generation, 51);
    assert_eq!(reloads(&s, "ok"), 50);
    assert_eq!(a.hits() + b.hits(), total as usize);
}

#[tokio::test]
async fn the_file_watch_skips_a_save_that_changes_nothing() {
    let a = FakeGateway::start(Behaviour::Create).await;
    let body = two_gateways(a.addr, a.addr, 1, 0);
    let s = OpsServer::start(&body).await;
    s.write(&body);
    let r = reload::reload(&s.state, Trigger::FileWatch).unwrap();
    assert!(r.unchanged);
    assert_eq!(r.generation, 1);
    assert_eq!(reloads(&s, "ok"), 0);
    // The same save by signal or admin call is applied (an explicit request).
    let r = reload::reload(&s.state, Trigger::Signal).unwrap();
    assert!(!r.unchanged && r.changes.is_empty());
    assert_eq!(s.state.config.load().generation, 2);
}
