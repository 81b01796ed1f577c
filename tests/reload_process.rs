//! The binary as an operator runs it: `kill -HUP` reloads the config, and so does
//! saving the file (debounced watch). Each reload is seen in the JSON log and in
//! `switchyard_config_generation` on /metrics.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Behaviour, FakeGateway};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (up to 20 s) for a log line containing every one of `parts`.
fn wait_line(lines: &mpsc::Receiver<String>, parts: &[&str]) -> serde_json::Value {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no log line with {parts:?} within 20 s"));
        if parts.iter().all(|p| line.contains(p)) {
            return serde_json::from_str(&line).unwrap_or_default();
        }
    }
}

fn config(db: &std::path::Path, gw: std::net::SocketAddr, weight: u32) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
         [ledger]\npath = {:?}\n[[gateway]]\nname = \"gw\"\nconnector = \"generic\"\nbase_url = \"http://{gw}\"\n\
         [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"gw\", weight = {weight} }}]\n",
        db.display().to_string()
    )
}

async fn generation(addr: &str) -> String {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("switchyard_config_generation "))
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_saving_the_file_both_reload() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let cfg = dir.path().join("sy.toml");
    std::fs::write(&cfg, config(&db, gw.addr, 1)).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id().to_string();
    let _child = Kill(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let listening = wait_line(&lines, &["switchyard listening"]);
    let addr = listening["fields"]["addr"].as_str().unwrap().to_string();
    // SIGHUP before the handler is installed would end the process.
    wait_line(&lines, &["config reload triggers ready"]);
    assert_eq!(generation(&addr).await, "1");

    let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(hup.success());
    let v = wait_line(&lines, &["config reloaded", "sighup"]);
    assert_eq!(v["fields"]["generation"], 2);
    assert_eq!(generation(&addr).await, "2");

    // Save a change the way editors do: write a new file, rename it over the old.
    let tmp = dir.path().join(".sy.toml.swp");
    std::fs::write(&tmp, config(&db, gw.addr, 7)).unwrap();
    std::fs::rename(&tmp, &cfg).unwrap();
    let v = wait_line(&lines, &["config reloaded", "file_watch"]);
    assert_eq!(v["fields"]["generation"], 3);
    assert_eq!(generation(&addr).await, "3");

    // A broken save is refused; the process keeps serving generation 3.
    std::fs::write(&cfg, "[[gateway]]\nname = 1\n").unwrap();
    wait_line(&lines, &["config reload refused"]);
    assert_eq!(generation(&addr).await, "3");
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/payments"))
        .header("Idempotency-Key", "after-reloads")
        .json(&common::payment("o1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}
