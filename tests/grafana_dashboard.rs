//! config/grafana/switchyard.json is kept true: every `switchyard_` metric its
//! panels, variables and annotations query exists in a live `/metrics`, and every
//! label it filters or groups by exists on that metric. The server is driven
//! through each kind of series first (payments with a failover and an ejection, a
//! refused callback, an API error, a refused reload, a forwarded event), since a
//! labelled family with no samples is not exported.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Behaviour, FakeGateway, TestServer, closed_addr, gateway, payment};
use serde_json::Value;

/// Every PromQL expression in the dashboard (panel targets, query variables,
/// annotations), with where it came from.
fn expressions(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk_panels(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    out.push((format!("panel {title:?}"), e.to_string()));
                }
            }
            walk_panels(&p["panels"], out);
        }
    }
    walk_panels(&dash["panels"], &mut out);
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        if let Some(q) = v["query"]["query"].as_str().or(v["query"].as_str())
            && q.contains("switchyard_")
        {
            out.push((format!("variable {}", v["name"]), q.to_string()));
        }
    }
    for a in dash["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(e) = a["expr"].as_str() {
            out.push((format!("annotation {}", a["name"]), e.to_string()));
        }
    }
    out
}

/// family → label names seen on its samples (histogram suffixes folded in).
fn families(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        let labels = out.entry(name.to_string()).or_default();
        if let Some(rest) = line[name_end..].strip_prefix('{') {
            let body = &rest[..rest.find('}').unwrap_or(rest.len())];
            for pair in body.split(',').filter(|p| !p.is_empty()) {
                if let Some((k, _)) = pair.split_once('=') {
                    labels.insert(k.trim().to_string());
                }
            }
        }
    }
    out
}

/// `switchyard_` names in an expression.
fn metric_names(expr: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = expr[i..].find("switchyard_") {
        let start = i + off;
        let end = expr[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |e| start + e);
        out.push((end, expr[start..end].to_string()));
        i = end;
    }
    out
}

/// Label names in `{a="x", b=~"y"}` right after `at`, if any.
fn selector_labels(expr: &str, at: usize) -> Vec<String> {
    let Some(rest) = expr[at..].strip_prefix('{') else {
        return Vec::new();
    };
    let body = &rest[..rest.find('}').unwrap_or(rest.len())];
    body.split(',')
        .filter_map(|m| {
            let k: String = m
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!k.is_empty()).then_some(k)
        })
        .collect()
}

/// Label names of every `by (...)` clause and of `label_values(m, label)`.
fn grouping_labels(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in expr.match_indices("by (") {
        let rest = &expr[i + 4..];
        let body = &rest[..rest.find(')').unwrap_or(rest.len())];
        out.extend(body.split(',').map(|s| s.trim().to_string()));
    }
    if let Some(rest) = expr.strip_prefix("label_values(")
        && let Some((_, l)) = rest.trim_end_matches(')').split_once(',')
    {
        out.push(l.trim().to_string());
    }
    out.retain(|l| l != "le" && !l.is_empty());
    out
}

async fn live_metrics() -> String {
    let dead = closed_addr().await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let cfg = format!(
        "{}{}[[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 50 }}, {{ gateway = \"b\", weight = 50 }}]\nfallback = [\"a\", \"b\"]\n",
        gateway("a", dead, false),
        gateway("b", good.addr, false)
    );
    let s = TestServer::start(&cfg).await;
    // Payments until a (connection refused) is ejected: attempts, failovers,
    // latency, ledger writes, a rollback and its alert.
    for i in 0..300 {
        let (st, body, _) = s.pay(&format!("k{i}"), payment(&format!("ord_{i}"))).await;
        assert_eq!(st, 201, "{body}");
        if s.state.health_ctl.lock().gateways["a"].machine.state.name() == "ejected" {
            break;
        }
        tokio::task::yield_now().await;
    }
    // A callback refused for its signature, an API error.
    let r = s
        .client
        .post(s.url("/v1/callbacks/b"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = s.client.get(s.url("/v1/payments")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // A reload refused (the file is not TOML).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "[server\n").unwrap();
    s.state.reload.set_source(file, None);
    let r = s
        .client
        .post(s.admin_url("/admin/reload"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    // An event in the outbox, which the pipeline's default file sink forwards.
    let body =
        serde_json::json!({"event_id": "evt_dash", "payment_id": "pay_dash", "status": "pending"})
            .to_string();
    s.state
        .ledger
        .write(move |c| {
            switchyard::ledger::outbox::enqueue(c, "evt_dash", "pay_dash", &body, 1_700_000_000_000)
        })
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = s
            .client
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("switchyard_events_forwarded_total{") || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_and_label_the_dashboard_queries_is_exported() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/grafana/switchyard.json");
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("the dashboard is valid JSON");
    assert_eq!(dash["uid"], "switchyard");
    let exprs = expressions(&dash);
    assert!(exprs.len() >= 20, "only {} expressions", exprs.len());

    let fams = families(&live_metrics().await);
    let mut problems = Vec::new();
    let mut queried = BTreeSet::new();
    for (whence, expr) in &exprs {
        let names = metric_names(expr);
        if names.is_empty() {
            problems.push(format!("{whence}: no switchyard_ metric in {expr:?}"));
        }
        let mut labels_here = BTreeSet::new();
        for (end, name) in &names {
            queried.insert(name.clone());
            let Some(labels) = fams.get(name) else {
                problems.push(format!("{whence}: {name} is not in /metrics"));
                continue;
            };
            labels_here.extend(labels.iter().cloned());
            for l in selector_labels(expr, *end) {
                if !labels.contains(&l) {
                    problems.push(format!("{whence}: {name} has no label {l:?}"));
                }
            }
        }
        for l in grouping_labels(expr) {
            if !labels_here.contains(&l) {
                problems.push(format!("{whence}: no queried metric has label {l:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The areas the dashboard promises.
    for must in [
        "switchyard_requests_total",
        "switchyard_gateway_success_ratio",
        "switchyard_upstream_duration_seconds_bucket",
        "switchyard_rollbacks_total",
        "switchyard_callbacks_total",
        "switchyard_outbox_pending",
        "switchyard_ledger_write_duration_seconds_bucket",
    ] {
        assert!(
            queried.contains(must),
            "the dashboard does not chart {must}"
        );
    }
}
