//! `switchyard explain --config FILE --request JSON`: which route a payment takes,
//! its candidates with their weights now, and the sticky pick with why — the same
//! functions the request path uses (`parse_payment`, `routing::plan`, the health
//! admission table), on the state a freshly started switchyard has (every gateway
//! healthy, ramps at their first step), or with `--live ADMIN_URL` on the shares a
//! running switchyard has now (its `GET /admin/routes`).

use std::path::Path;

use serde_json::{Value, json};

use crate::app::commands::CommandError;
use crate::config::{self, Snapshot, StickyKey};
use crate::health::{HealthControl, admission_hash};
use crate::routing::{SLOTS, plan, sticky_hash};

/// Where `explain` reads the weights now from.
pub struct Live<'a> {
    /// The admin listener, e.g. `http://127.0.0.1:9090`.
    pub admin_url: &'a str,
    pub token: Option<String>,
}

/// Fetches `GET /admin/routes` of a running switchyard.
pub async fn live_routes(live: &Live<'_>) -> Result<Value, CommandError> {
    let url = format!("{}/admin/routes", live.admin_url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| CommandError::Other(format!("--live: {e}")))?;
    let mut req = client.get(&url);
    if let Some(t) = &live.token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| CommandError::Other(format!("--live {url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(CommandError::Other(format!(
            "--live {url}: {} (is SWITCHYARD_ADMIN_TOKEN set?)",
            resp.status()
        )));
    }
    resp.json()
        .await
        .map_err(|e| CommandError::Other(format!("--live {url}: {e}")))
}

/// Loads `path` (secrets not needed: unset references get a placeholder) and
/// explains `request` (a `POST /v1/payments` body); `live` is a running
/// switchyard's `GET /admin/routes`, if the weights now should be its.
pub fn explain(
    path: &Path,
    request: &str,
    idempotency_key: &str,
    live: Option<&Value>,
) -> Result<Value, CommandError> {
    let env: config::Env = std::sync::Arc::new(|k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| Some("explain-placeholder".into()))
    });
    let (snap, _) = config::load_file(path, &env, 1).map_err(CommandError::Config)?;
    explain_snapshot(&snap, request, idempotency_key, live)
}

/// A gateway's admitted share (‰) on a route in a `GET /admin/routes` view.
fn live_share(view: &Value, route: &str, gateway: &str) -> u64 {
    view["routes"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["route"] == route))
        .and_then(|r| r["split"].as_array())
        .and_then(|l| l.iter().find(|e| e["gateway"] == gateway))
        .and_then(|e| e["share_permille"].as_u64())
        .unwrap_or(1000)
}

