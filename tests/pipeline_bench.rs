//! Throughput of the forwarder (ignored; run on demand):
//! `cargo test --release --test pipeline_bench -- --ignored --nocapture`.
//! Queues 50,000 outbox rows, then measures how fast the file sink (fsync per batch)
//! and an HTTP sink on loopback (one POST per event) settle them.

mod common;

use std::time::Instant;

use common::pipeline::*;
use switchyard::ledger::{delivery, outbox};

const EVENTS: usize = 50_000;

async fn queue(h: &Harness) {
    for chunk in 0..EVENTS / 1000 {
        h.state
            .ledger
            .write(move |c| {
                for i in chunk * 1000..(chunk + 1) * 1000 {
                    let (id, body) = event(&format!("pay_{}", i % 997), i);
                    outbox::enqueue(c, &id, &format!("pay_{}", i % 997), &body, 1)?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
}

async fn settled(h: &Harness, sink: &'static str) -> i64 {
    h.state
        .ledger
        .query(move |c| delivery::cursor(c, sink))
        .await
        .unwrap()
}

async fn measure(h: &Harness, sink: &'static str) -> f64 {
    let start = Instant::now();
    loop {
        if settled(h, sink).await >= EVENTS as i64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    EVENTS as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn forwarder_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.jsonl");
    let h = Harness::start(&format!(
        "[pipeline]\npoll = \"3600s\"\n\n[[sink]]\nname = \"file\"\nkind = \"file\"\npath = {:?}\n",
        file.display().to_string()
    ))
    .await;
    queue(&h).await;
    let rate = measure(&h, "file").await;
    println!("file sink: {EVENTS} events, {rate:.0} events/s (batch 500, fsync per batch)");

    let sink = FakeSink::start(false).await;
    let h = Harness::start(&format!(
        "[pipeline]\npoll = \"3600s\"\n\n[[sink]]\nname = \"http\"\nkind = \"http\"\nurl = \"{}\"\nsecret_env = \"S\"\n",
        sink.url()
    ))
    .await;
    queue(&h).await;
    let rate = measure(&h, "http").await;
    println!(
        "http sink: {EVENTS} events, {rate:.0} events/s (one signed POST per event, loopback)"
    );
    assert_eq!(sink.received().len(), EVENTS);
}
