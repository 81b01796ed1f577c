//! The demo's closing summary: per gateway what the demo's requests were answered
//! (created, declined, errors, failovers, forms posted) and where its payments
//! stand in the ledger, then latency, failovers, ledger and pipeline totals.

use std::collections::BTreeMap;

use prometheus::core::Collector;

use super::demo::Tally;
use super::demo_traffic::outcomes;
use crate::connectors::ConnectorKind;

pub(super) async fn summary(
    t: &Tally,
    state: &crate::state::AppState,
    kinds: &BTreeMap<String, ConnectorKind>,
) {
    let mut lat = t.latencies_us.clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let ledger = outcomes(state).await;
    println!("\nsummary (answers to the demo's requests; payments in the ledger now)");
    println!(
        "{:<9} {:<9} {:>7} {:>8} {:>6} {:>8} {:>6} {:>9} {:>6} {:>5}",
        "gateway",
        "dialect",
        "created",
        "declined",
        "errors",
        "failover",
        "forms",
        "succeeded",
        "failed",
        "open"
    );
    for (name, kind) in kinds {
        let r = t.by_gateway.get(name).copied().unwrap_or_default();
        let l = ledger.get(name).copied().unwrap_or_default();
        println!(
            "{name:<9} {:<9} {:>7} {:>8} {:>6} {:>8} {:>6} {:>9} {:>6} {:>5}",
            kind.as_str(),
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            l[0],
            l[1],
            l[2]
        );
    }
    println!(
        "forms: form_post next actions (PayU, Paytm cards and netbanking) posted to the sandbox as the browser would"
    );
    println!(
        "open: not final yet, waiting for the customer (hosted-page redirects the demo does not follow, Adyen card authorisations); the watchdog resolves them"
    );
    let codes: Vec<String> = t
        .statuses
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    println!("answers by HTTP status: {}", codes.join(", "));
    println!(
        "latency through switchyard: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let failovers: u64 = state
        .metrics
        .failovers
        .collect()
        .iter()
        .flat_map(|mf| {
            mf.get_metric()
                .iter()
                .map(|m| m.get_counter().get_value() as u64)
        })
        .sum();
    let stats = state.ledger.stats();
    println!(
        "failovers: {failovers}; ledger: {} writes in {} group commits",
        stats.writes, stats.commits
    );
    println!(
        "the ledger is in data/demo.db (sqlite3 data/demo.db 'select status, count(*) from payments group by 1')"
    );
    for line in crate::pipeline::where_events_go(&state.config.load().pipeline) {
        println!("{line}");
    }
}
