//! The one helper for running the real binary: `switchyard serve` as a child
//! process, its JSON log lines on a channel, the address from its
//! "switchyard listening" line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary cargo built for these tests (wherever `CARGO_TARGET_DIR` puts it).
pub const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// A running `switchyard serve`.
pub struct Served {
    pub child: Child,
    /// The public listener, `ip:port`.
    pub addr: String,
    /// Every stderr line after the listening line (drained, so the child never
    /// blocks on a full pipe).
    pub lines: mpsc::Receiver<String>,
}

/// Starts `switchyard serve --config cfg` with `envs` and waits (20 s at most)
/// for its listening line.
pub fn serve(cfg: &Path, envs: &[(&str, &str)]) -> Served {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"]).arg(cfg);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    serve_via(&mut cmd)
}

/// Like [`serve`], for a command that ends up exec'ing `serve` (e.g. `sh -c
/// 'ulimit …; exec switchyard serve …'`).
pub fn serve_via(cmd: &mut Command) -> Served {
    cmd.stderr(Stdio::piped()).stdout(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let listening = wait_line(&lines, &["switchyard listening"]);
    let addr = listening["fields"]["addr"]
        .as_str()
        .expect("the listening line names the address")
        .to_string();
    Served { child, addr, lines }
}

/// Waits (up to 20 s) for a log line containing every one of `parts`.
pub fn wait_line(lines: &mpsc::Receiver<String>, parts: &[&str]) -> serde_json::Value {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no log line with {parts:?} within 20 s"));
        if parts.iter().all(|p| line.contains(p)) {
            return serde_json::from_str(&line).unwrap_or_default();
        }
    }
}
