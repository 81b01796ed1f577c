//! The binary as an operator runs it: `kill -HUP` reloads the config, and so does
//! saving the file (debounced watch). Each reload is seen in the JSON log and in
//! `switchyard_config_generation` on /metrics.

mod common;

use std::process::{Child, Command};

use common::bin::{self, wait_line};

use common::{Behaviour, FakeGateway};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
    let served = bin::serve(&cfg, &[]);
    let pid = served.child.id().to_string();
    let addr = served.addr.clone();
    let lines = served.lines;
    let _child = Kill(served.child);
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
