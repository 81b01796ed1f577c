//! The health admin API against a real server: the token, the views, manual
//! control with its audit rows, and an automatic ejection with failover.

mod common;

use common::{ADMIN_TOKEN, Behaviour, FakeGateway, TestServer, closed_addr, gateway, payment};
use serde_json::{Value, json};
use switchyard::ledger::audit;

fn route(split: &str, fallback: &str) -> String {
    format!("[[route]]\nname = \"default\"\nsplit = [{split}]\nfallback = [{fallback}]\n")
}

async fn two_gateways(a: std::net::SocketAddr, b: std::net::SocketAddr) -> TestServer {
    let cfg = format!(
        "{}{}{}",
        gateway("a", a, false),
        gateway("b", b, false),
        route(
            "{ gateway = \"a\", weight = 50 }, { gateway = \"b\", weight = 50 }",
            "\"a\", \"b\""
        )
    );
    TestServer::start(&cfg).await
}

async fn admin(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = match method {
        "GET" => s.client.get(s.admin_url(path)),
        _ => s.client.post(s.admin_url(path)),
    }
    .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn admin_endpoints_refuse_a_missing_or_wrong_token() {
    let g = FakeGateway::start(Behaviour::Create).await;
    let s = two_gateways(g.addr, g.addr).await;
    for path in ["/admin/gateways", "/admin/routes", "/admin/incidents"] {
        let r = s.client.get(s.admin_url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path} without a token");
        let r = s
            .client
            .get(s.admin_url(path))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path} with a wrong token");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unauthorized");
    }
    let r = s
        .client
        .post(s.admin_url("/admin/gateways/a/drain"))
        .bearer_auth("test-secreT")
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        s.state.health_ctl.lock().gateways["a"].machine.state.name(),
        "healthy"
    );
}

#[tokio::test]
async fn drain_moves_all_traffic_is_audited_and_restore_brings_it_back() {
    let ga = FakeGateway::start(Behaviour::Create).await;
    let gb = FakeGateway::start(Behaviour::Create).await;
    let s = two_gateways(ga.addr, gb.addr).await;
    let (st, v) = admin(&s, "GET", "/admin/gateways", None).await;
    assert_eq!(st, 200);
    assert_eq!(v["gateways"][0]["name"], "a");
    assert_eq!(v["gateways"][0]["state"], "healthy");

    let body = json!({"reason": "bank maintenance window", "ttl": "30m"});
    let (st, v) = admin(&s, "POST", "/admin/gateways/a/drain", Some(body)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["state"], "drained");
    for i in 0..20 {
        let (status, body, _) = s.pay(&format!("k{i}"), payment(&format!("ord_{i}"))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["gateway"], "b");
    }
    assert_eq!(ga.hits(), 0);
    // The observations reach the health task just after the answers: wait for them.
    for _ in 0..1000 {
        if s.state.health_ctl.lock().gateways["b"]
            .window
            .total()
            .attempts()
            == 20
        {
            break;
        }
        tokio::task::yield_now().await;
    }
    let (_, v) = admin(&s, "GET", "/admin/gateways", None).await;
    let b = &v["gateways"][1];
    assert_eq!(b["name"], "b");
    assert_eq!(b["window"]["attempts"], 20);
    assert_eq!(b["window_by_method"]["upi_intent"]["created"], 20);
    let (_, r) = admin(&s, "GET", "/admin/routes", None).await;
    let split = r["routes"][0]["split"].as_array().unwrap();
    assert_eq!(split[0]["gateway"], "a");
    assert_eq!(split[0]["effective_permille"], 0);
    assert_eq!(split[1]["effective_permille"], 500);

    let rows = s
        .state
        .ledger
        .query(|c| audit::recent(c, Some("a"), 10))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].to_state, "drained");
    assert_eq!(rows[0].actor, "admin");
    assert_eq!(rows[0].reason.as_deref(), Some("bank maintenance window"));

    let (st, v) = admin(
        &s,
        "POST",
        "/admin/gateways/a/restore",
        Some(json!({"reason": "done"})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["state"], "healthy");
    let (_, inc) = admin(&s, "GET", "/admin/incidents", None).await;
    let kinds: Vec<&str> = inc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["evidence"]["command"].as_str())
        .collect();
    assert_eq!(kinds, ["restore", "drain"]);
}

