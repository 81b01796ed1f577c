//! An unlucky operator's storage (issue 16): a second process on one ledger, two
//! fresh processes at once, a ledger with pages overwritten mid-file, a frozen
//! disk and a full one. The real binary where a process boundary matters.

mod cb;
mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bin::{BIN, serve};
use common::{Behaviour, FakeGateway, Running, bind, gateway, payment};
use switchyard::ledger::{Integrity, Ledger, LedgerError, LedgerOptions};

fn config(dir: &Path, gw: std::net::SocketAddr, extra: &str) -> std::path::PathBuf {
    let db = dir.join("ledger.db");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"2s\"\n\n\
         [ledger]\npath = {:?}\n\n{}\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 100 }}]\n\n{extra}",
        db.display().to_string(),
        gateway("a", gw, false)
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `serve` expecting it to exit (not serve); its stderr.
fn serve_must_fail(cfg: &Path) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(cfg)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve should have refused to start");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_second_process_on_the_ledger_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap(), "");
    let mut first = serve(&cfg, &[]);
    let err = serve_must_fail(&cfg);
    let pid = first.child.id();
    assert!(
        err.contains("in use by another process") && err.contains(&format!("pid {pid}")),
        "{err}"
    );
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // kill -9 freed the lock: the next start serves.
    let mut again = serve(&cfg, &[]);
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}

#[test]
fn two_fresh_processes_at_once_never_crash_on_migrations() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap(), "");
        let spawn = || {
            Command::new(BIN)
                .args(["serve", "--config"])
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn(), spawn());
        // The loser exits by itself; the winner serves until killed.
        let deadline = Instant::now() + Duration::from_secs(20);
        let loser = loop {
            if let Some(s) = a.try_wait().unwrap() {
                break (s, &mut a, &mut b);
            }
            if let Some(s) = b.try_wait().unwrap() {
                break (s, &mut b, &mut a);
            }
            assert!(Instant::now() < deadline, "round {round}: neither refused");
            std::thread::sleep(Duration::from_millis(20));
        };
        let (status, lost, won) = loser;
        let mut err = String::new();
        lost.stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(!status.success());
        assert!(!err.contains("already exists"), "round {round}: {err}");
        assert!(
            err.contains("in use by another process"),
            "round {round}: {err}"
        );
        won.kill().unwrap();
        won.wait().unwrap();
    }
}

/// A ledger with enough rows to span many pages, closed cleanly (checkpointed).
async fn filled_ledger(path: &Path) {
    let ledger = Ledger::open(path, LedgerOptions::default()).unwrap();
    for i in 0..400 {
        let pad = "x".repeat(900);
        ledger
            .write(move |c| {
                c.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    rusqlite::params![format!("k{i}"), pad],
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }
    ledger.shutdown().await.unwrap();
}

/// Overwrites pages in the middle of the file with garbage.
fn corrupt(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    assert!(len > 64 * 4096, "the ledger spans many pages ({len} bytes)");
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for page in [len / 4096 / 2, len / 4096 / 2 + 3] {
        f.seek(SeekFrom::Start(page * 4096)).unwrap();
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 13) as u8).collect();
        f.write_all(&junk).unwrap();
    }
    f.sync_all().unwrap();
}

#[tokio::test]
async fn a_corrupted_ledger_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap(), "");
    let db = dir.path().join("ledger.db");
    filled_ledger(&db).await;
    switchyard::ledger::verify(&db, Integrity::Full).unwrap();
    corrupt(&db);
    match Ledger::open(&db, LedgerOptions::default()) {
        Err(LedgerError::Integrity { .. }) => {}
        Err(e) => panic!("expected an integrity refusal, got {e}"),
        Ok(_) => panic!("a corrupted ledger was opened"),
    }
    let err = serve_must_fail(&cfg);
    assert!(
        err.contains("refusing to serve from a damaged ledger"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["check", "--full", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("integrity_check"));
}

#[tokio::test]
async fn a_frozen_disk_answers_within_the_request_timeout() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config(dir.path(), gw.addr, "")).unwrap();
    let snap = switchyard::config::load_str(&text, "t.toml", &|_| Some("s".into()), 1).unwrap();
    let srv = Running::start(bind(snap).await);
    // Freeze the writer: its thread blocks inside a job until released.
    let (release, frozen) = std::sync::mpsc::channel::<()>();
    let ledger = srv.state.ledger.clone();
    let hold = tokio::spawn(async move {
        let _ = ledger
            .write(move |_| {
                let _ = frozen.recv();
                Ok(())
            })
            .await;
    });
    let c = reqwest::Client::new();
    let t0 = Instant::now();
    let r = c
        .post(format!("http://{}/v1/payments", srv.addr))
        .header("idempotency-key", "frozen-1")
        .json(&payment("frozen"))
        .send()
        .await
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(r.status(), 503);
    assert!(
        took < Duration::from_millis(2800),
        "took {took:?} (request_timeout 2s)"
    );
    assert_eq!(
        gw.hits(),
        0,
        "nothing reached the gateway without an intent"
    );
    let t0 = Instant::now();
    let r = c
        .get(format!("http://{}/readyz", srv.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(t0.elapsed() < Duration::from_millis(2800));
    release.send(()).unwrap();
    hold.await.unwrap();
}

/// `sh -c 'trap "" XFSZ; ulimit -f BLOCKS; exec switchyard serve …'`: writes past
/// the file-size limit fail with EFBIG instead of killing the process.
fn serve_with_file_limit(cfg: &Path, blocks_512: u64) -> common::bin::Served {
    common::bin::serve_via(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -S -f {blocks_512} && exec {BIN} serve --config {}",
                cfg.display()
            ))
            .env("HOOK", cb::SECRET),
    )
}

