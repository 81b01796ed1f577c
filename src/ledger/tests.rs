use std::time::Duration;

use rusqlite::Connection;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::oneshot;

use super::writer::{Cmd, Counters, process_batch};
use super::*;
use crate::model::{Currency, Method, Paise, PaymentStatus, Reason};

fn opts() -> LedgerOptions {
    LedgerOptions {
        group_commit_max: 256,
        ..LedgerOptions::default()
    }
}

const T0: OffsetDateTime = datetime!(2025-01-15 10:00:00.123 UTC);

fn intent(n: u32, key: &str, hash: &str) -> Intent {
    Intent {
        payment_id: format!("pay_{n}"),
        order_id: format!("order_{}", n / 2),
        idempotency_key: key.to_owned(),
        request_hash: hash.to_owned(),
        amount: Paise(10_000 + i64::from(n)),
        currency: Currency::Inr,
        method: Method::UpiCollect,
        route: "upi".into(),
        gateway: "razorpay".into(),
        created_at: T0 + Duration::from_secs(u64::from(n)),
        ttl_deadline: T0 + Duration::from_secs(420 + u64::from(n)),
    }
}

fn completion(n: u32, key: &str) -> Completion {
    Completion {
        payment_id: format!("pay_{n}"),
        idempotency_key: key.to_owned(),
        gateway: "cashfree".into(),
        gateway_payment_id: Some(format!("cf_{n}")),
        binds_gateway_payment_id: false,
        status: PaymentStatus::Failed,
        reason: Some(Reason::InsufficientFunds),
        raw_status: Some("FAILED".into()),
        attempts: vec![
            AttemptRecord {
                gateway: "razorpay".into(),
                outcome: "not_sent".into(),
                latency_ms: 3,
            },
            AttemptRecord {
                gateway: "cashfree".into(),
                outcome: "declined".into(),
                latency_ms: 120,
            },
        ],
        response: StoredResponse {
            http_status: 402,
            body: br#"{"payment_id":"pay"}"#.to_vec(),
        },
        at: T0 + Duration::from_secs(5),
    }
}

#[tokio::test]
async fn begin_cases() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("a/b/ledger.db"), opts()).unwrap();

    assert_eq!(
        ledger.begin(intent(1, "k1", "h1")).await.unwrap(),
        Begin::New
    );
    // Same key, same body, not finished.
    assert_eq!(
        ledger.begin(intent(2, "k1", "h1")).await.unwrap(),
        Begin::InProgress
    );
    // Same key, different body, not finished.
    assert_eq!(
        ledger.begin(intent(3, "k1", "h2")).await.unwrap(),
        Begin::Conflict
    );

    ledger.complete(completion(1, "k1")).await.unwrap();
    match ledger.begin(intent(4, "k1", "h1")).await.unwrap() {
        Begin::Replay(r) => {
            assert_eq!(r.http_status, 402);
            assert_eq!(r.body, completion(1, "k1").response.body);
        }
        other => panic!("expected replay, got {other:?}"),
    }
    // Same key, different body, finished.
    assert_eq!(
        ledger.begin(intent(5, "k1", "h2")).await.unwrap(),
        Begin::Conflict
    );
    // None of the refused intents left a payment row behind.
    for n in 2..=5 {
        assert!(ledger.payment(&format!("pay_{n}")).await.unwrap().is_none());
    }
    ledger.shutdown().await.unwrap();
}

