//! Outage: the HTTP sink answers 503 for a while, then recovers — nothing is lost and
//! each payment's events arrive in order; past the attempt limit events become dead
//! letters (listed by the admin API, later events of the payment parked behind them)
//! and a replay delivers them.
//!
//! The sink is a real HTTP server on port 0, so these tests run on real time with a
//! tiny backoff (5–20 ms) and wait on deadlines, never on fixed sleeps.

mod common;

use common::pipeline::*;
use switchyard::pipeline::{replay, sinks};

fn config(sink: &FakeSink, max_attempts: u32) -> String {
    format!(
        "[pipeline]\nmax_attempts = {max_attempts}\nbackoff_initial = \"5ms\"\nbackoff_max = \"20ms\"\n\
         batch = 7\npoll = \"20ms\"\n\n[[sink]]\nname = \"recon\"\nkind = \"http\"\nurl = \"{}\"\n\
         secret_env = \"RECON\"\ntimeout = \"2s\"\n",
        sink.url()
    )
}

fn metric(h: &Harness, line_start: &str) -> Option<f64> {
    h.state
        .metrics
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn sink_outage_then_recovery_loses_nothing_and_keeps_order() {
    let sink = FakeSink::start(true).await;
    let h = Harness::start(&config(&sink, 1000)).await;
    let payments: Vec<String> = (0..10).map(|i| format!("pay_{i}")).collect();
    enqueue_interleaved(&h.state.ledger, &payments, 5).await;

    // The sink is down: attempts keep coming (with backoff), nothing is accepted.
    eventually(10, "retries during the outage", || sink.attempts() >= 6).await;
    assert!(sink.received().is_empty());
    eventually(10, "the backlog gauge", || {
        metric(&h, "switchyard_outbox_pending ") == Some(50.0)
    })
    .await;
    assert!(metric(&h, "switchyard_outbox_oldest_age_seconds ").unwrap() > 0.0);
    assert!(
        metric(
            &h,
            "switchyard_events_forwarded_total{result=\"failed\",sink=\"recon\"}"
        )
        .unwrap()
            >= 5.0
    );

    sink.set_failing(false);
    eventually(10, "every event after recovery", || {
        sink.received().len() >= 50
    })
    .await;
    let got = sink.received();
    assert_complete_in_order(&got, &payments, 5);
    assert_eq!(
        got.len(),
        50,
        "each event once (the sink acknowledged each)"
    );
    assert_eq!(
        sink.bad_signatures
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(h.dead_letters().await.is_empty());
    eventually(10, "the backlog to drain", || {
        metric(&h, "switchyard_outbox_pending ") == Some(0.0)
    })
    .await;
    assert_eq!(
        metric(
            &h,
            "switchyard_events_forwarded_total{result=\"delivered\",sink=\"recon\"}"
        ),
        Some(50.0)
    );
}

#[tokio::test]
async fn exhausted_events_become_dead_letters_park_their_payment_and_replay_delivers_them() {
    let sink = FakeSink::start(true).await;
    let h = Harness::start(&config(&sink, 3)).await;
    let (a, b, c) = (
        "pay_a".to_string(),
        "pay_b".to_string(),
        "pay_c".to_string(),
    );
    enqueue_interleaved(&h.state.ledger, std::slice::from_ref(&a), 3).await;
    enqueue_interleaved(&h.state.ledger, std::slice::from_ref(&b), 2).await;

    // a0 and b0 use up their 3 attempts; a1, a2 and b1 are parked behind them.
    let mut dead = Vec::new();
    for _ in 0..500 {
        dead = h.dead_letters().await;
        if dead.len() == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(dead.len(), 5, "{dead:#?}");
    let summary: Vec<(String, String, i64)> = dead
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap().to_string(),
                d["reason"].as_str().unwrap().to_string(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("evt_pay_a_0", "attempts", 3),
        ("evt_pay_a_1", "parked", 0),
        ("evt_pay_a_2", "parked", 0),
        ("evt_pay_b_0", "attempts", 3),
        ("evt_pay_b_1", "parked", 0),
    ];
    let want: Vec<(String, String, i64)> = want
        .iter()
        .map(|(e, r, n)| (e.to_string(), r.to_string(), *n))
        .collect();
    assert_eq!(summary, want);
    assert_eq!(dead[0]["sink"], "recon");
    assert_eq!(dead[0]["event"]["payment_id"], "pay_a");
    assert!(dead[0]["last_error"].as_str().unwrap().contains("503"));
    assert_eq!(sink.attempts(), 6);

    // The sink recovers. A new payment flows; a new event of a parked payment does
    // not overtake its dead letters: it is parked too.
    sink.set_failing(false);
    enqueue_interleaved(&h.state.ledger, &[a.clone(), c.clone()], 4).await;
    eventually(10, "pay_c's events", || {
        sink.received()
            .iter()
            .filter(|v| v["payment_id"] == "pay_c")
            .count()
            == 4
    })
    .await;
    let dead = h.dead_letters().await;
    assert_eq!(dead.len(), 6, "evt_pay_a_3 parked: {dead:#?}");
    assert_eq!(dead[5]["event_id"], "evt_pay_a_3");
    assert!(sink.received().iter().all(|v| v["payment_id"] == "pay_c"));

    // Replay re-drives them through the same sink, in order, and clears them.
    let targets = sinks::build_all(&h.state.config.load().pipeline.sinks, None).unwrap();
    let mut lines = Vec::new();
    let done = replay::dead_letters(&h.state.ledger, &targets, |p| lines.push(p.delivered))
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].delivered, 6);
    assert_eq!(lines, vec![6]);
    let got = sink.received();
    assert_complete_in_order(&got, &[a, c], 4);
    assert_complete_in_order(&got, &[b], 2);
    assert!(h.dead_letters().await.is_empty());
    eventually(10, "the dead-letter gauge", || {
        metric(&h, "switchyard_dead_letters ") == Some(0.0)
    })
    .await;
}

#[tokio::test]
async fn admin_dead_letters_needs_the_token_and_checks_its_limit() {
    let sink = FakeSink::start(false).await;
    let h = Harness::start(&config(&sink, 3)).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/admin/dead-letters", h.admin);
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{url}?limit=0"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_request");
}

#[tokio::test]
async fn shutdown_does_not_wait_out_a_backoff_and_keeps_undelivered_events_pending() {
    let sink = FakeSink::start(true).await;
    let mut h = Harness::start(&format!(
        "[pipeline]\nbackoff_initial = \"1h\"\nbackoff_max = \"2h\"\n\n[[sink]]\nname = \"recon\"\n\
         kind = \"http\"\nurl = \"{}\"\nsecret_env = \"RECON\"\n",
        sink.url()
    ))
    .await;
    enqueue_interleaved(&h.state.ledger, &["pay_a".to_string()], 2).await;
    eventually(10, "the first attempt", || sink.attempts() == 1).await;
    h.shutdown(5).await;
    let cursor = h
        .state
        .ledger
        .query(|c| switchyard::ledger::delivery::cursor(c, "recon"))
        .await
        .unwrap();
    assert_eq!(cursor, 0, "nothing was delivered, so nothing is settled");
    let dead = h
        .state
        .ledger
        .query(|c| switchyard::ledger::delivery::dead_letters(c, None, 0, 10))
        .await
        .unwrap();
    assert!(dead.is_empty());
    assert_eq!(sink.attempts(), 1, "no attempt after the shutdown");
}
