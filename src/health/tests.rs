//! The deterministic scenarios of issue 3: simulated outcome streams on simulated
//! time (seeded), through the real controller, split table and admission.

use super::sim::Sim;
use crate::config::health::HealthPolicy;

fn sim(seed: u64) -> Sim {
    Sim::new(HealthPolicy::default(), &["a", "b"], seed)
}

#[test]
fn refused_gateway_is_ejected_within_two_seconds_and_no_customer_request_fails() {
    let mut s = sim(1);
    s.run(60, 50.0);
    let t0 = s.now_ms;
    s.gw("a").refused = true;
    s.run(30, 50.0);
    let at = s.first("rollback", "a", t0).expect("a was not rolled back");
    assert!(at - t0 <= 2_000, "ejected after {} ms", at - t0);
    let e = s.events.iter().find(|e| e.kind == "rollback").unwrap();
    assert_eq!(e.trigger.as_str(), "hard_down");
    assert_eq!(s.customer_failures, 0, "failover must hide the refusals");
    assert_eq!(s.count("rollback", "b"), 0);
}

#[test]
fn fifteen_point_drop_at_100_rps_is_rolled_back_within_a_minute() {
    let mut s = sim(2);
    s.run(600, 100.0);
    let t0 = s.now_ms;
    s.gw("a").success = 0.80;
    s.run(60, 100.0);
    let at = s
        .first("rollback", "a", t0)
        .expect("no rollback within 60 s");
    assert!(at - t0 <= 60_000);
    let e = s.events.iter().find(|e| e.kind == "rollback").unwrap();
    assert_eq!(e.trigger.as_str(), "success_drop");
    assert!(e.evidence["sprt"]["llr"].as_f64().unwrap() >= 11.8);
    assert_eq!(e.evidence["baseline"]["source"], "peers");
    assert_eq!(s.count("rollback", "b"), 0);
}

#[test]
fn two_point_drop_at_5_rps_is_inconclusive_and_not_rolled_back() {
    let mut s = sim(3);
    s.run(600, 5.0);
    let t0 = s.now_ms;
    s.gw("a").success = 0.93;
    s.run(1800, 5.0);
    assert!(
        s.first("inconclusive", "a", t0).is_some(),
        "no inconclusive verdict: {:?}",
        s.events.iter().map(|e| e.kind).collect::<Vec<_>>()
    );
    assert_eq!(s.count("rollback", "a"), 0);
    assert_eq!(s.count("rollback", "b"), 0);
}

#[test]
fn a_stable_day_at_50_rps_has_no_rollbacks() {
    let mut s = sim(4);
    s.run(24 * 3600, 50.0);
    assert_eq!(s.count("rollback", "a") + s.count("rollback", "b"), 0);
    assert_eq!(s.state("a"), "healthy");
    assert!(s.requests > 4_000_000);
}

#[test]
fn sustained_latency_rise_triggers_and_a_short_spike_does_not() {
    let mut s = sim(5);
    s.run(600, 50.0);
    let t0 = s.now_ms;
    s.gw("a").latency_ms = 1000;
    s.run(10, 50.0);
    s.gw("a").latency_ms = 200;
    s.run(300, 50.0);
    assert_eq!(s.count("rollback", "a"), 0, "a 10 s spike rolled back");
    let t1 = s.now_ms;
    s.gw("a").latency_ms = 1000;
    s.run(180, 50.0);
    let at = s
        .first("rollback", "a", t1)
        .expect("sustained rise not caught");
    assert!(at > t1);
    let e = s.events.iter().find(|e| e.kind == "rollback").unwrap();
    assert_eq!(e.trigger.as_str(), "latency");
    assert!(t0 < t1);
}

#[test]
fn both_gateways_degrading_together_is_an_ecosystem_outage_not_a_rollback() {
    let mut s = sim(6);
    s.run(1800, 100.0);
    let t0 = s.now_ms;
    s.gw("a").success = 0.80;
    s.gw("b").success = 0.80;
    s.run(300, 100.0);
    let out: Vec<_> = s
        .events
        .iter()
        .filter(|e| e.kind == "ecosystem_outage" && e.at_ms >= t0)
        .collect();
    assert_eq!(
        out.len(),
        1,
        "{:?}",
        s.events.iter().map(|e| e.kind).collect::<Vec<_>>()
    );
    assert_eq!(out[0].route.as_deref(), Some("default"));
    assert_eq!(s.count("rollback", "a") + s.count("rollback", "b"), 0);
    assert_eq!(s.state("a"), "healthy");
}

#[test]
fn recovery_goes_through_probing_and_ramping_back_to_healthy() {
    let mut s = sim(7);
    s.run(60, 50.0);
    s.gw("a").refused = true;
    s.run(5, 50.0);
    assert_eq!(s.state("a"), "ejected");
    s.gw("a").refused = false;
    s.run(400, 50.0);
    let kinds: Vec<&str> = s
        .events
        .iter()
        .filter(|e| e.gateway.as_deref() == Some("a"))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["rollback", "probing", "ramping", "ramping", "recovered"],
        "{kinds:?}"
    );
    assert_eq!(s.state("a"), "healthy");
    assert_eq!(s.customer_failures, 0);
}

#[test]
fn a_gateway_still_down_after_cooldown_is_ejected_again_for_longer() {
    let mut s = sim(8);
    s.run(60, 50.0);
    s.gw("a").refused = true;
    s.run(5, 50.0);
    let first = s.ctl.gateways["a"].machine.last_cooldown_ms;
    s.run(120, 50.0);
    assert!(s.count("probing", "a") >= 1);
    assert!(s.count("reejected", "a") >= 1);
    let second = s.ctl.gateways["a"].machine.last_cooldown_ms;
    assert!(second > first, "cooldown {first} → {second}");
    assert_eq!(s.customer_failures, 0);
}

#[test]
fn dry_run_scores_and_alerts_but_does_not_act() {
    let p = HealthPolicy {
        dry_run: true,
        ..HealthPolicy::default()
    };
    let mut s = Sim::new(p, &["a", "b"], 9);
    s.run(60, 50.0);
    s.gw("a").refused = true;
    s.run(10, 50.0);
    assert_eq!(s.count("rollback", "a"), 0);
    assert_eq!(s.count("dry_run", "a"), 1);
    assert_eq!(s.state("a"), "healthy");
}

#[test]
fn every_gateway_out_is_panic_mode_on_the_least_bad() {
    let mut s = sim(10);
    s.run(60, 50.0);
    s.gw("a").refused = true;
    s.run(5, 50.0);
    // b now degrades alone (a is already out): the route would be empty.
    s.ctl
        .command(s.now_ms, "b", super::Command::Eject, "test", None, "test")
        .unwrap();
    s.run(2, 50.0);
    let panic: Vec<_> = s.events.iter().filter(|e| e.kind == "panic_mode").collect();
    assert_eq!(panic.len(), 1);
    assert!(panic[0].text.contains("least bad"));
    assert_eq!(s.ctl.panic.get("default").map(String::as_str), Some("b"));
}
