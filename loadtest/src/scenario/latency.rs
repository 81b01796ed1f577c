//! `latency`: the same open-loop load (rate, duration) first directly against sandbox
//! gateway `a`, then through switchyard (route a 90 / b 10, durable ledger): the added
//! p50/p99 is the difference. Sandbox callbacks are off (initiation only).

use super::{Common, Outcome, ms, open_plan};
use crate::payload::TargetKind;
use crate::stack::{Stack, StackOptions};

pub async fn run(c: &Common) -> anyhow::Result<Outcome> {
    let mut stack = Stack::start(&StackOptions::new(&c.bin)).await?;
    let direct = crate::run(open_plan(
        c,
        stack.direct_url(),
        TargetKind::Generic,
        c.duration,
    ))
    .await?;
    let through = crate::run(open_plan(
        c,
        stack.payments_url(),
        TargetKind::Switchyard,
        c.duration,
    ))
    .await?;
    stack.stop();
    let mut o = Outcome::new("latency");
    o.row("rate", "offered rate (req/s)", c.rate);
    o.row(
        "duration_s",
        "duration per target (s)",
        c.duration.as_secs_f64(),
    );
    for (k, r) in [("direct", &direct), ("switchyard", &through)] {
        o.row(&format!("{k}_ok"), &format!("{k}: 2xx"), r.ok_2xx);
        o.row(
            &format!("{k}_errors"),
            &format!("{k}: errors"),
            r.errors_total,
        );
        o.row(
            &format!("{k}_late"),
            &format!("{k}: late sends"),
            r.late_sends,
        );
        o.row(
            &format!("{k}_p50_ms"),
            &format!("{k}: p50 (ms)"),
            ms(r.p50_us),
        );
        o.row(
            &format!("{k}_p99_ms"),
            &format!("{k}: p99 (ms)"),
            ms(r.p99_us),
        );
        o.row(
            &format!("{k}_p999_ms"),
            &format!("{k}: p99.9 (ms)"),
            ms(r.p999_us),
        );
    }
    let added = |a: u64, b: u64| ms(a) - ms(b);
    o.row(
        "added_p50_ms",
        "added p50 (ms)",
        added(through.p50_us, direct.p50_us),
    );
    o.row(
        "added_p99_ms",
        "added p99 (ms)",
        added(through.p99_us, direct.p99_us),
    );
    o.field("direct", serde_json::to_value(&direct)?);
    o.field("switchyard", serde_json::to_value(&through)?);
    Ok(o)
}