#[tokio::test]
async fn bad_admin_requests_are_4xx_with_stable_codes() {
    let g = FakeGateway::start(Behaviour::Create).await;
    let s = two_gateways(g.addr, g.addr).await;
    let (st, v) = admin(&s, "POST", "/admin/gateways/a/drain", Some(json!({}))).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (st, _) = admin(
        &s,
        "POST",
        "/admin/gateways/a/drain",
        Some(json!({"reason": "r", "ttl": "soon"})),
    )
    .await;
    assert_eq!(st, 400);
    let (st, v) = admin(
        &s,
        "POST",
        "/admin/gateways/nope/eject",
        Some(json!({"reason": "r"})),
    )
    .await;
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("not_found")));
    let (st, _) = admin(
        &s,
        "POST",
        "/admin/gateways/a/explode",
        Some(json!({"reason": "r"})),
    )
    .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn a_refusing_gateway_is_ejected_by_the_health_task_and_customers_never_see_it() {
    let dead = closed_addr().await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let s = two_gateways(dead, good.addr).await;
    let mut ejected_after = None;
    for i in 0..300 {
        let (status, body, _) = s.pay(&format!("k{i}"), payment(&format!("ord_{i}"))).await;
        assert_eq!(status, 201, "request {i}: {body}");
        assert_eq!(body["gateway"], "b");
        if s.state.health_ctl.lock().gateways["a"].machine.state.name() == "ejected" {
            ejected_after = Some(i);
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(ejected_after.is_some(), "a was never ejected");
    // The audit row is written by the task right after the transition.
    let mut rows = Vec::new();
    for _ in 0..200 {
        rows = s
            .state
            .ledger
            .query(|c| audit::recent(c, Some("a"), 10))
            .await
            .unwrap();
        if !rows.is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(rows[0].to_state, "ejected");
    assert_eq!(rows[0].trigger, "hard_down");
    let ev: Value = serde_json::from_str(&rows[0].evidence).unwrap();
    assert!(ev["consecutive_technical_failures"].as_u64().unwrap() >= 10);
    let m = s.state.metrics.render();
    assert!(
        m.contains("switchyard_rollbacks_total{gateway=\"a\",trigger=\"hard_down\"} 1"),
        "{m}"
    );
    assert!(m.contains("switchyard_gateway_state{gateway=\"a\",state=\"ejected\"} 1"));
}

#[tokio::test]
async fn health_state_survives_a_config_swap_and_new_weights_apply() {
    let ga = FakeGateway::start(Behaviour::Create).await;
    let gb = FakeGateway::start(Behaviour::Create).await;
    let s = two_gateways(ga.addr, gb.addr).await;
    let (st, _) = admin(
        &s,
        "POST",
        "/admin/gateways/a/drain",
        Some(json!({"reason": "r"})),
    )
    .await;
    assert_eq!(st, 200);
    let text = format!(
        "[admin]\ntoken_env = \"T\"\n\n{}{}{}",
        gateway("a", ga.addr, false),
        gateway("b", gb.addr, false),
        route(
            "{ gateway = \"a\", weight = 20 }, { gateway = \"b\", weight = 80 }",
            "\"b\""
        )
    );
    let snap = switchyard::config::load_str(&text, "reload.toml", &|_| Some(ADMIN_TOKEN.into()), 2)
        .unwrap();
    s.state.swap_config(snap);
    let (_, r) = admin(&s, "GET", "/admin/routes", None).await;
    let split = r["routes"][0]["split"].as_array().unwrap();
    assert_eq!(split[0]["state"], "drained", "{r}");
    assert_eq!(split[0]["effective_permille"], 0);
    assert_eq!(split[1]["configured_permille"], 800);
    for i in 0..10 {
        let (status, body, _) = s.pay(&format!("r{i}"), payment(&format!("ord_r{i}"))).await;
        assert_eq!(status, 201);
        assert_eq!(body["gateway"], "b");
    }
    let m = s.state.metrics.render();
    assert!(
        m.contains("switchyard_gateway_weight{gateway=\"b\",route=\"default\"} 800"),
        "{m}"
    );
}
