//! Real brokers: the Redis Streams sink and the NATS JetStream sink deliver through a
//! running switchyard to the servers named by `SWITCHYARD_TEST_REDIS_URL` and
//! `SWITCHYARD_TEST_NATS_URL` (`.ci/run` sets both and starts the servers). Without
//! the variable a test prints "skipped: ..." and passes. Stream and subject names are
//! unique per run, and each test deletes what it created.

mod common;

use std::time::Duration;

use common::pipeline::*;
use switchyard::ledger::delivery::OutboxRow;
use switchyard::pipeline::sinks;
use switchyard::pipeline::{SinkKind, SinkSpec};

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Polls an async check until it holds or 15 s pass.
async fn eventually_async<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const FAST: &str =
    "[pipeline]\nbackoff_initial = \"20ms\"\nbackoff_max = \"200ms\"\npoll = \"50ms\"\n\n";

#[tokio::test]
async fn redis_streams_sink_delivers_every_event_in_order() {
    let Ok(url) = std::env::var("SWITCHYARD_TEST_REDIS_URL") else {
        println!("skipped: SWITCHYARD_TEST_REDIS_URL is not set");
        return;
    };
    let stream = format!("switchyard-test-{}", unique());
    let h = Harness::start(&format!(
        "{FAST}[[sink]]\nname = \"stream\"\nkind = \"redis\"\nurl = \"{url}\"\nstream = \"{stream}\"\nmaxlen = 100000\n"
    ))
    .await;
    let payments: Vec<String> = (0..3).map(|i| format!("pay_{i}")).collect();
    enqueue_interleaved(&h.state.ledger, &payments, 4).await;

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    eventually_async("12 stream entries", || {
        let mut conn = conn.clone();
        let stream = stream.clone();
        async move {
            let n: usize = redis::cmd("XLEN")
                .arg(&stream)
                .query_async(&mut conn)
                .await
                .unwrap();
            n >= 12
        }
    })
    .await;
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(entries.len(), 12);
    let events: Vec<serde_json::Value> = entries
        .iter()
        .map(|(_, fields)| {
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].0, "event");
            serde_json::from_str(&fields[0].1).unwrap()
        })
        .collect();
    assert_complete_in_order(&events, &payments, 4);
}

#[tokio::test]
async fn nats_jetstream_sink_delivers_and_the_server_dedupes_a_resent_event_id() {
    let Ok(url) = std::env::var("SWITCHYARD_TEST_NATS_URL") else {
        println!("skipped: SWITCHYARD_TEST_NATS_URL is not set");
        return;
    };
    let id = unique();
    let (subject, stream) = (
        format!("switchyard.test.{id}.events"),
        format!("SWY_TEST_{id}"),
    );
    let h = Harness::start(&format!(
        "{FAST}[[sink]]\nname = \"bus\"\nkind = \"nats\"\nurl = \"{url}\"\nsubject = \"{subject}\"\nstream = \"{stream}\"\n"
    ))
    .await;
    let payments: Vec<String> = (0..2).map(|i| format!("pay_{i}")).collect();
    enqueue_interleaved(&h.state.ledger, &payments, 3).await;

    let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    let count = || {
        let (js, stream) = (js.clone(), stream.clone());
        async move {
            match js.get_stream(&stream).await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            }
        }
    };
    eventually_async("6 stream messages", || async { count().await >= 6 }).await;
    assert_eq!(count().await, 6);

    let s = js.get_stream(&stream).await.unwrap();
    let mut events = Vec::new();
    for seq in 1..=6 {
        let m = s.get_raw_message(seq).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        let msg_id = m.headers.get("Nats-Msg-Id").map(|v| v.to_string());
        assert_eq!(
            msg_id.as_deref(),
            v["event_id"].as_str(),
            "Nats-Msg-Id is the event id"
        );
        events.push(v);
    }
    assert_complete_in_order(&events, &payments, 3);

    // Re-sending an event id already published is acknowledged but stored once.
    let direct = sinks::build(&SinkSpec {
        name: "bus".into(),
        kind: SinkKind::Nats {
            url: url.clone(),
            subject: subject.clone(),
            stream: stream.clone(),
        },
    })
    .unwrap();
    let (event_id, body) = event("pay_0", 0);
    let row = |event_id: String, body: String| OutboxRow {
        seq: 1,
        event_id,
        payment_id: "pay_0".into(),
        body,
        created_at_ms: 0,
    };
    direct.sink.deliver(&[row(event_id, body)]).await.unwrap();
    assert_eq!(count().await, 6, "JetStream dropped the duplicate event id");
    let (new_id, new_body) = event("pay_0", 99);
    direct.sink.deliver(&[row(new_id, new_body)]).await.unwrap();
    assert_eq!(count().await, 7, "a new event id is stored");
    js.delete_stream(&stream).await.unwrap();
}
