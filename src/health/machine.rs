//! The per-gateway state machine: `healthy → ejected → probing → ramping → healthy`
//! plus the manual `drained` state, the `frozen` flag, the exponential cooldown
//! with jitter, and the recovery gate (hysteresis: recovering needs clearly good
//! numbers, stricter than the thresholds that eject).

use serde::Serialize;
use serde_json::json;

use super::sprt::{Baseline, round3};
use super::window::Stats;
use crate::config::health::HealthPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Healthy,
    /// Out of rotation until `until_ms`.
    Ejected {
        until_ms: u64,
    },
    /// A small share of its traffic since `since_ms`.
    Probing {
        since_ms: u64,
    },
    /// Ramp step `step` (index into `ramp_steps`) since `since_ms`.
    Ramping {
        step: usize,
        since_ms: u64,
    },
    /// Manually drained: 0% until restored (or until the TTL).
    Drained,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Healthy => "healthy",
            State::Ejected { .. } => "ejected",
            State::Probing { .. } => "probing",
            State::Ramping { .. } => "ramping",
            State::Drained => "drained",
        }
    }

    pub const NAMES: [&'static str; 5] = ["healthy", "ejected", "probing", "ramping", "drained"];
}

/// One gateway's position in the machine and its pacing.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub state: State,
    /// Ejections not yet forgiven: the cooldown doubles with each.
    pub strikes: u32,
    /// When the gateway last became healthy (or last had a strike forgiven).
    pub healthy_since_ms: u64,
    /// No automatic changes until then (`u64::MAX`: until unfrozen).
    pub frozen_until_ms: Option<u64>,
    /// A manual drain/eject ends then.
    pub manual_until_ms: Option<u64>,
    pub last_cooldown_ms: u64,
}

impl Machine {
    pub fn new(now_ms: u64) -> Machine {
        Machine {
            state: State::Healthy,
            strikes: 0,
            healthy_since_ms: now_ms,
            frozen_until_ms: None,
            manual_until_ms: None,
            last_cooldown_ms: 0,
        }
    }

    pub fn frozen(&self, now_ms: u64) -> bool {
        self.frozen_until_ms.is_some_and(|u| now_ms < u)
    }

    /// The share of its configured weight the gateway gets now, in permille.
    pub fn share_permille(&self, p: &HealthPolicy) -> u16 {
        match self.state {
            State::Healthy => 1000,
            State::Ejected { .. } | State::Drained => 0,
            State::Probing { .. } => (p.probe_percent * 10).min(1000) as u16,
            State::Ramping { step, .. } => {
                p.ramp_steps.get(step).map_or(1000, |s| (s * 10).min(1000)) as u16
            }
        }
    }

    /// Ejects with the next cooldown: `cooldown * 2^strikes`, capped, ± jitter.
    pub fn eject(&mut self, now_ms: u64, p: &HealthPolicy, rng: &mut Rng) -> u64 {
        let base = p.cooldown.as_millis() as u64;
        let cap = p.cooldown_max.as_millis() as u64;
        let raw = base.saturating_mul(1u64 << self.strikes.min(20)).min(cap);
        let jitter = raw * u64::from(p.jitter_percent) / 100;
        let cooldown = if jitter > 0 {
            (raw - jitter + rng.below(2 * jitter + 1)).min(cap)
        } else {
            raw
        };
        self.strikes = self.strikes.saturating_add(1);
        self.last_cooldown_ms = cooldown;
        self.state = State::Ejected {
            until_ms: now_ms + cooldown,
        };
        cooldown
    }

    /// Forgives one strike per `cooldown_decay` of healthy time.
    pub fn decay(&mut self, now_ms: u64, p: &HealthPolicy) {
        let decay = p.cooldown_decay.as_millis() as u64;
        if self.state == State::Healthy
            && self.strikes > 0
            && now_ms >= self.healthy_since_ms + decay
        {
            self.strikes -= 1;
            self.healthy_since_ms = now_ms;
        }
    }
}

/// The recovery gate for probing and each ramp step, over the outcomes since the
/// state was entered. `Ok(evidence)` passes, `Err(evidence)` fails. Thresholds are
/// stricter than the ejecting ones (hysteresis): technical failures at most a fifth
/// of the hard-down ratio, 5xx at most half the spike ratio, success rate within
/// the drop of the baseline, latency within half the rise.
pub fn gate(
    since: &Stats,
    finals: bool,
    baseline: Option<Baseline>,
    latency_base_ms: Option<f64>,
    p: &HealthPolicy,
) -> Result<serde_json::Value, serde_json::Value> {
    let n = since.attempts().max(1);
    let tech = since.technical_failures() as f64 / n as f64;
    let err = (since.errors_5xx() + since.timeouts()) as f64 / n as f64;
    let (ok, total) = since.success(finals);
    let rate = (total > 0).then(|| ok as f64 / total as f64);
    let mut pass = tech * 100.0 <= f64::from(p.hard_down_percent) / 5.0
        && err * 100.0 <= p.error_percent / 2.0;
    if let (Some(b), Some(r)) = (baseline, rate)
        && total >= u64::from(p.probe_min_samples)
    {
        pass &= r >= b.rate - p.drop_points / 100.0;
    }
    if let (Some(base), Some(mean)) = (latency_base_ms, since.latency_mean_ms()) {
        pass &= mean - base <= p.latency_rise.as_millis() as f64 / 2.0;
    }
    let ev = json!({
        "gate": "recovery",
        "since": since.to_json(),
        "technical_failure_ratio": round3(tech),
        "error_ratio": round3(err),
        "success_rate": rate.map(round3),
        "baseline": baseline,
        "latency_baseline_ms": latency_base_ms.map(f64::round),
    });
    if pass { Ok(ev) } else { Err(ev) }
}

/// A small deterministic generator (SplitMix64) for cooldown jitter, so the
/// simulation and the tests replay exactly from a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_doubles_and_caps() {
        let p = HealthPolicy {
            jitter_percent: 0,
            ..HealthPolicy::default()
        };
        let mut m = Machine::new(0);
        let mut rng = Rng::new(1);
        assert_eq!(m.eject(0, &p, &mut rng), 30_000);
        assert_eq!(m.eject(0, &p, &mut rng), 60_000);
        for _ in 0..10 {
            m.eject(0, &p, &mut rng);
        }
        assert_eq!(m.last_cooldown_ms, 600_000);
        m.state = State::Healthy;
        m.healthy_since_ms = 0;
        m.decay(1_800_000, &p);
        assert_eq!(m.strikes, 11);
    }

    #[test]
    fn shares_by_state() {
        let p = HealthPolicy::default();
        let mut m = Machine::new(0);
        assert_eq!(m.share_permille(&p), 1000);
        m.state = State::Probing { since_ms: 0 };
        assert_eq!(m.share_permille(&p), 50);
        m.state = State::Ramping {
            step: 1,
            since_ms: 0,
        };
        assert_eq!(m.share_permille(&p), 500);
    }
}
