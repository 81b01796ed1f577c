//! Effective shares: what part of its configured weight each gateway gets on each
//! route now (health state × progressive-rollout step), panic mode when a route
//! has nobody left, and the rollout promotions and demotions.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::controller::{Controller, Rollout};
use super::detectors::Trigger;
use super::machine::State;
use super::tick::route_event;
use crate::alerts::Severity;

/// One route's effective shares, by gateway name, in permille of each gateway's
/// configured weight; `panic` names the gateway carrying the route in panic mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteShares {
    pub route: String,
    pub shares: BTreeMap<String, u16>,
    pub panic: Option<String>,
}

impl Controller {
    /// The share of `gateway` on `route` in permille.
    pub fn share(&self, route: &str, gateway: &str) -> u16 {
        let Some(g) = self.gateways.get(gateway) else {
            return 1000;
        };
        let health = u32::from(g.machine.share_permille(&self.policy));
        let rollout = self
            .routes
            .iter()
            .find(|r| r.name == route)
            .and_then(|r| r.ramps.iter().find(|(n, _)| n == gateway))
            .and_then(|(_, ramp)| {
                let st = self
                    .rollouts
                    .get(&(route.to_string(), gateway.to_string()))?;
                ramp.steps.get(st.step).map(|s| s * 10)
            })
            .unwrap_or(1000);
        (health * rollout / 1000) as u16
    }

    /// Every route's shares; a route where no gateway has any share routes to its
    /// least bad gateway (panic mode) and an event says so when that starts.
    pub fn route_shares(&mut self) -> Vec<RouteShares> {
        let mut out = Vec::with_capacity(self.routes.len());
        let mut panic = BTreeMap::new();
        for r in &self.routes {
            let mut shares = BTreeMap::new();
            for (g, _) in &r.split {
                shares.insert(g.clone(), self.share(&r.name, g));
            }
            for g in &r.fallback {
                shares.entry(g.clone()).or_insert_with(|| {
                    self.gateways
                        .get(g)
                        .map_or(1000, |h| h.machine.share_permille(&self.policy))
                });
            }
            let mut chosen = None;
            if shares.values().all(|&s| s == 0) {
                chosen = self.least_bad(shares.keys());
                if let Some(c) = &chosen {
                    shares.insert(c.clone(), 1000);
                    panic.insert(r.name.clone(), c.clone());
                }
            }
            out.push(RouteShares {
                route: r.name.clone(),
                shares,
                panic: chosen,
            });
        }
        let now = self.now_ms;
        for (route, gw) in &panic {
            if self.panic.get(route) != Some(gw) {
                let text = format!(
                    "PANIC MODE on route {route}: every gateway is out; routing to the least bad, {gw}"
                );
                self.push(route_event(
                    now,
                    "panic_mode",
                    Severity::Critical,
                    route,
                    text,
                    json!({"gateway": gw}),
                ));
            }
        }
        for route in self.panic.keys() {
            if !panic.contains_key(route) {
                let text = format!("panic mode on route {route} is over");
                let e = route_event(now, "panic_over", Severity::Info, route, text, json!({}));
                self.events.push(e);
            }
        }
        self.panic = panic;
        out
    }

    /// Lowest technical-failure ratio in the window, then highest success; never a
    /// drained gateway (an operator's drain is respected even in panic).
    fn least_bad<'a>(&self, names: impl Iterator<Item = &'a String>) -> Option<String> {
        let finals = self.finals();
        names
            .filter_map(|n| {
                let g = self.gateways.get(n)?;
                if g.machine.state == State::Drained {
                    return None;
                }
                let t = g.window.total();
                let tech = t.technical_failures() as f64 / t.attempts().max(1) as f64;
                let (ok, n2) = t.success(finals);
                let succ = ok as f64 / n2.max(1) as f64;
                Some((n.clone(), tech, succ))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1).then(b.2.total_cmp(&a.2)))
            .map(|(n, _, _)| n)
    }

    /// Progressive rollout: promote a step after its dwell when the gateway is
    /// non-inferior to its peers (its success rate two standard errors low is
    /// within the drop of theirs); demote to the first step at once when it is not
    /// healthy or a detector fires.
    pub(crate) fn rollouts_step(&mut self) {
        let now = self.now_ms;
        let finals = self.finals();
        let drop = self.policy.drop_points / 100.0;
        let keys: Vec<(String, String)> = self.rollouts.keys().cloned().collect();
        for key in keys {
            let (route, gw) = (&key.0, &key.1);
            let Some(ramp) = self
                .routes
                .iter()
                .find(|r| &r.name == route)
                .and_then(|r| r.ramps.iter().find(|(n, _)| n == gw))
                .map(|(_, r)| r.clone())
            else {
                continue;
            };
            let Some(st) = self.rollouts.get(&key).copied() else {
                continue;
            };
            let Some(g) = self.gateways.get(gw) else {
                continue;
            };
            let bad = g.machine.state != State::Healthy || g.active;
            if bad {
                if st.step > 0 {
                    self.rollouts.insert(
                        key.clone(),
                        Rollout {
                            step: 0,
                            since_ms: now,
                        },
                    );
                    let text = format!("{gw}: rollout on {route} demoted to {}%", ramp.steps[0]);
                    let e = self.event(
                        "rollout_demoted",
                        Severity::Warning,
                        gw,
                        "healthy",
                        "healthy",
                        Trigger::Recheck,
                        text,
                        json!({"route": route}),
                    );
                    self.push(e);
                }
                continue;
            }
            if st.step >= ramp.steps.len() || now < st.since_ms + ramp.dwell.as_millis() as u64 {
                continue;
            }
            let (ok, n) = g.window.total().success(finals);
            let Some(peer) = self.peer_baseline(gw) else {
                continue;
            };
            if n < u64::from(self.policy.min_samples) {
                continue;
            }
            let rate = ok as f64 / n as f64;
            let low = rate - 2.0 * (rate * (1.0 - rate) / n as f64).sqrt();
            if low >= peer.rate - drop {
                let next = st.step + 1;
                self.rollouts.insert(
                    key.clone(),
                    Rollout {
                        step: next,
                        since_ms: now,
                    },
                );
                let pct = ramp.steps.get(next).copied().unwrap_or(100);
                let text =
                    format!("{gw}: rollout on {route} promoted to {pct}% (non-inferior to peers)");
                let ev = json!({"route": route, "rate": rate, "lower_bound": low, "peers": peer});
                let e = self.event(
                    "rollout_promoted",
                    Severity::Info,
                    gw,
                    "healthy",
                    "healthy",
                    Trigger::Recovered,
                    text,
                    ev,
                );
                self.push(e);
            }
        }
    }
}
