//! The watchdog on paused time: a pending payment gets its status checks at the
//! right times (TTL, then spaced) and ends `expired` + `stale` at its TTL plus
//! `expire_after` when they all come back pending; a payment left `unknown` is
//! checked from 90 s on and resolved by the answer.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use switchyard::config;
use switchyard::connectors::StatusReport;
use switchyard::connectors::upstream::UpstreamError;
use switchyard::ledger::{Completion, Intent, Ledger, LedgerOptions, StoredResponse, outbox};
use switchyard::metrics::Metrics;
use switchyard::model::{Currency, Method, Paise, PaymentStatus};
use switchyard::state::AppState;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Fake {
    t0: Instant,
    calls: mpsc::UnboundedSender<(String, u64)>,
}

#[async_trait]
impl switchyard::callbacks::watchdog::StatusSource for Fake {
    async fn status(
        &self,
        _gateway: &str,
        payment_id: &str,
        _gpid: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let _ = self
            .calls
            .send((payment_id.to_string(), self.t0.elapsed().as_secs()));
        let resolved = payment_id == "pay_unknown";
        Ok(StatusReport {
            tpv_failed: false,
            status: if resolved {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Pending
            },
            reason: None,
            gateway_payment_id: None,
            utr: Some("412345678901".into()),
            rrn: None,
            raw_status: if resolved { "succeeded" } else { "pending" }.into(),
            raw_code: None,
            amount: None,
        })
    }
}

fn intent(id: &str, now: OffsetDateTime) -> Intent {
    Intent {
        payment_id: id.into(),
        order_id: format!("o_{id}"),
        idempotency_key: format!("k_{id}"),
        request_hash: "h".into(),
        amount: Paise(49_900),
        currency: Currency::Inr,
        method: Method::UpiCollect,
        route: "default".into(),
        gateway: "gen".into(),
        created_at: now,
        ttl_deadline: now,
    }
}

