//! A real Prometheus server (Debian's `prometheus` package, installed by .ci/run)
//! scrapes a running switchyard on loopback and loads config/prometheus/alerts.yml;
//! a `switchyard_` series is read back through its HTTP API. Skipped, with a
//! message, only where the `prometheus` binary is absent.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Behaviour, FakeGateway, TestServer};

/// Kills the Prometheus child however the test ends.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus_binary() -> Option<String> {
    let bin = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".to_string());
    Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| bin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_switchyard_and_loads_the_rules() {
    let Some(bin) = prometheus_binary() else {
        println!("SKIPPED: no prometheus binary (apt-get install prometheus; .ci/run does)");
        return;
    };
    let gw = FakeGateway::start(Behaviour::Create).await;
    let server = TestServer::start(&format!(
        "{}[[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n",
        common::gateway("a", gw.addr, false)
    ))
    .await;
    let (status, _, _) = server.pay("scrape-1", common::payment("o1")).await;
    assert_eq!(status, 201);

    let dir = tempfile::tempdir().unwrap();
    let rules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prometheus/alerts.yml");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules:?}\n\
             scrape_configs:\n  - job_name: switchyard\n    static_configs:\n      - targets: [\"{}\"]\n",
            server.addr
        ),
    )
    .unwrap();
    // A free loopback port for Prometheus' own API (bound and released just before).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let _prom = Kill(
        Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let client = reqwest::Client::new();
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let deadline = Instant::now() + Duration::from_secs(60);
    let requests = loop {
        assert!(
            Instant::now() < deadline,
            "Prometheus never returned the series within 60 s"
        );
        let r = client
            .get(format!("{api}/query"))
            .query(&[(
                "query",
                "switchyard_requests_total{job=\"switchyard\",outcome=\"created\"}",
            )])
            .send()
            .await;
        if let Ok(r) = r
            && let Ok(v) = r.json::<serde_json::Value>().await
            && let Some(first) = v["data"]["result"]
                .as_array()
                .and_then(|a| a.first().cloned())
        {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(requests["metric"]["gateway"], "a");
    assert_eq!(requests["metric"]["route"], "r");
    assert_eq!(requests["value"][1], "1");

    // The shipped alerting rules loaded into a real server.
    let v: serde_json::Value = client
        .get(format!("{api}/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["name"].as_str())
        .collect();
    for want in [
        "SwitchyardGatewayRolledBack",
        "SwitchyardConfigReloadFailing",
        "SwitchyardDeadLettersPresent",
    ] {
        assert!(names.contains(&want), "{want} not loaded: {names:?}");
    }
}
