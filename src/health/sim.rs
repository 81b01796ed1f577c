//! The rollback simulation: the real controller (windows, detectors, sequential
//! test, state machine, shares) and the real split table with admission, driven by
//! simulated traffic on simulated time from a seeded generator. Used by the
//! deterministic tests and by `loadtest rollback-sim`.

use std::sync::Arc;
use std::time::Duration;

use super::controller::{Controller, Event, RouteMembers};
use super::feed::{AttemptClass, Observation};
use super::machine::Rng;
use crate::config::health::HealthPolicy;
use crate::model::Method;
use crate::routing::{SplitEntry, SplitTable};

/// How a simulated gateway behaves now.
#[derive(Debug, Clone)]
pub struct SimGateway {
    pub name: String,
    /// Probability a created payment ends in success.
    pub success: f64,
    /// Mean answer latency.
    pub latency_ms: u64,
    /// Connections refused (nothing is sent).
    pub refused: bool,
    /// Probability of a 5xx answer.
    pub error_5xx: f64,
}

impl SimGateway {
    pub fn new(name: &str) -> SimGateway {
        SimGateway {
            name: name.into(),
            success: 0.95,
            latency_ms: 200,
            refused: false,
            error_5xx: 0.0,
        }
    }
}

/// One route over simulated gateways, split evenly, each the other's fallback.
pub struct Sim {
    pub ctl: Controller,
    pub gws: Vec<SimGateway>,
    split: SplitTable,
    shares: Vec<u16>,
    names: Vec<Arc<str>>,
    route: Arc<str>,
    rng: Rng,
    pub now_ms: u64,
    pub requests: u64,
    /// Requests that got no created payment (every admitted gateway failed).
    pub customer_failures: u64,
    /// Every event the controller emitted.
    pub events: Vec<Event>,
}

impl Sim {
    pub fn new(policy: HealthPolicy, names: &[&str], seed: u64) -> Sim {
        let route = RouteMembers {
            name: "default".into(),
            split: names.iter().map(|n| (n.to_string(), 1)).collect(),
            fallback: names.iter().map(|n| n.to_string()).collect(),
            ramps: Vec::new(),
        };
        let entries = (0..names.len())
            .map(|gateway| SplitEntry { gateway, weight: 1 })
            .collect();
        let split = SplitTable::new(entries).unwrap_or_else(|e| panic!("sim split: {e}"));
        Sim {
            ctl: Controller::new(policy, vec![route], seed),
            gws: names.iter().map(|n| SimGateway::new(n)).collect(),
            split,
            shares: vec![1000; names.len()],
            names: names.iter().map(|n| Arc::from(*n)).collect(),
            route: Arc::from("default"),
            rng: Rng::new(seed.wrapping_mul(31).wrapping_add(7)),
            now_ms: 0,
            requests: 0,
            customer_failures: 0,
            events: Vec::new(),
        }
    }

    pub fn gw(&mut self, name: &str) -> &mut SimGateway {
        let i = self.gws.iter().position(|g| g.name == name).unwrap_or(0);
        &mut self.gws[i]
    }