async fn outbox_body(ledger: &Ledger, sql_where: &'static str) -> Option<serde_json::Value> {
    ledger
        .query(move |c| {
            use rusqlite::OptionalExtension;
            Ok(c.query_row(
                &format!("SELECT body FROM outbox WHERE {sql_where}"),
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?)
        })
        .await
        .unwrap()
        .map(|s| serde_json::from_str(&s).unwrap())
}

#[tokio::test(start_paused = true)]
async fn pending_payment_is_checked_on_schedule_then_stale() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[ledger]\npath = {:?}\n\n[[gateway]]\nname = \"gen\"\nconnector = \"generic\"\n\
         base_url = \"http://127.0.0.1:9\"\n\n[[route]]\nname = \"default\"\n\
         split = [{{ gateway = \"gen\", weight = 100 }}]\n\n[watchdog]\nttl = \"2m\"\n\
         first_check_after = \"90s\"\ncheck_interval = \"90s\"\nmax_checks = 3\nscan_interval = \"5s\"\nexpire_after = \"10m\"\n",
        dir.path().join("l.db").display().to_string()
    );
    let snap = config::load_str(&text, "t.toml", &|_| Some("s".into()), 1).unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let (state, _queues) = AppState::new(
        snap,
        ledger.clone(),
        Metrics::new(prometheus::Registry::new()),
    );

    let now = OffsetDateTime::now_utc();
    for (id, status) in [
        ("pay_pending", PaymentStatus::Pending),
        ("pay_unknown", PaymentStatus::Unknown),
    ] {
        ledger.begin(intent(id, now)).await.unwrap();
        ledger
            .complete(Completion {
                payment_id: id.into(),
                idempotency_key: format!("k_{id}"),
                gateway: "gen".into(),
                gateway_payment_id: None,
                binds_gateway_payment_id: false,
                status,
                reason: None,
                raw_status: None,
                attempts: vec![],
                response: StoredResponse {
                    http_status: 504,
                    body: b"{}".to_vec(),
                },
                at: now,
            })
            .await
            .unwrap();
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    let t0 = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(switchyard::callbacks::watchdog::run(
        state.callbacks.clone(),
        Arc::new(Fake { t0, calls: tx }),
        stop_rx,
    ));

    let signal = ledger.outbox_signal();
    let mut calls = Vec::new();
    for _ in 0..4 {
        calls.push(rx.recv().await.unwrap());
    }
    // Unknown: from 90 s on. Pending: at the TTL (2 min), then every 90 s.
    let expect = [
        ("pay_unknown", 90),
        ("pay_pending", 120),
        ("pay_pending", 210),
        ("pay_pending", 300),
    ];
    for ((id, at), (got_id, got_at)) in expect.iter().zip(&calls) {
        assert_eq!(got_id, id);
        assert!(
            (*at..*at + 5).contains(got_at),
            "{id}: checked at {got_at}s, expected {at}s"
        );
    }
    // Expired + stale at the TTL deadline (creation here) plus expire_after (600 s).
    loop {
        let woken = signal.notified();
        if state.metrics.payments_stale.get() == 1 {
            break;
        }
        // The writer signals at commit, before the watchdog counts the stale
        // payment: re-check on the next signal or after a (paused-clock) second.
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    assert!(
        t0.elapsed() >= Duration::from_secs(600),
        "expired too early"
    );
    let stale = outbox_body(
        &ledger,
        "payment_id = 'pay_pending' AND json_extract(body, '$.source') = 'watchdog'",
    )
    .await
    .unwrap();
    assert_eq!(stale["stale"], true);
    assert_eq!(stale["status"], "expired");
    assert_eq!(stale["previous_status"], "pending");
    assert_eq!(stale["reason"], "expired");
    assert_eq!(stale["order_action"], "hold");
    let p = ledger.payment("pay_pending").await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Expired);
    let resolved = outbox_body(
        &ledger,
        "payment_id = 'pay_unknown' AND json_extract(body, '$.source') = 'status_check'",
    )
    .await
    .unwrap();
    assert_eq!(resolved["source"], "status_check");
    assert_eq!(resolved["status"], "succeeded");
    assert_eq!(resolved["previous_status"], "unknown");
    let p = ledger.payment("pay_unknown").await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(p.utr.as_deref(), Some("412345678901"));
    let checks = |r: &str| {
        state
            .metrics
            .status_checks
            .with_label_values(&["gen", r])
            .get()
    };
    assert_eq!((checks("pending"), checks("final")), (3, 1));

    // No fourth check, ever.
    tokio::time::sleep(Duration::from_secs(900)).await;
    assert!(rx.try_recv().is_err(), "a stale payment was checked again");
    let id = stale["event_id"].as_str().unwrap().to_string();
    let seq = ledger.query(move |c| outbox::seq_of(c, &id)).await.unwrap();
    assert!(seq.is_some(), "the stale event is in the outbox once");
    stop_tx.send(true).unwrap();
    task.await.unwrap();
}

/// Answers 404 for every payment: the gateway never saw it.
struct NeverSaw {
    calls: mpsc::UnboundedSender<u64>,
    t0: Instant,
}

#[async_trait]
impl switchyard::callbacks::watchdog::StatusSource for NeverSaw {
    async fn status(
        &self,
        _gateway: &str,
        _payment_id: &str,
        _gpid: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let _ = self.calls.send(self.t0.elapsed().as_secs());
        Err(UpstreamError::Status {
            status: 404,
            body: "no such payment".into(),
        })
    }
}