#[tokio::test]
async fn complete_shows_linkage_attempts_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), opts()).unwrap();
    assert_eq!(
        ledger.begin(intent(7, "k7", "h")).await.unwrap(),
        Begin::New
    );

    let v = ledger.payment("pay_7").await.unwrap().unwrap();
    assert_eq!(v.status, PaymentStatus::Initiated);
    assert_eq!(v.gateway, "razorpay");
    assert_eq!(v.merchant_txn_id, "pay_7");
    assert_eq!(v.amount, Paise(10_007));
    assert_eq!(v.created_at, intent(7, "k7", "h").created_at);
    assert_eq!(v.ttl_deadline, intent(7, "k7", "h").ttl_deadline);
    assert_eq!(v.events.len(), 1);
    assert_eq!(v.events[0].kind, "initiated");

    // Failover: attempt 2 written ahead on cashfree.
    ledger
        .record_attempt_start("pay_7", 2, "cashfree")
        .await
        .unwrap();
    let v = ledger.payment("pay_7").await.unwrap().unwrap();
    assert_eq!(v.gateway, "cashfree");
    assert_eq!(v.attempts.len(), 1);
    assert_eq!(v.attempts[0].outcome, "started");

    ledger.complete(completion(7, "k7")).await.unwrap();
    let v = ledger.payment("pay_7").await.unwrap().unwrap();
    assert_eq!(v.status, PaymentStatus::Failed);
    assert_eq!(v.reason, Some(Reason::InsufficientFunds));
    assert_eq!(v.gateway, "cashfree");
    assert_eq!(v.gateway_payment_id.as_deref(), Some("cf_7"));
    assert_eq!(v.raw_status.as_deref(), Some("FAILED"));
    assert_eq!(v.order_id, "order_3");
    assert_eq!(v.updated_at, T0 + Duration::from_secs(5));
    assert_eq!(v.attempts, completion(7, "k7").attempts);
    let kinds: Vec<_> = v.events.iter().map(|e| e.kind.as_str()).collect();
    // The status change the initiation made is forwarded like any other (item 7).
    assert_eq!(
        kinds,
        ["initiated", "attempt_started", "completed", "initiation"]
    );
    assert!(v.events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(v.events[2].status, Some(PaymentStatus::Failed));
    assert_eq!(v.events[2].detail["gateway_payment_id"], "cf_7");

    // Unknown payment / key mismatch are errors, not silent no-ops.
    assert!(matches!(
        ledger.complete(completion(99, "k99")).await,
        Err(LedgerError::NotFound(_))
    ));
    assert!(matches!(
        ledger.complete(completion(7, "other")).await,
        Err(LedgerError::NotFound(_))
    ));
    assert!(ledger.record_attempt_start("nope", 1, "x").await.is_err());
    ledger.ping().await.unwrap();
    ledger.shutdown().await.unwrap();
}

#[tokio::test]
async fn payments_by_order_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), opts()).unwrap();
    // intent(n) has order_{n/2}: pay_4 and pay_5 share order_2, pay_5 is newer.
    for n in [4, 5, 6] {
        let key = format!("k{n}");
        assert_eq!(
            ledger.begin(intent(n, &key, "h")).await.unwrap(),
            Begin::New
        );
    }
    let ids: Vec<_> = ledger
        .payments_by_order("order_2")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.payment_id)
        .collect();
    assert_eq!(ids, ["pay_5", "pay_4"]);
    assert!(
        ledger
            .payments_by_order("order_x")
            .await
            .unwrap()
            .is_empty()
    );
    ledger.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_begins_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), opts()).unwrap();
    let tasks: Vec<_> = (0..500u32)
        .map(|n| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.begin(intent(n, &format!("k{n}"), "h")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), Begin::New);
    }
    let s = ledger.stats();
    assert_eq!(s.writes, 500);
    assert!(s.max_batch > 1, "{s:?}");
    assert!(s.grouped_commits >= 1 && s.commits < 500, "{s:?}");
    assert_eq!(s.failed_commits, 0);
    for n in [0u32, 250, 499] {
        assert!(ledger.payment(&format!("pay_{n}")).await.unwrap().is_some());
    }
    ledger.shutdown().await.unwrap();
}

#[tokio::test]
async fn events_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let ledger = Ledger::open(&path, opts()).unwrap();
    ledger.begin(intent(1, "k", "h")).await.unwrap();
    ledger.shutdown().await.unwrap();

    let conn = Connection::open(&path).unwrap();
    let upd = conn.execute("UPDATE events SET kind = 'x'", []);
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = conn.execute("DELETE FROM events", []);
    assert!(del.unwrap_err().to_string().contains("append-only"));
    let n: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn reopen_keeps_data_and_works_outside_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    // Opened outside any runtime; used from one.
    let ledger = Ledger::open(&path, opts()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        ledger.begin(intent(1, "k1", "h")).await.unwrap();
        ledger.complete(completion(1, "k1")).await.unwrap();
        ledger.shutdown().await.unwrap();
        assert!(matches!(ledger.ping().await, Err(LedgerError::Closed)));
        // Shutdown is idempotent.
        ledger.shutdown().await.unwrap();
    });
    drop(ledger);

    let version = |p: &std::path::Path| {
        let c = Connection::open(p).unwrap();
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    assert_eq!(version(&path), schema::known_version());

    rt.block_on(async {
        // Opened inside a runtime this time.
        let ledger = Ledger::open(&path, opts()).unwrap();
        let v = ledger.payment("pay_1").await.unwrap().unwrap();
        assert_eq!(v.status, PaymentStatus::Failed);
        // initiated, completed, and the forwarded initiation event.
        assert_eq!(v.events.len(), 3);
        assert!(matches!(
            ledger.begin(intent(1, "k1", "h")).await.unwrap(),
            Begin::Replay(_)
        ));
        ledger.shutdown().await.unwrap();
    });
    assert_eq!(version(&path), schema::known_version());
}

