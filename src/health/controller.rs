//! The controller: per-gateway windows, detectors and state machines, driven by
//! observations and by a tick (once a second), on a logical clock in milliseconds
//! so tests and the simulation run it on simulated time. It never blocks and never
//! does I/O: what happened is queued as [`Event`]s for [`super::notify`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;
use serde_json::json;

use super::detectors::{Trigger, Verdict};
use super::feed::Observation;
use super::machine::{Machine, Rng, State};
use super::sprt::{Baseline, Sprt, threshold};
use super::window::{Stats, Window};
use crate::alerts::Severity;
use crate::config::health::{HealthPolicy, Ramp};

/// Incidents kept for `GET /admin/incidents`.
pub const INCIDENTS_KEPT: usize = 200;

/// A route as the controller sees it: names, not indices (state outlives reloads).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMembers {
    pub name: String,
    pub split: Vec<(String, u32)>,
    pub fallback: Vec<String>,
    pub ramps: Vec<(String, Ramp)>,
}

/// Something that happened: a transition (audited) or a finding (alerted).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at_ms: u64,
    /// Alert kind: `rollback`, `probing`, `ramping`, `recovered`, `reejected`,
    /// `ecosystem_outage`, `inconclusive`, `panic_mode`, `dry_run`, `manual`, ...
    pub kind: &'static str,
    pub severity: Severity,
    pub gateway: Option<String>,
    pub route: Option<String>,
    pub from: &'static str,
    pub to: &'static str,
    pub trigger: Trigger,
    pub actor: String,
    pub reason: Option<String>,
    pub text: String,
    pub evidence: serde_json::Value,
    /// A state change (written to the audit table) rather than a finding.
    pub transition: bool,
}

/// One gateway's health.
#[derive(Debug, Clone)]
pub struct GatewayHealth {
    pub window: Window,
    /// The same counts per payment method (shown by the admin API).
    pub by_method: BTreeMap<&'static str, Window>,
    /// Outcomes since the current state was entered (recovery gates).
    pub since: Stats,
    /// Outcomes since the last tick (fed to the sequential tests).
    pub pending: Stats,
    pub consecutive: u32,
    /// Success-rate test against peers (or own history when there are none).
    pub sprt: Sprt,
    /// Success-rate test against own history (ecosystem detection).
    pub own: Sprt,
    /// EWMA of healthy epochs' success rates and the last epoch's sample count.
    pub own_rate: Option<(f64, u64)>,
    pub machine: Machine,
    /// The last degraded verdict (kept for the admin view).
    pub verdict: Option<Verdict>,
    /// A detector is firing this tick.
    pub active: bool,
    /// When the current state was entered.
    pub entered_ms: u64,
    pub last_event: Option<Event>,
    /// Degraded by any signal this tick, before ecosystem suppression.
    pub degraded: bool,
}