    /// The current state name of `name`.
    pub fn state(&self, name: &str) -> &'static str {
        self.ctl
            .gateways
            .get(name)
            .map_or("unknown", |g| g.machine.state.name())
    }

    /// Runs `secs` seconds at `rps` requests per second (evenly spaced), ticking
    /// the controller every second and at once when it asks.
    pub fn run(&mut self, secs: u64, rps: f64) {
        let per_ms = rps / 1000.0;
        let mut carry = 0.0;
        for _ in 0..secs {
            for _ in 0..1000 {
                carry += per_ms;
                while carry >= 1.0 {
                    carry -= 1.0;
                    self.request();
                }
                self.now_ms += 1;
                if self.now_ms.is_multiple_of(1000) {
                    self.tick();
                }
            }
        }
    }

    fn tick(&mut self) {
        self.ctl.tick(self.now_ms);
        let shares = self.ctl.route_shares();
        if let Some(r) = shares.first() {
            for (i, g) in self.gws.iter().enumerate() {
                self.shares[i] = r.shares.get(&g.name).copied().unwrap_or(1000);
            }
        }
        self.events.extend(self.ctl.take_events());
    }

    fn request(&mut self) {
        self.requests += 1;
        let (h1, h2) = (self.rng.next_u64(), self.rng.next_u64());
        let shares = &self.shares;
        let admits = |g: usize| shares[g] >= 1000 || (h2 % 1000) < u64::from(shares[g]);
        let mut plan: Vec<usize> = self.split.pick(h1, admits).into_iter().collect();
        for g in 0..self.gws.len() {
            if admits(g) && !plan.contains(&g) {
                plan.push(g);
            }
        }
        let mut created = false;
        for &g in plan.iter().take(2) {
            let gw = &self.gws[g];
            let (refused, error_5xx, latency_ms, success) =
                (gw.refused, gw.error_5xx, gw.latency_ms, gw.success);
            let name = self.names[g].clone();
            let (class, latency) = if refused {
                (AttemptClass::NotSent, 0)
            } else if self.rng.unit() < error_5xx {
                (AttemptClass::Error5xx, latency_ms)
            } else {
                let jitter = self.rng.below(latency_ms / 2 + 1);
                (AttemptClass::Created, latency_ms * 3 / 4 + jitter)
            };
            self.ctl.observe(
                self.now_ms,
                &Observation::Attempt {
                    gateway: name.clone(),
                    route: self.route.clone(),
                    method: Method::UpiCollect,
                    class,
                    latency: Duration::from_millis(latency),
                },
            );
            if class == AttemptClass::Created {
                let ok = self.rng.unit() < success;
                self.ctl.observe(
                    self.now_ms,
                    &Observation::Final {
                        gateway: name,
                        method: Method::UpiCollect,
                        succeeded: ok,
                    },
                );
                created = true;
                break;
            }
            if class != AttemptClass::NotSent {
                break; // only "not sent" may fail over
            }
        }
        if !created {
            self.customer_failures += 1;
        }
        if self.ctl.take_urgent() {
            self.tick();
        }
    }

    /// Events of `kind` about `gateway`.
    pub fn count(&self, kind: &str, gateway: &str) -> usize {
        self.events
            .iter()
            .filter(|e| e.kind == kind && e.gateway.as_deref() == Some(gateway))
            .count()
    }

    /// Time (ms) of the first event of `kind` about `gateway` at or after `from_ms`.
    pub fn first(&self, kind: &str, gateway: &str, from_ms: u64) -> Option<u64> {
        self.events
            .iter()
            .find(|e| e.kind == kind && e.gateway.as_deref() == Some(gateway) && e.at_ms >= from_ms)
            .map(|e| e.at_ms)
    }
}

/// Seconds from a drop of `drop_points` on one of two gateways (after a warm-up)
/// to its rollback, at `rps` in total; `None` if not within `limit_secs`.
pub fn detection_secs(rps: f64, drop_points: f64, seed: u64, limit_secs: u64) -> Option<u64> {
    let mut sim = Sim::new(HealthPolicy::default(), &["a", "b"], seed);
    sim.run(900, rps);
    let start = sim.now_ms;
    sim.gw("a").success = 0.95 - drop_points / 100.0;
    for _ in 0..limit_secs / 10 {
        sim.run(10, rps);
        if let Some(t) = sim.first("rollback", "a", start) {
            return Some((t - start) / 1000);
        }
    }
    None
}

/// Rollbacks over `secs` of stable traffic at 95% on two gateways.
pub fn false_rollbacks(rps: f64, seed: u64, secs: u64) -> usize {
    let mut sim = Sim::new(HealthPolicy::default(), &["a", "b"], seed);
    sim.run(secs, rps);
    sim.count("rollback", "a") + sim.count("rollback", "b")
}
