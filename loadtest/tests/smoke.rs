//! Runs the generator for about a second per mode against an in-process sandbox
//! generic gateway and a real switchyard, so the harness cannot rot unnoticed.

use std::time::Duration;

use loadtest::{Mode, Plan, TargetKind};
use switchyard::app::serve::Server;
use switchyard::config;
use switchyard::connectors::ConnectorKind;
use switchyard::metrics::Metrics;
use switchyard::sandbox::SandboxGateway;

fn plan(mode: Mode, url: String, kind: TargetKind, connections: usize) -> Plan {
    Plan {
        mode,
        url,
        kind,
        connections,
        duration: Duration::from_millis(800),
        timeout: Duration::from_secs(3),
        max_requests: Some(20_000),
        callbacks: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_and_open_loop_against_the_sandbox() {
    let (addr, gw) = SandboxGateway::bind(
        "127.0.0.1:0".parse().unwrap(),
        ConnectorKind::Generic,
        "gen",
    )
    .await
    .unwrap();
    let url = format!("http://{addr}/v1/payments");

    let r = loadtest::run(plan(Mode::Closed, url.clone(), TargetKind::Generic, 4))
        .await
        .unwrap();
    assert!(r.ok_2xx > 0, "{r}");
    assert_eq!(r.errors_total, 0, "{r}");
    assert!(
        r.p50_us > 0 && r.p50_us <= r.p99_us && r.p99_us <= r.max_us,
        "{r}"
    );

    let o = loadtest::run(plan(
        Mode::Open { rate: 200.0 },
        url,
        TargetKind::Generic,
        4,
    ))
    .await
    .unwrap();
    assert_eq!(o.errors_total, 0, "{o}");
    // 200 req/s for 0.8 s is 160 scheduled sends, every one answered.
    assert_eq!(o.ok_2xx, 160, "{o}");
    assert_eq!(gw.stats().initiations, r.ok_2xx + o.ok_2xx);
    let json: serde_json::Value = serde_json::from_str(&o.to_json()).unwrap();
    assert_eq!(json["mode"], "open");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchyard_answers_201_through_the_generator() {
    let (a, ga) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), ConnectorKind::Generic, "a")
        .await
        .unwrap();
    let (b, gb) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), ConnectorKind::Generic, "b")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n\
         [ledger]\npath = {:?}\nsynchronous = \"full\"\n\n\
         [[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://{a}\"\n\n\
         [[gateway]]\nname = \"b\"\nconnector = \"generic\"\nbase_url = \"http://{b}\"\n\n\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 90 }}, {{ gateway = \"b\", weight = 10 }}]\n",
        dir.path().join("ledger.db").display().to_string()
    );
    let snap = match config::load_str(&text, "smoke.toml", &|_| Some("secret".into()), 1) {
        Ok(s) => s,
        Err(e) => panic!("config invalid:\n{e}\n---\n{text}"),
    };
    let server = Server::bind(snap, Metrics::new(prometheus::Registry::new()))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    let url = format!("http://{addr}/v1/payments");

    let r = loadtest::run(plan(Mode::Closed, url.clone(), TargetKind::Switchyard, 4))
        .await
        .unwrap();
    assert!(r.ok_2xx > 0, "{r}");
    assert_eq!(r.errors_total, 0, "{r}");
    let o = loadtest::run(plan(
        Mode::Open { rate: 100.0 },
        url,
        TargetKind::Switchyard,
        4,
    ))
    .await
    .unwrap();
    assert_eq!((o.ok_2xx, o.errors_total), (80, 0), "{o}");
    // Every 201 reached a gateway exactly once (distinct idempotency keys: no replays).
    let total = ga.stats().created + gb.stats().created;
    assert_eq!(total, r.ok_2xx + o.ok_2xx);
    assert!(gb.stats().created > 0 || r.ok_2xx < 50);
    let _ = tx.send(());
    let _ = running.await;
    ga.stop();
    gb.stop();
}
