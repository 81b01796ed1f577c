//! `loadtest rollback-sim`: switchyard's real health controller on simulated time
//! (`switchyard::health::sim`), measuring the trade-off the success-rate test
//! makes: median detection time of a drop by traffic level, and false rollbacks
//! over a simulated day of stable traffic. Seeded, so every run prints the same.

use serde::Serialize;
use switchyard::health::sim::{detection_secs, false_rollbacks};

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub rate: f64,
    /// Median detection time in seconds per drop (`None`: not detected within the
    /// limit in at least half the seeds).
    pub detection: Vec<(f64, Option<u64>, usize)>,
    pub false_rollbacks: usize,
    pub day_secs: u64,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimPlan {
    pub rates: Vec<f64>,
    pub drops: Vec<f64>,
    pub seeds: u64,
    pub limit_secs: u64,
    pub day_secs: u64,
}

/// Median of the detection times, counting misses as infinitely late.
fn median(mut v: Vec<Option<u64>>) -> Option<u64> {
    v.sort_by_key(|x| x.unwrap_or(u64::MAX));
    v.get(v.len() / 2).copied().flatten()
}

pub fn run(plan: &SimPlan) -> Vec<Row> {
    plan.rates
        .iter()
        .map(|&rate| {
            let detection = plan
                .drops
                .iter()
                .map(|&drop| {
                    let times: Vec<Option<u64>> = (1..=plan.seeds)
                        .map(|seed| detection_secs(rate, drop, seed, plan.limit_secs))
                        .collect();
                    let detected = times.iter().filter(|t| t.is_some()).count();
                    (drop, median(times), detected)
                })
                .collect();
            Row {
                rate,
                detection,
                false_rollbacks: false_rollbacks(rate, 1, plan.day_secs),
                day_secs: plan.day_secs,
            }
        })
        .collect()
}

/// A Markdown table.
pub fn render(rows: &[Row], plan: &SimPlan) -> String {
    let mut out = String::from("| traffic (req/s, 2 gateways) |");
    for d in &plan.drops {
        out.push_str(&format!(" {d}-pt drop: median detection |"));
    }
    out.push_str(" false rollbacks / simulated day |\n|---|");
    for _ in &plan.drops {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for r in rows {
        out.push_str(&format!("| {} |", r.rate));
        for (_, t, n) in &r.detection {
            match t {
                Some(s) => out.push_str(&format!(" {s} s ({n}/{}) |", plan.seeds)),
                None => out.push_str(&format!(
                    " not within {} s ({n}/{}) |",
                    plan.limit_secs, plan.seeds
                )),
            }
        }
        out.push_str(&format!(" {} |\n", r.false_rollbacks));
    }
    out
}
