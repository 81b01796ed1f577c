//! What the admin API shows: per gateway state, shares, window stats and the last
//! verdict with its evidence; per route the effective weights; recent incidents.

use serde_json::{Value, json};

use super::controller::Controller;

impl Controller {
    /// `GET /admin/gateways`.
    pub fn gateways_view(&self) -> Value {
        let now = self.now_ms;
        let a = self.threshold();
        let list: Vec<Value> = self
            .gateways
            .iter()
            .map(|(name, g)| {
                let routes: serde_json::Map<String, Value> = self
                    .routes
                    .iter()
                    .filter(|r| r.split.iter().any(|(n, _)| n == name) || r.fallback.contains(name))
                    .map(|r| (r.name.clone(), json!(self.share(&r.name, name))))
                    .collect();
                json!({
                    "name": name,
                    "state": g.machine.state.name(),
                    "detail": g.machine.state,
                    "share_permille": g.machine.share_permille(&self.policy),
                    "route_shares_permille": routes,
                    "frozen": g.machine.frozen(now),
                    "strikes": g.machine.strikes,
                    "last_cooldown_secs": g.machine.last_cooldown_ms / 1000,
                    "window": g.window.total().to_json(),
                    "window_by_method": g
                        .by_method
                        .iter()
                        .map(|(m, w)| (m.to_string(), w.total().to_json()))
                        .collect::<serde_json::Map<String, Value>>(),
                    "success_test": g.sprt.to_json(a),
                    "own_baseline": self.own_baseline(name),
                    "peer_baseline": self.peer_baseline(name),
                    "last_verdict": g.verdict,
                    "last_transition": g.last_event,
                })
            })
            .collect();
        json!({ "dry_run": self.policy.dry_run, "gateways": list })
    }

    /// `GET /admin/routes`: each route's gateways with their admitted share.
    pub fn routes_view(&self) -> Value {
        let list: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                let total: u32 = r.split.iter().map(|(_, w)| *w).sum::<u32>().max(1);
                let gws: Vec<Value> = r
                    .split
                    .iter()
                    .map(|(g, w)| {
                        let share = u32::from(self.share(&r.name, g));
                        json!({
                            "gateway": g,
                            "configured_weight": w,
                            "configured_permille": w * 1000 / total,
                            "share_permille": share,
                            "effective_permille": w * share / total,
                            "state": self.gateways.get(g).map(|h| h.machine.state.name()),
                        })
                    })
                    .collect();
                json!({
                    "route": r.name,
                    "split": gws,
                    "fallback": r.fallback,
                    "panic": self.panic.get(&r.name),
                    "ecosystem_outage": self.ecosystem.contains(&r.name),
                })
            })
            .collect();
        json!({ "routes": list })
    }

    /// `GET /admin/incidents`: newest first.
    pub fn incidents_view(&self) -> Value {
        let list: Vec<&super::controller::Event> = self.incidents.iter().rev().collect();
        json!({ "incidents": list })
    }
}