impl GatewayHealth {
    fn new(now_ms: u64, p: &HealthPolicy) -> GatewayHealth {
        let sec = now_ms / 1000;
        GatewayHealth {
            window: Window::new(p.window.as_secs()),
            by_method: BTreeMap::new(),
            since: Stats::default(),
            pending: Stats::default(),
            consecutive: 0,
            sprt: Sprt::new(sec),
            own: Sprt::new(sec),
            own_rate: None,
            machine: Machine::new(now_ms),
            verdict: None,
            active: false,
            entered_ms: now_ms,
            last_event: None,
            degraded: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rollout {
    /// Index into the ramp's steps; `steps.len()` means done (full weight).
    pub step: usize,
    pub since_ms: u64,
}

pub struct Controller {
    pub policy: HealthPolicy,
    pub gateways: BTreeMap<String, GatewayHealth>,
    pub routes: Vec<RouteMembers>,
    pub rollouts: HashMap<(String, String), Rollout>,
    pub incidents: VecDeque<Event>,
    pub ecosystem: BTreeSet<String>,
    pub panic: BTreeMap<String, String>,
    pub(crate) events: Vec<Event>,
    pub(crate) rng: Rng,
    /// Second of the last final outcome seen (finals feed the success rate when present).
    pub(crate) last_final_sec: Option<u64>,
    pub(crate) urgent: bool,
    pub now_ms: u64,
}

impl Controller {
    pub fn new(policy: HealthPolicy, routes: Vec<RouteMembers>, seed: u64) -> Controller {
        let mut c = Controller {
            policy,
            gateways: BTreeMap::new(),
            routes: Vec::new(),
            rollouts: HashMap::new(),
            incidents: VecDeque::new(),
            ecosystem: BTreeSet::new(),
            panic: BTreeMap::new(),
            events: Vec::new(),
            rng: Rng::new(seed),
            last_final_sec: None,
            urgent: false,
            now_ms: 0,
        };
        c.sync(c.policy.clone(), routes, 0);
        c
    }

    /// A new config: new policy and routes; gateways that still exist keep their
    /// state, new ones start healthy, removed ones are forgotten.
    pub fn sync(&mut self, policy: HealthPolicy, routes: Vec<RouteMembers>, now_ms: u64) {
        let window_changed = policy.window != self.policy.window;
        self.policy = policy;
        let mut names = BTreeSet::new();
        for r in &routes {
            names.extend(r.split.iter().map(|(g, _)| g.clone()));
            names.extend(r.fallback.iter().cloned());
        }
        self.gateways.retain(|n, _| names.contains(n));
        for n in names {
            let p = &self.policy;
            let g = self
                .gateways
                .entry(n)
                .or_insert_with(|| GatewayHealth::new(now_ms, p));
            if window_changed {
                g.window = Window::new(p.window.as_secs());
                g.by_method.clear();
            }
        }
        let mut rollouts = HashMap::new();
        for r in &routes {
            for (g, _) in &r.ramps {
                let key = (r.name.clone(), g.clone());
                let cur = self.rollouts.get(&key).copied().unwrap_or(Rollout {
                    step: 0,
                    since_ms: now_ms,
                });
                rollouts.insert(key, cur);
            }
        }
        self.rollouts = rollouts;
        self.routes = routes;
    }

    /// Records one observation; a run of technical failures long enough to be
    /// hard down asks for an immediate tick.
    pub fn observe(&mut self, now_ms: u64, obs: &Observation) {
        let sec = now_ms / 1000;
        match obs {
            Observation::Attempt {
                gateway,
                class,
                latency,
                method,
                ..
            } => {
                let Some(g) = self.gateways.get_mut(&**gateway) else {
                    return;
                };
                let ms = latency.as_millis() as u64;
                g.window.record_attempt(sec, *class, ms);
                let len = g.window.len_secs();
                g.by_method
                    .entry(method.as_str())
                    .or_insert_with(|| Window::new(len))
                    .record_attempt(sec, *class, ms);
                g.since.record_attempt(*class, ms);
                g.pending.record_attempt(*class, ms);
                if class.is_technical_failure() {
                    g.consecutive += 1;
                    if g.consecutive >= self.policy.hard_down_consecutive {
                        self.urgent = true;
                    }
                } else {
                    g.consecutive = 0;
                }
            }
            Observation::Final {
                gateway,
                succeeded,
                method,
            } => {
                let Some(g) = self.gateways.get_mut(&**gateway) else {
                    return;
                };
                g.window.record_final(sec, *succeeded);
                let len = g.window.len_secs();
                g.by_method
                    .entry(method.as_str())
                    .or_insert_with(|| Window::new(len))
                    .record_final(sec, *succeeded);
                g.since.record_final(*succeeded);
                g.pending.record_final(*succeeded);
                self.last_final_sec = Some(sec);
            }
        }
    }

    /// Whether an observation asked for an immediate tick (and clears the ask).
    pub fn take_urgent(&mut self) -> bool {
        std::mem::take(&mut self.urgent)
    }

    /// Whether final outcomes (rather than initiation outcomes) feed the success rate.
    pub fn finals(&self) -> bool {
        self.last_final_sec
            .is_some_and(|s| s + self.policy.window.as_secs() > self.now_ms / 1000)
    }

    /// Gateways sharing a split with `name`.
    pub fn peers(&self, name: &str) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        for r in &self.routes {
            if r.split.iter().any(|(g, _)| g == name) {
                out.extend(
                    r.split
                        .iter()
                        .map(|(g, _)| g.as_str())
                        .filter(|g| *g != name),
                );
            }
        }
        out
    }

    /// Pooled window success rate of the healthy peers with enough outcomes
    /// (and no lean towards a drop of their own).
    pub fn peer_baseline(&self, name: &str) -> Option<Baseline> {
        let finals = self.finals();
        let (mut ok, mut n) = (0, 0);
        for p in self.peers(name) {
            let Some(g) = self.gateways.get(p) else {
                continue;
            };
            let (o, t) = g.window.total().success(finals);
            // A peer whose own test leans towards a drop is no baseline: when the
            // whole route sinks together, its window still remembers better times.
            if g.machine.state == State::Healthy
                && t >= u64::from(self.policy.min_samples)
                && g.own.llr <= 0.0
            {
                ok += o;
                n += t;
            }
        }
        (n > 0).then(|| Baseline {
            rate: ok as f64 / n as f64,
            samples: n,
            source: "peers",
        })
    }

    pub fn own_baseline(&self, name: &str) -> Option<Baseline> {
        let (rate, samples) = self.gateways.get(name)?.own_rate?;
        Some(Baseline {
            rate,
            samples,
            source: "own_history",
        })
    }

    /// Mean latency of healthy peers over the last `span` seconds, else the
    /// gateway's own older window.
    pub fn latency_baseline(&self, name: &str, span: u64) -> Option<(f64, &'static str)> {
        let sec = self.now_ms / 1000;
        let mut s = Stats::default();
        for p in self.peers(name) {
            if let Some(g) = self.gateways.get(p)
                && g.machine.state == State::Healthy
            {
                s.add(&g.window.recent(sec, span));
            }
        }
        if s.latency_samples() >= u64::from(self.policy.latency_min_samples) {
            return s.latency_mean_ms().map(|m| (m, "peers"));
        }
        self.own_latency_baseline(name, span)
    }

    pub fn own_latency_baseline(&self, name: &str, span: u64) -> Option<(f64, &'static str)> {
        let sec = self.now_ms / 1000;
        let g = self.gateways.get(name)?;
        let old = g.window.between(
            sec.saturating_sub(g.window.len_secs()),
            sec.saturating_sub(span),
        );
        (old.latency_samples() >= u64::from(self.policy.latency_min_samples))
            .then(|| old.latency_mean_ms().map(|m| (m, "own_history")))
            .flatten()
    }

    /// The success-rate test threshold in force.
    pub fn threshold(&self) -> f64 {
        threshold(self.policy.alpha, self.policy.window.as_secs())
    }

    pub(crate) fn push(&mut self, e: Event) {
        if let Some(g) = e.gateway.as_ref().and_then(|n| self.gateways.get_mut(n)) {
            g.last_event = Some(e.clone());
        }
        if self.incidents.len() >= INCIDENTS_KEPT {
            self.incidents.pop_front();
        }
        self.incidents.push_back(e.clone());
        self.events.push(e);
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// A finding or transition about one gateway, made at `now`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn event(
        &self,
        kind: &'static str,
        severity: Severity,
        gateway: &str,
        from: &'static str,
        to: &'static str,
        trigger: Trigger,
        text: String,
        evidence: serde_json::Value,
    ) -> Event {
        Event {
            at_ms: self.now_ms,
            kind,
            severity,
            gateway: Some(gateway.to_string()),
            route: None,
            from,
            to,
            trigger,
            actor: "auto".into(),
            reason: None,
            text,
            evidence,
            transition: from != to,
        }
    }

    /// Evidence common to every verdict about `name`.
    pub(crate) fn context(&self, name: &str) -> serde_json::Value {
        let Some(g) = self.gateways.get(name) else {
            return json!({});
        };
        json!({
            "window_secs": self.policy.window.as_secs(),
            "window": g.window.total().to_json(),
            "success_source": if self.finals() { "final_outcomes" } else { "initiations" },
            "dry_run": self.policy.dry_run,
        })
    }
}
