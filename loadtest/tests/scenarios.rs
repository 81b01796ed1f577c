//! A few seconds of each scenario at a low rate against the real processes, so the
//! harness cannot rot. They use `SWITCHYARD_BIN`, or the `switchyard` binary beside
//! this test executable's own profile directory (`<target>/debug/switchyard`, wherever
//! `CARGO_TARGET_DIR` puts it; built by the root package's tests in `cargo test`; run
//! `cargo build --bin switchyard` first when testing this crate alone).
//!
//! Each runs the real binary: a few seconds at a low rate.

use std::path::PathBuf;
use std::time::Duration;

use loadtest::scenario::{self, Common};

fn common(rate: f64, secs: f64) -> Common {
    let bin = std::env::var_os("SWITCHYARD_BIN").map_or_else(beside_this_test, PathBuf::from);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin switchyard` (or set SWITCHYARD_BIN)",
        bin.display()
    );
    Common {
        bin,
        rate,
        duration: Duration::from_secs_f64(secs),
        connections: 8,
    }
}

/// `<target>/<profile>/switchyard`: this test runs as `<target>/<profile>/deps/scenarios-<hash>`.
fn beside_this_test() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe.parent().and_then(|deps| deps.parent());
    profile_dir.map_or_else(PathBuf::new, |d| {
        d.join(format!("switchyard{}", std::env::consts::EXE_SUFFIX))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_smoke() {
    let o = scenario::latency::run(&common(100.0, 1.0)).await.unwrap();
    let j = &o.json;
    assert_eq!(j["direct_ok"], 100, "{o}");
    assert_eq!(j["switchyard_ok"], 100, "{o}");
    assert_eq!(j["switchyard_errors"], 0, "{o}");
    assert!(j["added_p50_ms"].is_number(), "{o}");
    assert!(o.to_string().contains("added p99 (ms)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_smoke() {
    let o = scenario::soak::run(&common(100.0, 2.0), Duration::from_millis(200))
        .await
        .unwrap();
    let j = &o.json;
    assert_eq!(j["payments"], 200, "{o}");
    assert_eq!(j["failed"], 0, "{o}");
    assert!(j["samples"].as_u64().unwrap() >= 5, "{o}");
    assert!(j["rss_max_kb"].as_u64().unwrap() > 1000, "{o}");
    assert!(j["fds_max"].as_u64().unwrap() > 3, "{o}");
    assert!(j["ledger_bytes_per_payment"].as_f64().unwrap() > 0.0, "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_smoke() {
    let o = scenario::callbacks::run(&common(200.0, 1.0)).await.unwrap();
    let j = &o.json;
    assert_eq!(j["payments"], 200, "{o}");
    assert_eq!(j["acked"], 200, "{o}");
    assert_eq!(j["acked_ids"], 200, "{o}");
    // Every callback found its payment and changed it: none is an orphan.
    assert_eq!(j["ack_results"]["accepted"], 200, "{o}");
    assert_eq!(j["sink_events"], 200, "{o}");
    assert_eq!(j["acked_in_sink"], 200, "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_smoke() {
    for via in [scenario::reload::Via::Sighup, scenario::reload::Via::Admin] {
        let o = scenario::reload::run(&common(100.0, 3.0), via)
            .await
            .unwrap();
        assert_eq!(o.json["failed"], 0, "{o}");
        assert!(o.json["reloads_ok"].as_u64().unwrap() >= 2, "{o}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_smoke() {
    let o = scenario::incident::run(&common(100.0, 10.0)).await.unwrap();
    assert!(o.json["a_detect_s"].is_number(), "{o}");
    assert_eq!(o.json["steady_failed"], 0, "{o}");
}