#[tokio::test(start_paused = true)]
async fn not_found_after_the_last_check_expires_and_frees_the_stuck_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[ledger]\npath = {:?}\n\n[[gateway]]\nname = \"gen\"\nconnector = \"generic\"\n\
         base_url = \"http://127.0.0.1:9\"\n\n[[route]]\nname = \"default\"\n\
         split = [{{ gateway = \"gen\", weight = 100 }}]\n\n[watchdog]\nttl = \"7m\"\n\
         scan_interval = \"5s\"\n",
        dir.path().join("l.db").display().to_string()
    );
    let snap = config::load_str(&text, "t.toml", &|_| Some("s".into()), 1).unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let (state, _queues) = AppState::new(
        snap,
        ledger.clone(),
        Metrics::new(prometheus::Registry::new()),
    );
    // The process died between the intent and the completion: `initiated`, key in progress.
    let now = OffsetDateTime::now_utc();
    ledger.begin(intent("pay_lost", now)).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let t0 = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(switchyard::callbacks::watchdog::run(
        state.callbacks.clone(),
        Arc::new(NeverSaw { calls: tx, t0 }),
        stop_rx,
    ));
    let mut at = Vec::new();
    for _ in 0..3 {
        at.push(rx.recv().await.unwrap());
    }
    // Treated as unknown: from 90 s on (not after the 7-minute TTL), 90 s apart.
    for (got, want) in at.iter().zip([90, 180, 270]) {
        assert!((want..want + 5).contains(got), "checked at {at:?}");
    }
    loop {
        let p = ledger.payment("pay_lost").await.unwrap().unwrap();
        if p.status == PaymentStatus::Expired {
            assert_eq!(p.raw_status.as_deref(), Some("not_found"));
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let ev = outbox_body(&ledger, "payment_id = 'pay_lost'")
        .await
        .unwrap();
    assert_eq!(ev["status"], "expired");
    assert_eq!(ev["reason"], "expired");
    assert_eq!(ev["order_action"], "cancel");
    // The retry of the stuck key now replays the final state, not 409 for good.
    match ledger.begin(intent("pay_lost", now)).await.unwrap() {
        switchyard::ledger::Begin::Replay(r) => assert_eq!(r.http_status, 200),
        other => panic!("still stuck: {other:?}"),
    }
    // None after the final answer.
    tokio::time::sleep(Duration::from_secs(900)).await;
    assert!(rx.try_recv().is_err(), "checked after it expired");
    stop_tx.send(true).unwrap();
    task.await.unwrap();
}

/// Never answers: the gateway is unreachable.
struct Unreachable(mpsc::UnboundedSender<()>);

#[async_trait]
impl switchyard::callbacks::watchdog::StatusSource for Unreachable {
    async fn status(
        &self,
        _gateway: &str,
        _payment_id: &str,
        _gpid: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let _ = self.0.send(());
        Err(UpstreamError::NotSent("connection refused".into()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_payment_never_expires_for_want_of_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[ledger]\npath = {:?}\n\n[[gateway]]\nname = \"gen\"\nconnector = \"generic\"\n\
         base_url = \"http://127.0.0.1:9\"\n\n[[route]]\nname = \"default\"\n\
         split = [{{ gateway = \"gen\", weight = 100 }}]\n\n[watchdog]\nttl = \"2m\"\n\
         scan_interval = \"5s\"\nexpire_after = \"1m\"\n",
        dir.path().join("l.db").display().to_string()
    );
    let snap = config::load_str(&text, "t.toml", &|_| Some("s".into()), 1).unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let (state, _queues) = AppState::new(
        snap,
        ledger.clone(),
        Metrics::new(prometheus::Registry::new()),
    );
    ledger
        .begin(intent("pay_down", OffsetDateTime::now_utc()))
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(switchyard::callbacks::watchdog::run(
        state.callbacks.clone(),
        Arc::new(Unreachable(tx)),
        stop_rx,
    ));
    // Well past three checks, the TTL and expire_after: still checking, not expired.
    for _ in 0..8 {
        rx.recv().await.unwrap();
    }
    let p = ledger.payment("pay_down").await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Initiated);
    stop_tx.send(true).unwrap();
    task.await.unwrap();
}
