//! `callbacks`: sustained signed generic-dialect callbacks (open loop at the rate) to
//! switchyard's `POST /v1/callbacks/a`, with the forwarder running to the file sink:
//! durable ACKs per second (2xx answers: switchyard commits before it answers) and
//! the ACK latency; then how many events reached the sink. Each callback is a final
//! `succeeded` event with its own event id for a payment switchyard has not seen, so
//! ingest stores it as an orphan (the same durable path).

use std::time::Duration;

use super::{Common, Outcome, failed, ms, open_plan};
use crate::payload::TargetKind;
use crate::stack::{Stack, StackOptions};

fn lines(path: &std::path::Path) -> u64 {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        .unwrap_or(0)
}

pub async fn run(c: &Common) -> anyhow::Result<Outcome> {
    let mut opts = StackOptions::new(&c.bin);
    opts.file_sink = true;
    let mut stack = Stack::start(&opts).await?;
    let url = format!("http://{}/v1/callbacks/a", stack.listen);
    let r = crate::run(open_plan(c, url, TargetKind::Callback, c.duration)).await?;
    // The forwarder runs behind the ACKs: give it up to 30 s to drain to the file.
    let sink = stack.sink_path.clone();
    let mut delivered = 0;
    if let Some(p) = &sink {
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            delivered = lines(p);
            if delivered >= r.ok_2xx || tokio::time::Instant::now() > until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    stack.stop();
    let mut o = Outcome::new("callbacks");
    o.row("rate", "offered rate (callbacks/s)", c.rate);
    o.row("duration_s", "duration (s)", c.duration.as_secs_f64());
    o.row("acked", "ACKed (2xx)", r.ok_2xx);
    o.row("acks_per_s", "durable ACKs/s", r.rps);
    o.row("failed", "not ACKed (errors, 4xx included)", r.errors_total);
    o.row("failed_non_4xx", "of which 5xx/connect/timeout", failed(&r));
    o.row("ack_p50_ms", "ACK p50 (ms)", ms(r.p50_us));
    o.row("ack_p99_ms", "ACK p99 (ms)", ms(r.p99_us));
    o.row("ack_p999_ms", "ACK p99.9 (ms)", ms(r.p999_us));
    o.row("sink_events", "events in the file sink", delivered);
    o.field("report", serde_json::to_value(&r)?);
    Ok(o)
}
