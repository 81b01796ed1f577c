//! One controller tick: feed the sequential tests, run the detectors, find
//! ecosystem outages, then move each gateway's state machine and each rollout.

use std::collections::BTreeSet;

use serde_json::json;

use super::controller::{Controller, Event};
use super::detectors::{self, Trigger, Verdict};
use super::machine::State;
use super::sprt::Sprt;
use super::window::Stats;
use crate::alerts::Severity;

impl Controller {
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        let sec = now_ms / 1000;
        for g in self.gateways.values_mut() {
            g.window.advance(sec);
            for w in g.by_method.values_mut() {
                w.advance(sec);
            }
        }
        let names: Vec<String> = self.gateways.keys().cloned().collect();
        for n in &names {
            self.evaluate(n, sec);
        }
        self.ecosystem_check();
        for n in &names {
            self.step(n);
        }
        self.rollouts_step();
    }

    /// Stats of the last `span` seconds, never older than the state's entry.
    fn clipped(&self, name: &str, span: u64) -> Stats {
        let sec = self.now_ms / 1000;
        let Some(g) = self.gateways.get(name) else {
            return Stats::default();
        };
        let from = (sec + 1).saturating_sub(span).max(g.entered_ms / 1000);
        g.window.between(from, sec + 1)
    }

    fn evaluate(&mut self, name: &str, sec: u64) {
        let p = self.policy.clone();
        let finals = self.finals();
        let a = self.threshold();
        let drop = p.drop_points / 100.0;
        let peer = self.peer_baseline(name);
        let own = self.own_baseline(name);
        let sustain = p.latency_sustain.as_secs();
        let lat_base = self.latency_baseline(name, sustain);
        let own_lat = self.own_latency_baseline(name, sustain);
        let hard_s = self.clipped(name, p.hard_down_window.as_secs());
        let err_s = self.clipped(name, p.error_window.as_secs());
        let lat_s = self.clipped(name, sustain);
        let ctx = self.context(name);
        let Some(g) = self.gateways.get_mut(name) else {
            return;
        };
        let (ok, tot) = g.pending.success(finals);
        g.pending = Stats::default();
        let base = peer.or(own);
        g.sprt
            .update(ok, tot - ok, base.map_or(1.0, |b| b.conservative()), drop);
        g.own
            .update(ok, tot - ok, own.map_or(1.0, |b| b.conservative()), drop);
        let healthy = g.machine.state == State::Healthy;
        let enough = |s: &Sprt| s.n >= u64::from(p.min_samples) && s.llr >= a;
        let sr = (healthy && enough(&g.sprt)).then(|| Verdict {
            trigger: Trigger::SuccessDrop,
            evidence: json!({"sprt": g.sprt.to_json(a), "baseline": base}),
        });
        let verdict = detectors::hard_down(g.consecutive, &hard_s, &p).or_else(|| {
            if !healthy {
                return None;
            }
            detectors::error_spike(&err_s, &p)
                .or(sr)
                .or_else(|| detectors::latency(&lat_s, lat_base, &p))
        });
        let own_degraded =
            enough(&g.own) || (healthy && detectors::latency(&lat_s, own_lat, &p).is_some());
        g.degraded = verdict.is_some() || own_degraded;
        g.active = verdict.is_some();
        let verdict = verdict.map(|mut v| {
            if let (Some(e), serde_json::Value::Object(c)) = (v.evidence.as_object_mut(), ctx) {
                e.extend(c);
            }
            v
        });
        if verdict.is_some() {
            g.verdict = verdict;
        }
        // End of the epoch: inconclusive?, own history, fresh tests.
        if sec >= g.sprt.epoch_start + p.window.as_secs() {
            let rate = g.sprt.rate();
            let inconclusive = healthy
                && !g.active
                && g.sprt.n >= u64::from(p.min_samples)
                && matches!((base, rate), (Some(b), Some(r)) if r < b.rate - drop / 2.0);
            if healthy && !g.degraded && g.sprt.n >= u64::from(p.min_samples) {
                let r = rate.unwrap_or(0.0);
                let ewma = g.own_rate.map_or(r, |(old, _)| 0.7 * old + 0.3 * r);
                g.own_rate = Some((ewma, g.sprt.n));
            }
            let ev = inconclusive.then(|| {
                json!({"sprt": g.sprt.to_json(a), "baseline": base, "drop_points": p.drop_points})
            });
            g.sprt = Sprt::new(sec);
            g.own = Sprt::new(sec);
            if let Some(ev) = ev {
                let text = format!(
                    "{name}: success rate {:.1}% vs baseline {:.1}%: inconclusive over the window (too little evidence); weights held",
                    rate.unwrap_or(0.0) * 100.0,
                    base.map_or(0.0, |b| b.rate * 100.0),
                );
                let e = self.event(
                    "inconclusive",
                    Severity::Warning,
                    name,
                    "healthy",
                    "healthy",
                    Trigger::SuccessDrop,
                    text,
                    ev,
                );
                self.push(e);
            }
        }
    }

    /// Every (non-drained) split gateway of a route degraded at once, at least one
    /// of them still in rotation: an ecosystem outage. Alert; roll nothing back.
    fn ecosystem_check(&mut self) {
        let mut now_out = BTreeSet::new();
        let mut suppressed = BTreeSet::new();
        for r in &self.routes {
            let members: Vec<&str> = r
                .split
                .iter()
                .map(|(g, _)| g.as_str())
                .filter(|g| {
                    self.gateways
                        .get(*g)
                        .is_some_and(|h| h.machine.state != State::Drained)
                })
                .collect();
            if members.len() < 2 {
                continue;
            }
            // Degraded, out already, or leaning towards a drop against its own
            // history (the members cross the threshold a few ticks apart).
            let all = members.iter().all(|m| {
                let h = &self.gateways[*m];
                h.degraded || h.machine.state != State::Healthy || h.own.llr > 0.0
            });
            let any_live = members.iter().any(|m| {
                let h = &self.gateways[*m];
                h.machine.state == State::Healthy && h.degraded
            });
            if all && any_live {
                now_out.insert(r.name.clone());
                suppressed.extend(members.iter().map(|m| m.to_string()));
            }
        }
        for name in &suppressed {
            if let Some(g) = self.gateways.get_mut(name) {
                g.active = false;
            }
        }
        let entered: Vec<String> = now_out.difference(&self.ecosystem).cloned().collect();
        let left: Vec<String> = self.ecosystem.difference(&now_out).cloned().collect();
        for route in entered {
            let evidence = self.route_evidence(&route);
            let text = format!(
                "ecosystem outage on route {route}: every gateway is degrading together; no rollback"
            );
            self.push(route_event(
                self.now_ms,
                "ecosystem_outage",
                Severity::Critical,
                &route,
                text,
                evidence,
            ));
        }
        for route in left {
            let text = format!("ecosystem outage on route {route} is over");
            self.push(route_event(
                self.now_ms,
                "ecosystem_recovered",
                Severity::Info,
                &route,
                text,
                json!({}),
            ));
        }
        self.ecosystem = now_out;
    }

    pub(crate) fn route_evidence(&self, route: &str) -> serde_json::Value {
        let a = self.threshold();
        let mut out = serde_json::Map::new();
        if let Some(r) = self.routes.iter().find(|r| r.name == route) {
            for (g, _) in &r.split {
                if let Some(h) = self.gateways.get(g) {
                    out.insert(
                        g.clone(),
                        json!({
                            "state": h.machine.state.name(),
                            "vs_own_history": h.own.to_json(a),
                            "own_baseline": self.own_baseline(g),
                            "window": h.window.total().to_json(),
                        }),
                    );
                }
            }
        }
        serde_json::Value::Object(out)
    }
}

/// An event about a whole route.
pub(crate) fn route_event(
    at_ms: u64,
    kind: &'static str,
    severity: Severity,
    route: &str,
    text: String,
    evidence: serde_json::Value,
) -> Event {
    Event {
        at_ms,
        kind,
        severity,
        gateway: None,
        route: Some(route.to_string()),
        from: "",
        to: "",
        trigger: Trigger::SuccessDrop,
        actor: "auto".into(),
        reason: None,
        text,
        evidence,
        transition: false,
    }
}