fn lines_all_parse(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a torn last record"
    );
    for (i, l) in text.lines().enumerate() {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("line {} does not parse ({e}): {l:.80}", i + 1));
    }
    text.lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_503s_a_clean_sink_and_recovers_without_a_restart() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("SKIP: prlimit (util-linux) is not installed");
        return;
    }
    let gw = FakeGateway::start(Behaviour::Create).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        gw.addr,
        "[pipeline]\nmax_attempts = 1000\nbackoff_initial = \"20ms\"\nbackoff_max = \"200ms\"\n",
    );
    // The gateway signs its callbacks.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "idempotent = false",
        "idempotent = false\nwebhook_secret_env = \"HOOK\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let limit: u64 = 1024 * 1024;
    // The sink file starts just under the limit, so it fills first.
    let sink = dir.path().join("events.jsonl");
    let pad = format!("{{\"pad\":\"{}\"}}\n", "p".repeat(1000));
    std::fs::write(
        &sink,
        pad.repeat(((limit - 3000) / pad.len() as u64) as usize),
    )
    .unwrap();
    let before = lines_all_parse(&sink);
    let mut srv = serve_with_file_limit(&cfg, limit / 512);
    let pid = srv.child.id();
    let c = reqwest::Client::new();
    let base = format!("http://{}", srv.addr);
    // A payment and its success callback (which reaches the outbox and the sink).
    let pay = |i: usize| {
        let (c, base) = (c.clone(), base.clone());
        async move {
            let Ok(r) = c
                .post(format!("{base}/v1/payments"))
                .header("idempotency-key", format!("full-{i}"))
                .json(&payment(&format!("full{i}")))
                .send()
                .await
            else {
                return 0;
            };
            let status = r.status().as_u16();
            if status != 201 {
                return status;
            }
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            let (pid, gpid) = (
                v["payment_id"].as_str().unwrap_or_default().to_string(),
                v["gateway_payment_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            let body = cb::payload("gen", cb::Kind::Success, &pid, &gpid, &format!("t{i}"));
            let mut req = c.post(format!("{base}/v1/callbacks/a")).body(body.clone());
            for (k, v) in cb::headers("gen", &body, cb::SECRET, cb::now_secs()) {
                req = req.header(k, v);
            }
            match req.send().await {
                Ok(r) if r.status() == 200 => 201,
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        }
    };
    // Drive payments until the ledger itself runs out of room.
    let mut first_503 = None;
    for i in 0..20_000 {
        let s = pay(i).await;
        if s == 503 {
            first_503 = Some(i);
            break;
        }
        assert_eq!(s, 201, "payment {i}");
    }
    let n = first_503.expect("the ledger hit the file-size limit");
    let r = c.get(format!("{base}/readyz")).send().await.unwrap();
    let mut early_warned = 0;
    if r.status() != 503 {
        // The 64 KiB probe may already fit again (the WAL restarts after a
        // checkpoint, freeing room under the per-file limit): then readiness went
        // off on the failed write and came back, which the writer logs.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut flipped = false;
        while !flipped && Instant::now() < deadline {
            if let Ok(l) = srv.lines.recv_timeout(Duration::from_millis(200)) {
                if l.contains("sink delivery failed") && l.contains("WARN") {
                    early_warned += 1;
                }
                flipped = l.contains("writes are failing; /readyz is false");
            }
        }
        assert!(flipped, "readiness is off from the first failed write");
    }
    // (The next write may fit again, into pages freed by a checkpoint: the disk is
    // "full" for writes that need new pages only. Readiness stays off until the
    // 64 KiB probe fits.)
    // Only whole records in the sink, although it has been failing for a while.
    assert!(lines_all_parse(&sink) >= before);
    // Space returns.
    let ok = Command::new("prlimit")
        .args([format!("--pid={pid}"), "--fsize=unlimited".into()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = c.get(format!("{base}/readyz")).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        let why = r.text().await.unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "readiness never came back: {why}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pay(n + 2).await, 201);
    // The sink catches up with everything, its file still whole lines.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&sink).unwrap();
        if text.contains(&format!("\"full{}\"", n + 2)) {
            break;
        }
        assert!(Instant::now() < deadline, "the sink never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(lines_all_parse(&sink) > before);
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    let warned = std::iter::from_fn(|| srv.lines.recv_timeout(Duration::from_millis(500)).ok())
        .filter(|l| l.contains("sink delivery failed") && l.contains("WARN"))
        .count()
        + early_warned;
    assert!(warned >= 1, "the sink's failure is logged at WARN");
}
