//! Moving each gateway's state machine on a tick: eject on a verdict (or only
//! alert in `dry_run`), probe after the cooldown, judge probes and ramp steps by
//! the recovery gate, and record every move as an event.

use serde_json::json;

use super::controller::Controller;
use super::detectors::Trigger;
use super::machine::{State, gate};
use super::sprt::{Baseline, Sprt, round3};
use super::window::Stats;
use crate::alerts::Severity;

impl Controller {
    /// Moves one gateway's machine.
    pub(crate) fn step(&mut self, name: &str) {
        let now = self.now_ms;
        let p = self.policy.clone();
        let finals = self.finals();
        let baseline: Option<Baseline> = self.peer_baseline(name).or(self.own_baseline(name));
        let lat_base = self
            .latency_baseline(name, p.latency_sustain.as_secs())
            .map(|(m, _)| m);
        let Some(g) = self.gateways.get_mut(name) else {
            return;
        };
        if g.machine.frozen_until_ms.is_some_and(|u| now >= u) {
            g.machine.frozen_until_ms = None;
            let e = self.manual_event(name, "unfrozen", "freeze TTL expired");
            self.push(e);
            return;
        }
        let g = &self.gateways[name];
        if g.machine.state == State::Drained && g.machine.manual_until_ms.is_some_and(|u| now >= u)
        {
            self.set_state(
                name,
                State::Healthy,
                "restored",
                Severity::Info,
                Trigger::Manual,
                "drain TTL expired".into(),
                json!({}),
            );
            return;
        }
        let g = &self.gateways[name];
        if g.machine.frozen(now) {
            return;
        }
        let verdict = g.active.then(|| g.verdict.clone()).flatten();
        let since = g.since;
        let state = g.machine.state;
        let entered = g.entered_ms;
        match state {
            State::Healthy => {
                if let Some(g) = self.gateways.get_mut(name) {
                    g.machine.decay(now, &p);
                }
                let Some(v) = verdict else { return };
                let trig = v.trigger;
                if p.dry_run {
                    let last_kind = self.gateways[name].last_event.as_ref().map(|e| e.kind);
                    if last_kind != Some("dry_run") {
                        let text = format!(
                            "{name}: would roll back ({}) — dry_run, no action",
                            trig.as_str()
                        );
                        let e = self.event(
                            "dry_run",
                            Severity::Warning,
                            name,
                            "healthy",
                            "healthy",
                            trig,
                            text,
                            v.evidence,
                        );
                        self.push(e);
                    }
                    return;
                }
                self.eject(name, "rollback", Severity::Critical, trig, v.evidence);
            }
            State::Ejected { until_ms } if now >= until_ms => {
                let text = format!(
                    "{name}: cooldown over, probing with {}% of its traffic",
                    p.probe_percent
                );
                self.set_state(
                    name,
                    State::Probing { since_ms: now },
                    "probing",
                    Severity::Info,
                    Trigger::Cooldown,
                    text,
                    json!({}),
                );
            }
            State::Probing { .. } | State::Ramping { .. } => {
                if let Some(v) = verdict {
                    return self.eject(
                        name,
                        "reejected",
                        Severity::Warning,
                        Trigger::Recheck,
                        v.evidence,
                    );
                }
                let dwell_done = match state {
                    State::Ramping { .. } => now >= entered + p.ramp_dwell.as_millis() as u64,
                    _ => true,
                };
                if !dwell_done || since.attempts() < u64::from(p.probe_min_samples) {
                    return;
                }
                match gate(&since, finals, baseline, lat_base, &p) {
                    Err(ev) => {
                        self.eject(name, "reejected", Severity::Warning, Trigger::Recheck, ev)
                    }
                    Ok(ev) => {
                        let next = match state {
                            State::Probing { .. } => 0,
                            State::Ramping { step, .. } => step + 1,
                            _ => 0,
                        };
                        if let Some(pct) = p.ramp_steps.get(next) {
                            let text = format!(
                                "{name}: recovery step passed, ramping to {pct}% of its weight"
                            );
                            self.set_state(
                                name,
                                State::Ramping {
                                    step: next,
                                    since_ms: now,
                                },
                                "ramping",
                                Severity::Info,
                                Trigger::Recovered,
                                text,
                                ev,
                            );
                        } else {
                            let text = format!("{name}: recovered, back to full weight");
                            self.set_state(
                                name,
                                State::Healthy,
                                "recovered",
                                Severity::Info,
                                Trigger::Recovered,
                                text,
                                ev,
                            );
                        }
                    }
                }
            }
            State::Ejected { .. } | State::Drained => {}
        }
    }

    fn eject(
        &mut self,
        name: &str,
        kind: &'static str,
        sev: Severity,
        trig: Trigger,
        evidence: serde_json::Value,
    ) {
        let now = self.now_ms;
        let p = self.policy.clone();
        let Some(g) = self.gateways.get_mut(name) else {
            return;
        };
        let from = g.machine.state.name();
        let cooldown = g.machine.eject(now, &p, &mut self.rng);
        let strikes = g.machine.strikes;
        let mut ev = evidence;
        if let Some(o) = ev.as_object_mut() {
            o.insert(
                "cooldown_secs".into(),
                json!(round3(cooldown as f64 / 1000.0)),
            );
            o.insert("strikes".into(), json!(strikes));
        }
        let text = format!(
            "{name}: {from} → ejected ({}), cooldown {:.0}s; evidence: {}",
            trig.as_str(),
            cooldown as f64 / 1000.0,
            summary(&ev)
        );
        self.entered(name);
        let e = self.event(kind, sev, name, from, "ejected", trig, text, ev);
        self.push(e);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn set_state(
        &mut self,
        name: &str,
        to: State,
        kind: &'static str,
        sev: Severity,
        trig: Trigger,
        text: String,
        ev: serde_json::Value,
    ) {
        let now = self.now_ms;
        let Some(g) = self.gateways.get_mut(name) else {
            return;
        };
        let from = g.machine.state.name();
        g.machine.state = to;
        if to == State::Healthy {
            g.machine.healthy_since_ms = now;
            g.machine.manual_until_ms = None;
            g.sprt = Sprt::new(now / 1000);
            g.own = Sprt::new(now / 1000);
        }
        self.entered(name);
        let e = self.event(kind, sev, name, from, to.name(), trig, text, ev);
        self.push(e);
    }

    fn entered(&mut self, name: &str) {
        let now = self.now_ms;
        if let Some(g) = self.gateways.get_mut(name) {
            g.entered_ms = now;
            g.since = Stats::default();
            g.consecutive = 0;
            g.active = false;
        }
    }
}

/// The headline numbers of a piece of evidence, for the alert's one line.
fn summary(ev: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(s) = ev.get("sprt") {
        parts.push(format!(
            "rate {} vs p0 {} (LLR {} ≥ {})",
            s["observed_rate"], s["p0"], s["llr"], s["threshold"]
        ));
    }
    for k in [
        "consecutive_technical_failures",
        "ratio",
        "mean_ms",
        "baseline_mean_ms",
        "technical_failure_ratio",
        "success_rate",
    ] {
        if let Some(v) = ev.get(k) {
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join(", ")
}