/// [`explain`] on a compiled snapshot.
pub fn explain_snapshot(
    snap: &Snapshot,
    request: &str,
    idempotency_key: &str,
    live: Option<&Value>,
) -> Result<Value, CommandError> {
    let body: Value = serde_json::from_str(request)
        .map_err(|e| CommandError::Other(format!("--request is not JSON: {e}")))?;
    let req = crate::http::parse_payment(&body)
        .map_err(|e| CommandError::Other(format!("the request would be refused: {e}")))?;
    let (key_name, key) = match snap.server.sticky_key {
        StickyKey::OrderId => ("order_id", req.order_id.as_str()),
        StickyKey::IdempotencyKey => ("idempotency_key", idempotency_key),
    };
    let ctl = HealthControl::new(snap);
    let eff = ctl.sync(snap);
    let routes_now = match live {
        Some(v) => v.clone(),
        None => ctl.lock().routes_view(),
    };
    let hash = sticky_hash(key);
    let h2 = admission_hash(key);
    let slot = hash % SLOTS as u64;
    let name = |g: usize| snap.gateways.get(g).map_or("?", |g| g.spec.name.as_str());
    let avail = |r: usize, g: usize| match live {
        None => eff.admits(snap.generation, r, g, h2),
        Some(v) => {
            let share = live_share(v, &snap.routes[r].name, name(g));
            share >= 1000 || (h2 % 1000) < share
        }
    };

    let skipped: Vec<Value> = snap
        .routes
        .iter()
        .take_while(|r| !r.matcher.matches(&req))
        .map(|r| json!({"route": r.name, "match": r.matcher.describe()}))
        .collect();
    let result = plan(&snap.routes, &req, hash, avail);
    let (ri, plan) = match result {
        Ok(None) => {
            return Ok(json!({
                "route": null,
                "answer": "422 no_route",
                "why": "no [[route]] matches this payment",
                "routes_not_matching": skipped,
            }));
        }
        Err(ri) => (ri, None),
        Ok(Some(p)) => (p.route, Some(p)),
    };
    let route = &snap.routes[ri];
    let view = routes_now["routes"]
        .as_array()
        .and_then(|l| l.iter().find(|v| v["route"] == route.name.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    let candidates: Vec<Value> = route
        .split
        .entries()
        .iter()
        .map(|e| {
            let now = view["split"]
                .as_array()
                .and_then(|l| l.iter().find(|v| v["gateway"] == name(e.gateway)))
                .cloned()
                .unwrap_or(Value::Null);
            json!({
                "gateway": name(e.gateway),
                "weight": e.weight,
                "configured_permille": route.split.permille(e.gateway),
                "share_permille": now["share_permille"],
                "effective_permille": now["effective_permille"],
                "admits_this_key": avail(ri, e.gateway),
            })
        })
        .collect();
    let fallback: Vec<&str> = route.fallback.iter().map(|&g| name(g)).collect();
    let slot_owner = route.split.pick(hash, |_| true).map(name);
    let Some(plan) = plan else {
        return Ok(json!({
            "route": route.name,
            "match": route.matcher.describe(),
            "routes_not_matching": skipped,
            "candidates": candidates,
            "fallback": fallback,
            "answer": "503 no_gateway_available",
            "why": "no gateway of the route admits this payment now",
        }));
    };
    let primary = plan.gateways.first().copied().map(name);
    let why = match (slot_owner, primary) {
        (Some(owner), Some(p)) if owner == p => format!(
            "{key_name} {key:?} hashes (xxh3) to slot {slot} of {SLOTS}, which belongs to {p}; \
             the same {key_name} always lands there while {p} is available"
        ),
        (Some(owner), Some(p)) => format!(
            "{key_name} {key:?} hashes to slot {slot} of {SLOTS}, which belongs to {owner}, \
             but {owner} does not admit this key now, so the pick moved forward to {p}"
        ),
        (_, Some(p)) => {
            format!("no split gateway admits this key; the first admitted fallback is {p}")
        }
        _ => String::new(),
    };
    Ok(json!({
        "route": route.name,
        "match": route.matcher.describe(),
        "routes_not_matching": skipped,
        "sticky_key": {"field": key_name, "value": key, "slot": slot},
        "candidates": candidates,
        "fallback": fallback,
        "pick": primary,
        "try_order": plan.gateways.iter().map(|&g| name(g)).collect::<Vec<_>>(),
        "max_attempts": snap.server.max_attempts,
        "why": why,
        "weights_note": if live.is_some() {
            "weights as the running switchyard has them now (GET /admin/routes)"
        } else {
            "weights as a freshly started switchyard has them (all healthy, ramps at their first step); the running ones: --live ADMIN_URL"
        },
    }))
}

/// The human rendering of [`explain`]'s JSON.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    for r in v["routes_not_matching"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "skip   route {} ({})\n",
            s(&r["route"]),
            s(&r["match"])
        ));
    }
    if v["route"].is_null() {
        out.push_str(&format!("answer {}: {}\n", s(&v["answer"]), s(&v["why"])));
        return out;
    }
    out.push_str(&format!("route  {} ({})\n", s(&v["route"]), s(&v["match"])));
    for c in v["candidates"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  split {:<12} weight {:>4}  configured {:>5.1}%  now {:>5.1}%{}\n",
            s(&c["gateway"]),
            c["weight"],
            c["configured_permille"].as_f64().unwrap_or(0.0) / 10.0,
            c["effective_permille"].as_f64().unwrap_or(0.0) / 10.0,
            if c["admits_this_key"] == false {
                "  (not for this key)"
            } else {
                ""
            }
        ));
    }
    let fb: Vec<String> = v["fallback"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    if !fb.is_empty() {
        out.push_str(&format!("  fallback {}\n", fb.join(" → ")));
    }
    if let Some(ans) = v["answer"].as_str() {
        out.push_str(&format!("answer {ans}: {}\n", s(&v["why"])));
        return out;
    }
    let order: Vec<String> = v["try_order"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    out.push_str(&format!(
        "pick   {}\n  why: {}\n",
        s(&v["pick"]),
        s(&v["why"])
    ));
    out.push_str(&format!(
        "order  {} (at most {} attempt(s); failover only when provably safe)\n",
        order.join(" → "),
        v["max_attempts"]
    ));
    out.push_str(&format!("note   {}\n", s(&v["weights_note"])));
    out
}
