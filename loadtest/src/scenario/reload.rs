//! `reload`: the open-loop load twice for the duration: first without reloads (the
//! baseline), then with a hot reload every second, alternating the split between
//! a 90 / b 10 and a 80 / b 20 so each reload changes something, by `SIGHUP` or by
//! `POST /admin/reload` with the bearer token. Goal: zero failed requests, latency
//! as in the baseline.

use std::time::Duration;

use super::{Common, Outcome, failed, ms, open_plan};
use crate::payload::TargetKind;
use crate::stack::{ADMIN_TOKEN, Stack, StackOptions, signal};

/// How to trigger a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    Sighup,
    Admin,
}

pub async fn run(c: &Common, via: Via) -> anyhow::Result<Outcome> {
    let mut stack = Stack::start(&StackOptions::new(&c.bin)).await?;
    let url = stack.payments_url();
    let base = crate::run(open_plan(
        c,
        url.clone(),
        TargetKind::Switchyard,
        c.duration,
    ))
    .await?;
    let load = tokio::spawn(crate::run(open_plan(
        c,
        url,
        TargetKind::Switchyard,
        c.duration,
    )));
    let (mut sent, mut ok, mut refused) = (0u64, 0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    while !load.is_finished() {
        tick.tick().await;
        let weights = if sent % 2 == 0 { (80, 20) } else { (90, 10) };
        stack.write_config(weights)?;
        sent += 1;
        let accepted = match via {
            Via::Sighup => match stack.switchyard_pid() {
                Some(pid) => signal(pid, "HUP").is_ok(),
                None => false,
            },
            Via::Admin => matches!(
                crate::http::request(stack.admin, "POST", "/admin/reload",
                    &[("authorization", auth.as_str())], None).await,
                Ok((s, _)) if (200..300).contains(&s)
            ),
        };
        if accepted {
            ok += 1;
        } else {
            refused += 1;
        }
    }
    let r = load.await??;
    stack.stop();
    let mut o = Outcome::new("reload");
    o.row("via", "reload via", format!("{via:?}").to_lowercase());
    o.row("rate", "offered rate (req/s)", c.rate);
    o.row("reloads", "reloads triggered", sent);
    o.row("reloads_ok", "reloads accepted", ok);
    o.row("reloads_refused", "reloads refused or failed", refused);
    o.row("failed", "failed requests during reloads", failed(&r));
    o.row(
        "failed_baseline",
        "failed requests, baseline",
        failed(&base),
    );
    o.row("p50_ms", "p50 with reloads (ms)", ms(r.p50_us));
    o.row("p99_ms", "p99 with reloads (ms)", ms(r.p99_us));
    o.row("max_ms", "max with reloads (ms)", ms(r.max_us));
    o.row("baseline_p50_ms", "p50 baseline (ms)", ms(base.p50_us));
    o.row("baseline_p99_ms", "p99 baseline (ms)", ms(base.p99_us));
    o.row("baseline_max_ms", "max baseline (ms)", ms(base.max_us));
    o.field("report", serde_json::to_value(&r)?);
    o.field("baseline", serde_json::to_value(&base)?);
    Ok(o)
}
