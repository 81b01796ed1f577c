//! Alert webhooks: a webhook that fails first is retried until delivered, a dead
//! one is given up on and counted, `min_severity` filters, and a failed reload is
//! alerted. Delivery runs with a fast retry policy; every wait is on an event (a
//! request reaching the fake webhook) under a deadline, never a fixed sleep.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use common::ops::OpsServer;
use common::{Behaviour, FakeGateway};
use switchyard::alerts::deliver::RetryPolicy;
use switchyard::alerts::{Alert, Severity};
use switchyard::reload::{self, Trigger};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A webhook on port 0 answering the statuses in `script` in turn (then 200).
struct FakeWebhook {
    addr: SocketAddr,
    bodies: mpsc::UnboundedReceiver<serde_json::Value>,
}

impl FakeWebhook {
    async fn start(script: Vec<u16>) -> FakeWebhook {
        let (tx, bodies) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(script.into_iter()));
        let app = Router::new().route(
            "/hook/{token}",
            post(move |body: axum::Json<serde_json::Value>| {
                let (tx, script) = (tx.clone(), script.clone());
                async move {
                    let _ = tx.send(body.0);
                    let code = script.lock().unwrap().next().unwrap_or(200);
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeWebhook { addr, bodies }
    }

    async fn next(&mut self) -> serde_json::Value {
        tokio::time::timeout(Duration::from_secs(10), self.bodies.recv())
            .await
            .expect("no webhook request within 10 s")
            .unwrap()
    }
}

const FAST: RetryPolicy = RetryPolicy {
    attempts: 4,
    base: Duration::from_millis(5),
    cap: Duration::from_millis(20),
    queue: 16,
};

async fn server(alerts: &str) -> (OpsServer, FakeGateway) {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let body = format!(
        "{}[[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n\n{alerts}",
        common::gateway("a", gw.addr, false)
    );
    (OpsServer::start_with_policy(&body, FAST).await, gw)
}

fn alert(kind: &'static str, severity: Severity) -> Alert {
    Alert {
        kind,
        severity,
        gateway: Some("a".into()),
        route: Some("r".into()),
        text: format!("{kind} on a"),
        evidence: serde_json::json!({"success_ratio": 0.8, "baseline": 0.95}),
        at: time::OffsetDateTime::now_utc(),
    }
}

fn sent(s: &OpsServer, name: &str, result: &str) -> u64 {
    s.state
        .metrics
        .alerts_sent
        .with_label_values(&[name, result])
        .get()
}

/// The counter is bumped right after the webhook answers; wait for it briefly.
async fn wait_count(s: &OpsServer, name: &str, result: &str, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sent(s, name, result) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}/{result} never reached {n}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn failing_webhook_is_retried_until_delivered_and_counted() {
    let mut hook = FakeWebhook::start(vec![500, 503]).await;
    let (s, _gw) = server(&format!(
        "[[alert]]\nname = \"oncall\"\nurl = \"http://{}/hook/t0k\"\nmin_severity = \"info\"\n",
        hook.addr
    ))
    .await;
    // Two refusals, then delivered: the payload is the same on every attempt.
    s.state.alerts.send(alert("rollback", Severity::Critical));
    for _ in 0..3 {
        let body = hook.next().await;
        assert_eq!(body["text"], "[critical] rollback on a");
        assert_eq!(body["kind"], "rollback");
        assert_eq!(body["severity"], "critical");
        assert_eq!(body["gateway"], "a");
        assert_eq!(body["evidence"]["baseline"], 0.95);
    }
    wait_count(&s, "oncall", "ok", 1).await;
    assert_eq!(sent(&s, "oncall", "failed"), 0);
}

#[tokio::test]
async fn dead_webhook_is_given_up_on_and_severity_filters() {
    let mut hook = FakeWebhook::start(vec![500; 100]).await;
    let (s, _gw) = server(&format!(
        "[[alert]]\nname = \"dead\"\nurl = \"http://{}/hook/t0k\"\nmin_severity = \"critical\"\n",
        hook.addr
    ))
    .await;
    s.state
        .alerts
        .send(alert("inconclusive", Severity::Warning));
    s.state.alerts.send(alert("rollback", Severity::Critical));
    let first = hook.next().await;
    assert_eq!(
        first["kind"], "rollback",
        "the warning must be filtered out"
    );
    wait_count(&s, "dead", "failed", 1).await;
    assert_eq!(sent(&s, "dead", "ok"), 0);
}

#[tokio::test]
async fn a_failed_reload_raises_an_alert() {
    let mut hook = FakeWebhook::start(vec![]).await;
    let (s, _gw) = server(&format!(
        "[[alert]]\nname = \"oncall\"\nurl = \"http://{}/hook/t0k\"\n",
        hook.addr
    ))
    .await;
    std::fs::write(&s.path, "[[gateway]]\nname = 1\n").unwrap();
    assert!(reload::reload(&s.state, Trigger::Admin).is_err());
    let body = hook.next().await;
    assert_eq!(body["kind"], "config_reload_failed");
    assert_eq!(body["severity"], "warning");
    assert!(body["evidence"]["errors"].as_array().unwrap().len() >= 2);
    wait_count(&s, "oncall", "ok", 1).await;
}
