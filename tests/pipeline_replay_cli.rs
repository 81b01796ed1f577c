//! `switchyard replay` as a user runs it: the dead letters of a ledger re-driven
//! through the configured file sink (and cleared), `--since` re-sending everything
//! from a time, and clear errors for bad arguments.

mod common;

use std::process::{Command, Output};

use common::pipeline::*;
use switchyard::ledger::delivery;
use switchyard::ledger::{Ledger, LedgerOptions};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn replay(cfg: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("replay")
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env("T", "admin-token")
        .output()
        .unwrap()
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn replay_delivers_dead_letters_then_since_resends_everything() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("replayed.jsonl");
    let cfg = dir.path().join("sy.toml");
    std::fs::write(
        &cfg,
        config_text(
            dir.path(),
            &format!(
                "[[sink]]\nname = \"archive\"\nkind = \"file\"\npath = {:?}\n",
                out_file.display().to_string()
            ),
        ),
    )
    .unwrap();

    // A ledger holding five events, three of them dead letters of "archive".
    let ledger = Ledger::open(&dir.path().join("ledger.db"), LedgerOptions::default()).unwrap();
    enqueue_interleaved(&ledger, &["pay_a".to_string()], 3).await;
    enqueue_interleaved(&ledger, &["pay_b".to_string()], 2).await;
    ledger
        .write(|c| {
            let rows = delivery::rows_after(c, 0, 10)?;
            for r in [&rows[0], &rows[1], &rows[3]] {
                delivery::bury(c, "archive", r, 30, "attempts", "answered 503", 1)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    ledger.shutdown().await.unwrap();
    drop(ledger);

    let out = replay(&cfg, &["--dead-letters"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("replay: sink archive: 3 delivered"),
        "{stderr}"
    );
    assert!(
        stdout.contains("sink archive: 3 event(s) delivered"),
        "{stdout}"
    );
    assert_eq!(
        lines(&out_file),
        ["evt_pay_a_0", "evt_pay_a_1", "evt_pay_b_0"]
    );

    // Cleared: a second run has nothing to do.
    let out = replay(&cfg, &["--dead-letters", "--sink", "archive"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 event(s) delivered"));
    let ledger = Ledger::open(&dir.path().join("ledger.db"), LedgerOptions::default()).unwrap();
    let left = ledger
        .query(|c| delivery::dead_letters(c, None, 0, 10))
        .await
        .unwrap();
    assert!(left.is_empty());
    ledger.shutdown().await.unwrap();
    drop(ledger);

    // --since: every event created from then on, in outbox order (the tests' rows
    // are created at 2023-11-14T22:13:20Z).
    let out = replay(&cfg, &["--since", "2023-11-14T22:00:00Z"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out_file);
    assert_eq!(
        got[3..],
        [
            "evt_pay_a_0",
            "evt_pay_a_1",
            "evt_pay_a_2",
            "evt_pay_b_0",
            "evt_pay_b_1"
        ]
    );
    let out = replay(&cfg, &["--since", "2023-11-14T23:00:00+00:00"]);
    assert!(out.status.success());
    assert_eq!(
        lines(&out_file).len(),
        8,
        "nothing newer than the given time"
    );
}

#[test]
fn replay_refuses_bad_arguments_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sy.toml");
    std::fs::write(&cfg, config_text(dir.path(), "")).unwrap();

    let out = replay(&cfg, &["--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since \"yesterday\" is not RFC 3339"));

    let out = replay(&cfg, &["--dead-letters", "--sink", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sink named \"nope\""));

    // Neither --dead-letters nor --since: a usage error from the parser.
    let out = replay(&cfg, &[]);
    assert_eq!(out.status.code(), Some(2));
}
