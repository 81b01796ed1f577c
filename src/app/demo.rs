//! `switchyard demo`: the simulated gateways and the service in one process on the
//! bundled `config/demo.toml`, about a minute of payments with a live per-gateway
//! view; the sandboxes send signed callbacks back to the server
//! (`/v1/callbacks/<gateway>`); at 40% one gateway stops accepting connections: its orders fail over,
//! the health controller ejects it (the evidence is shown), probes it after the
//! cooldown (and ejects it again for longer while it is still down); at 60% it
//! comes back and the probe, the ramp steps and the recovery show up live; a
//! summary per gateway at the end. Every one of the eight gateways has a sandbox
//! (Razorpay, Cashfree, PayU, PhonePe, Paytm, Juspay EC, Adyen, EBANX, plus an
//! in-house generic one); the traffic follows the next actions that need the
//! customer's browser (`demo_traffic`).
//!
//! Everything binds to loopback port 0 (the demo rewrites the config's ports to the
//! ones it got), so it runs next to anything else; it leaves only `data/demo.db*`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Mutex;

use crate::app::commands::CommandError;
use crate::app::demo_summary::summary;
use crate::app::demo_traffic::{demo_env, demo_payment, follow};
use crate::app::serve::Server;
use crate::config;
use crate::connectors::ConnectorKind;
use crate::metrics::Metrics;
use crate::sandbox::{CallbackConfig, KnobsPatch, SandboxGateway, SandboxHandle};

/// The bundled demo config, embedded so `demo` works from any directory.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

/// demo.toml's EBANX certificate reference, and what the demo puts in its place
/// (`demo_env` answers it with the certificate built into the binary).
const EBANX_CERT_FILE: &str = r#"webhook_secret_file = "src/sandbox/keys/ebanx_sandbox_cert.pem""#;
const EBANX_CERT_ENV: &str = r#"webhook_secret_env = "SWITCHYARD_DEMO_EBANX_CERTIFICATE""#;

/// The gateway that goes down halfway.
const VICTIM: &str = "razorpay";

#[derive(Default)]
pub(super) struct Tally {
    /// Per gateway: created, declined, error, failed over to, forms posted.
    pub(super) by_gateway: BTreeMap<String, [u64; 5]>,
    pub(super) statuses: BTreeMap<u16, u64>,
    pub(super) latencies_us: Vec<u64>,
}

