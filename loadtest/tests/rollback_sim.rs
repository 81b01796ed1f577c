//! A small, fast version of `loadtest rollback-sim`: a big drop at high traffic is
//! found quickly, and stable traffic is not rolled back.

use loadtest::rollback::{SimPlan, render, run};

#[test]
fn big_drops_are_found_fast_and_stable_traffic_is_left_alone() {
    let plan = SimPlan {
        rates: vec![100.0],
        drops: vec![15.0],
        seeds: 2,
        limit_secs: 300,
        day_secs: 1800,
    };
    let rows = run(&plan);
    let (_, median, detected) = rows[0].detection[0];
    assert_eq!(detected, 2);
    assert!(median.is_some_and(|s| s <= 60), "{median:?}");
    assert_eq!(rows[0].false_rollbacks, 0);
    let table = render(&rows, &plan);
    assert!(table.contains("| 100 |"), "{table}");
}
