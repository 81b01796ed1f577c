//! `incident`: steady open-loop traffic on the 90/10 split (both gateways at 95%
//! success) in five equal phases: steady; `a` (90%) hard down (listener closed);
//! `a` back; `b` degrades 95% → 80% success; `b` healed. The sandbox control API
//! applies each change; `GET /admin/gateways` is polled every 100 ms for every
//! gateway's state. Reported: detection time (change → state no longer `healthy`),
//! requests that failed for the customer per phase (anything but a 2xx or a business
//! decline), and recovery time (heal → `healthy` again).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Common, Outcome, failed, open_plan};
use crate::payload::TargetKind;
use crate::stack::{ADMIN_TOKEN, Stack, StackOptions};

/// `(gateway, state)` pairs from `GET /admin/gateways` (a list of objects with
/// `name`/`gateway` and `state`, possibly under `gateways`, or a map by name).
pub fn states(v: &Value) -> Vec<(String, String)> {
    let v = v.get("gateways").unwrap_or(v);
    let state = |g: &Value| g.get("state").and_then(Value::as_str).map(str::to_string);
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|g| {
                let name = g.get("name").or_else(|| g.get("gateway"))?.as_str()?;
                Some((name.to_string(), state(g)?))
            })
            .collect(),
        Value::Object(m) => m
            .iter()
            .filter_map(|(k, g)| Some((k.clone(), state(g)?)))
            .collect(),
        _ => Vec::new(),
    }
}

async fn knob(stack: &Stack, gw: &str, body: Value) -> anyhow::Result<()> {
    let path = format!("/_sandbox/{gw}");
    let (s, b) =
        crate::http::request(stack.control, "POST", &path, &[], Some(body.to_string())).await?;
    anyhow::ensure!(s == 200, "sandbox control {gw}: {s} {b}");
    Ok(())
}

/// Seconds from `from` to the first poll at or after it where `gw`'s state matches.
fn first(log: &[(f64, String, String)], gw: &str, from: f64, healthy: bool) -> Option<f64> {
    log.iter()
        .find(|(t, g, s)| *t >= from && g == gw && (s == "healthy") == healthy)
        .map(|(t, _, _)| t - from)
}

pub async fn run(c: &Common) -> anyhow::Result<Outcome> {
    // Sandbox callbacks on: a gateway's success rate is judged on final outcomes
    // (DESIGN §5), and the sandbox settles accepted payments at its success rate.
    // Without them only initiation-time declines change, which never count against
    // a gateway, so `b`'s degradation would be invisible by design.
    let mut opts = StackOptions::new(&c.bin);
    opts.sandbox_callbacks = true;
    let mut stack = Stack::start(&opts).await?;
    for gw in ["a", "b"] {
        knob(&stack, gw, json!({ "success_rate": 0.95 })).await?;
    }
    let phase = c.duration / 5;
    let start = Instant::now();
    let admin = stack.admin;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let poller = tokio::spawn(async move {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let mut log: Vec<(f64, String, String)> = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop_rx.changed() => break,
            }
            let r = crate::http::request(
                admin,
                "GET",
                "/admin/gateways",
                &[("authorization", auth.as_str())],
                None,
            )
            .await;
            if let Ok((200, body)) = r {
                let t = start.elapsed().as_secs_f64();
                if let Ok(v) = serde_json::from_str::<Value>(&body) {
                    log.extend(states(&v).into_iter().map(|(g, s)| (t, g, s)));
                }
            }
        }
        log
    });
    let steps: [(&str, Option<(&str, Value)>); 5] = [
        ("steady", None),
        ("a_down", Some(("a", json!({ "down": true })))),
        ("a_back", Some(("a", json!({ "down": false })))),
        ("b_degraded", Some(("b", json!({ "success_rate": 0.80 })))),
        ("b_healed", Some(("b", json!({ "success_rate": 0.95 })))),
    ];
    let mut o = Outcome::new("incident");
    o.row("rate", "offered rate (req/s)", c.rate);
    o.row("phase_s", "phase length (s)", phase.as_secs_f64());
    let mut at = Vec::new();
    let mut phases = Vec::new();
    for (name, change) in steps {
        if let Some((gw, body)) = change {
            knob(&stack, gw, body).await?;
        }
        at.push(start.elapsed().as_secs_f64());
        let url = stack.payments_url();
        let r = crate::run(open_plan(c, url, TargetKind::Switchyard, phase)).await?;
        o.row(
            &format!("{name}_failed"),
            &format!("{name}: customer-failed requests"),
            failed(&r),
        );
        o.row(
            &format!("{name}_declined"),
            &format!("{name}: business declines (4xx)"),
            r.errors.http_4xx,
        );
        phases.push(json!({ "phase": name, "report": r }));
    }
    let _ = stop_tx.send(true);
    let log = poller.await?;
    stack.stop();
    let secs = |v: Option<f64>| v.map_or(Value::Null, Value::from);
    o.row("polls", "admin polls answered", log.len() as u64 / 2);
    o.row(
        "a_detect_s",
        "a down: detection (s)",
        secs(first(&log, "a", at[1], false)),
    );
    o.row(
        "a_recover_s",
        "a back: recovery (s)",
        secs(first(&log, "a", at[2], true)),
    );
    o.row(
        "b_detect_s",
        "b degraded: detection (s)",
        secs(first(&log, "b", at[3], false)),
    );
    o.row(
        "b_recover_s",
        "b healed: recovery (s)",
        secs(first(&log, "b", at[4], true)),
    );
    o.field("phases", Value::Array(phases));
    o.field("states", serde_json::to_value(&log)?);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_states_from_either_shape() {
        let list = json!({"gateways": [{"name": "a", "state": "ejected"}, {"gateway": "b", "state": "healthy"}]});
        assert_eq!(
            states(&list),
            vec![
                ("a".into(), "ejected".into()),
                ("b".into(), "healthy".into())
            ]
        );
        let map = json!({"a": {"state": "probing"}});
        assert_eq!(states(&map), vec![("a".into(), "probing".into())]);
        let log = vec![
            (1.0, "a".to_string(), "healthy".to_string()),
            (2.5, "a".into(), "ejected".into()),
        ];
        assert_eq!(first(&log, "a", 1.0, false), Some(1.5));
        assert_eq!(first(&log, "b", 0.0, false), None);
    }
}