pub async fn run(seconds: u64, rate: u32) -> Result<(), CommandError> {
    let seconds = seconds.max(4);
    let rate = rate.clamp(1, 2000);
    // 1. Sandboxes on port 0, one per [[gateway]] of the demo config.
    let mut text = DEMO_CONFIG
        .replace("127.0.0.1:18080", "127.0.0.1:0")
        .replace("127.0.0.1:19090", "127.0.0.1:0")
        // The demo runs from any directory: EBANX's certificate comes from the binary.
        .replace(EBANX_CERT_FILE, EBANX_CERT_ENV);
    let probe =
        config::load_str(&text, "config/demo.toml", &demo_env, 0).map_err(CommandError::Config)?;
    let mut handles: Vec<(String, SandboxHandle)> = Vec::new();
    for g in &probe.gateways {
        let (addr, handle) = SandboxGateway::bind(
            "127.0.0.1:0".parse().map_err(|_| other("addr"))?,
            g.spec.kind,
            &g.spec.name,
        )
        .await
        .map_err(|e| other(&format!("sandbox for {}: {e}", g.spec.name)))?;
        text = text.replace(&g.spec.base_url, &format!("http://{addr}"));
        // Realistic business declines (insufficient funds, wrong PIN...) and a little latency.
        handle.patch(KnobsPatch {
            success_rate: Some(0.94),
            latency_ms: Some(2),
            ..Default::default()
        });
        handles.push((g.spec.name.clone(), handle));
    }
    drop(probe);
    // 2. The service.
    let snap =
        config::load_str(&text, "config/demo.toml", &demo_env, 1).map_err(CommandError::Config)?;
    let kinds: BTreeMap<String, ConnectorKind> = snap
        .gateways
        .iter()
        .map(|g| (g.spec.name.clone(), g.spec.kind))
        .collect();
    println!(
        "switchyard demo: {} gateways, {} routes, {rate} payments/s for {seconds}s",
        snap.gateways.len(),
        snap.routes.len()
    );
    print!("{}", config::describe(&snap));
    let specs: Vec<_> = snap.gateways.iter().map(|g| g.spec.clone()).collect();
    let server = Server::bind(snap, Metrics::new(prometheus::Registry::new())).await?;
    let addr = server.local_addr().map_err(|e| other(&e.to_string()))?;
    // The sandboxes send signed callbacks for what they accept back to this server.
    let callbacks = CallbackConfig::to(format!("http://{addr}/v1/callbacks"));
    for spec in &specs {
        if let Some((_, h)) = handles.iter().find(|(n, _)| *n == spec.name) {
            h.send_callbacks(spec, &callbacks);
        }
    }
    let state = server.state.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));

    // 3. Traffic with a live view.
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    let style = ProgressStyle::with_template("{prefix:>10} {bar:30.cyan/blue} {msg}")
        .map_err(|e| other(&e.to_string()))?;
    let overall = multi.add(ProgressBar::new(seconds));
    overall.set_style(style.clone());
    overall.set_prefix("time");
    let mut lines = BTreeMap::new();
    for name in kinds.keys() {
        let pb = multi.add(ProgressBar::new(1000));
        pb.set_style(style.clone());
        pb.set_prefix(name.clone());
        lines.insert(name.clone(), pb);
    }
    let event = multi.add(ProgressBar::new(1));
    event.set_style(ProgressStyle::with_template("{msg}").map_err(|e| other(&e.to_string()))?);

    let tally = Arc::new(Mutex::new(Tally::default()));
    let sent = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| other(&e.to_string()))?;
    let url = format!("http://{addr}/v1/payments");
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let total = seconds * u64::from(rate);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut tasks = tokio::task::JoinSet::new();
    let (down_at, up_at) = (total * 2 / 5, total * 3 / 5);
    let mut seen_incidents = 0usize;
    for i in 0..total {
        tick.tick().await;
        if i == down_at {
            set_down(&handles, true);
            announce(
                &event,
                format!(
                    "t={:>2}s  {VICTIM} stops accepting connections: its orders fail over (nothing was sent, so it is safe) until health ejects it",
                    start.elapsed().as_secs()
                ),
            );
        }
        if i == up_at {
            set_down(&handles, false);
            announce(
                &event,
                format!(
                    "t={:>2}s  {VICTIM} is back: health probes it, ramps it up, then its orders return to it (sticky hash)",
                    start.elapsed().as_secs()
                ),
            );
        }
        let body = demo_payment(i);
        let (client, url, tally2, sent2) =
            (client.clone(), url.clone(), tally.clone(), sent.clone());
        tasks.spawn(async move {
            let (tally, sent) = (tally2, sent2);
            let t0 = Instant::now();
            let r = client
                .post(&url)
                .header(
                    "Idempotency-Key",
                    format!("demo-{}-{i}", std::process::id()),
                )
                .json(&body)
                .send()
                .await;
            sent.fetch_add(1, Ordering::Relaxed);
            let Ok(r) = r else { return };
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            // The customer's browser, where the next action needs one.
            let posted = if status == 201 {
                follow(&client, &v).await
            } else {
                None
            };
            let mut t = tally.lock().await;
            t.latencies_us.push(t0.elapsed().as_micros() as u64);
            *t.statuses.entry(status).or_default() += 1;
            if let Some(g) = v["gateway"].as_str() {
                let row = t.by_gateway.entry(g.to_string()).or_default();
                match status {
                    201 => row[0] += 1,
                    402 => row[1] += 1,
                    _ => row[2] += 1,
                }
                if v["attempts"].as_array().is_some_and(|a| a.len() > 1) {
                    row[3] += 1;
                }
                if posted == Some(true) {
                    row[4] += 1;
                }
            }
        });
        while tasks.try_join_next().is_some() {}
        if i % u64::from(rate.max(4) / 4) == 0 {
            let (news, states) = health_news(&state, &mut seen_incidents);
            for text in news {
                announce(
                    &event,
                    format!("t={:>2}s  health: {text}", start.elapsed().as_secs()),
                );
            }
            overall.set_position(start.elapsed().as_secs());
            overall.set_message(format!("{} payments sent", sent.load(Ordering::Relaxed)));
            let t = tally.lock().await;
            let done: u64 = t
                .by_gateway
                .values()
                .map(|r| r[0] + r[1] + r[2])
                .sum::<u64>()
                .max(1);
            for (name, pb) in &lines {
                let r = t.by_gateway.get(name).copied().unwrap_or_default();
                let n = r[0] + r[1] + r[2];
                pb.set_position(n * 1000 / done);
                let down = if name == VICTIM && (down_at..up_at).contains(&i) {
                    "  DOWN"
                } else {
                    ""
                };
                let health = states.get(name).map_or("", String::as_str);
                let line = format!(
                    "{:>5.1}%  {health:<9} created {:>5}  declined {:>4}  errors {:>3}  via failover {:>4}{down}",
                    n as f64 * 100.0 / done as f64,
                    r[0],
                    r[1],
                    r[2],
                    r[3]
                );
                // Without a terminal the bars are hidden: print a plain line every 10 s.
                if !tty && i % (10 * u64::from(rate)) == 0 {
                    println!("t={:>2}s  {name:<9} {line}", start.elapsed().as_secs());
                }
                pb.set_message(line);
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    overall.finish();
    for pb in lines.values() {
        pb.finish();
    }
    event.finish();

    // 4. Summary.
    let t = tally.lock().await;
    summary(&t, &state, &kinds).await;
    let cbs: Vec<String> = handles
        .iter()
        .map(|(name, h)| {
            let c = h.callback_stats();
            format!("{name} {}/{}/{}", c.sent, c.acked, c.failed)
        })
        .collect();
    println!(
        "sandbox callbacks to /v1/callbacks/<gateway> (sent/acked/failed so far): {}",
        cbs.join(", ")
    );
    let _ = stop_tx.send(());
    let _ = serving.await;
    Ok(())
}

/// New health incidents since the last call (their one-line text, evidence
/// included) and each gateway's state now.
fn health_news(
    state: &crate::state::AppState,
    seen: &mut usize,
) -> (Vec<String>, BTreeMap<String, String>) {
    let c = state.health_ctl.lock();
    let news = c
        .incidents
        .iter()
        .skip(*seen)
        .map(|e| e.text.clone())
        .collect();
    *seen = c.incidents.len();
    let states = c
        .gateways
        .iter()
        .map(|(n, g)| (n.clone(), g.machine.state.name().to_string()))
        .collect();
    (news, states)
}

/// Shows an event in the live view, or prints it when there is no terminal.
fn announce(event: &ProgressBar, msg: String) {
    if std::io::stderr().is_terminal() {
        // Kept above the bars, so a burst of events is not overwritten.
        event.println(&msg);
    } else {
        println!("{msg}");
    }
    event.set_message(msg);
}

fn set_down(handles: &[(String, SandboxHandle)], down: bool) {
    for (name, h) in handles {
        if name == VICTIM {
            h.patch(KnobsPatch {
                down: Some(down),
                ..Default::default()
            });
        }
    }
}

fn other(s: &str) -> CommandError {
    CommandError::Other(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo loads its embedded config with its own secrets, whatever the working
    /// directory: the EBANX certificate reference is replaced, every gateway builds.
    #[test]
    fn embedded_config_loads_with_the_demos_secrets_and_eight_gateways() {
        assert!(DEMO_CONFIG.contains(EBANX_CERT_FILE));
        let text = DEMO_CONFIG.replace(EBANX_CERT_FILE, EBANX_CERT_ENV);
        let snap = config::load_str(&text, "config/demo.toml", &demo_env, 0).unwrap();
        let mut kinds: Vec<&str> = snap.gateways.iter().map(|g| g.spec.kind.as_str()).collect();
        kinds.sort_unstable();
        assert_eq!(
            kinds,
            [
                "adyen",
                "cashfree",
                "ebanx",
                "generic",
                "juspay_ec",
                "paytm",
                "payu",
                "phonepe",
                "razorpay"
            ]
        );
    }
}