#[test]
fn schema_too_new_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA user_version = {}",
            schema::known_version() + 1
        ))
        .unwrap();
    }
    assert!(matches!(
        Ledger::open(&path, opts()),
        Err(LedgerError::SchemaTooNew { .. })
    ));
}

#[test]
fn failing_command_does_not_poison_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let ledger = Ledger::open(&path, opts()).unwrap();
    drop(ledger); // the writer exits when every handle is gone

    let mut conn = Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let (a_tx, mut a_rx) = oneshot::channel();
    let (b_tx, mut b_rx) = oneshot::channel();
    let (c_tx, mut c_rx) = oneshot::channel();
    // b reuses a's payment id under another key: primary-key violation.
    let mut dup = intent(1, "kb", "h");
    dup.order_id = "dup".into();
    let mut batch = vec![
        Cmd::Begin(Box::new(intent(1, "ka", "h")), a_tx),
        Cmd::Begin(Box::new(dup), b_tx),
        Cmd::Begin(Box::new(intent(3, "kc", "h")), c_tx),
    ];
    let counters = Counters::default();
    let mut waiters = Vec::new();
    process_batch(&mut conn, &mut batch, &counters, &mut waiters);
    assert_eq!(a_rx.try_recv().unwrap().unwrap(), Begin::New);
    assert!(matches!(
        b_rx.try_recv().unwrap(),
        Err(LedgerError::Sqlite(_))
    ));
    assert_eq!(c_rx.try_recv().unwrap().unwrap(), Begin::New);
    let s = counters.snapshot();
    assert_eq!((s.commits, s.writes, s.max_batch), (1, 3, 3));

    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT count(*) FROM payments"), 2);
    assert_eq!(
        count("SELECT count(*) FROM idempotency WHERE key = 'kb'"),
        0
    );
    assert_eq!(count("SELECT count(*) FROM events"), 2);
    assert_eq!(
        count("SELECT count(*) FROM payments WHERE order_id = 'dup'"),
        0
    );
}

#[tokio::test]
async fn complete_does_not_override_a_final_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let ledger = Ledger::open(&path, opts()).unwrap();
    ledger.begin(intent(1, "k1", "h")).await.unwrap();
    ledger.complete(completion(1, "k1")).await.unwrap(); // failed (final)
    let mut late = completion(1, "k1");
    late.status = PaymentStatus::Pending;
    late.reason = None;
    ledger.complete(late).await.unwrap();
    let v = ledger.payment("pay_1").await.unwrap().unwrap();
    assert_eq!(v.status, PaymentStatus::Failed);
    assert_eq!(v.reason, Some(Reason::InsufficientFunds));
    assert_eq!(v.events.last().unwrap().detail["status_kept"], "failed");
    ledger.shutdown().await.unwrap();
}

/// Rough throughput of fsynced group commits: `cargo test --release --lib
/// ledger::tests::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), opts()).unwrap();
    let n = 20_000u32;
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.begin(intent(i, &format!("k{i}"), "h")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{n} fsynced begins in {secs:.2}s = {:.0}/s; {:?}",
        f64::from(n) / secs,
        ledger.stats()
    );
    ledger.shutdown().await.unwrap();
}

#[tokio::test]
async fn write_jobs_commit_and_a_failing_job_rolls_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), opts()).unwrap();
    let ok = ledger.write(|c| {
        c.execute("INSERT INTO meta (key, value) VALUES ('a', '1')", [])?;
        Ok(7)
    });
    let bad = ledger.write(|c| -> Result<(), LedgerError> {
        c.execute("INSERT INTO meta (key, value) VALUES ('b', '2')", [])?;
        Err(LedgerError::Internal("refused".into()))
    });
    let (ok, bad) = tokio::join!(ok, bad);
    assert_eq!(ok.unwrap(), 7);
    assert!(matches!(bad, Err(LedgerError::Internal(m)) if m == "refused"));
    let keys: Vec<String> = ledger
        .query(|c| {
            let mut st = c.prepare("SELECT key FROM meta WHERE key IN ('a', 'b') ORDER BY key")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(keys, vec!["a".to_string()]);
}
