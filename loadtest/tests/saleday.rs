//! The reduced sale day (a few hundred orders, every fault, a SIGKILL and restart)
//! scored against the sandboxes' ground truth. Uses `SWITCHYARD_BIN` or the
//! `switchyard` binary beside this test's profile directory.

use std::path::PathBuf;

use loadtest::scenario::saleday::{self, SaleDay};

fn bin() -> PathBuf {
    std::env::var_os("SWITCHYARD_BIN").map_or_else(
        || {
            let exe = std::env::current_exe().unwrap_or_default();
            exe.parent()
                .and_then(|deps| deps.parent())
                .map_or_else(PathBuf::new, |d| {
                    d.join(format!("switchyard{}", std::env::consts::EXE_SUFFIX))
                })
        },
        PathBuf::from,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reduced_sale_day_scores_against_ground_truth() {
    let b = bin();
    assert!(
        b.exists(),
        "{} is missing: cargo build --bin switchyard",
        b.display()
    );
    let o = saleday::run(&SaleDay::reduced(b)).await.unwrap();
    println!("{o}\n{}", o.json);
    let j = &o.json;
    // Every error column must be 0 (docs/RECONCILIATION.md), the refunds' too.
    for col in [
        "wrongly_failed_paid",
        "wrongly_succeeded_unpaid",
        "amount_errors",
        "double_initiations",
        "double_charged_orders",
        "last_event_disagrees",
        "no_event",
        "non_final",
        "duplicate_event_ids",
        "refunds_wrong_gateway",
        "refunds_over",
        "refunds_non_final",
        "refunds_disagree",
        "refund_resent_other",
        "refund_races_both_taken",
        "refunds_auto_missing",
    ] {
        assert_eq!(j[col], 0, "{col}\n{o}");
    }
    assert!(j["refunds_requested"].as_u64().unwrap() > 0, "{o}");
    assert_eq!(j["orphans_forwarded"], j["orphans"], "{o}");
    assert_eq!(j["checkouts_unanswered"], 0, "{o}");
    assert!(j["truth_records"].as_u64().unwrap() >= 250, "{o}");
}
