//! The detectors other than the success-rate test ([`super::sprt`]): hard down,
//! 5xx spike and sustained latency rise. Each returns a [`Verdict`] carrying the
//! evidence that decided it (counts, rates, threshold, baseline).

use serde::Serialize;
use serde_json::json;

use super::sprt::round3;
use super::window::Stats;
use crate::config::health::HealthPolicy;

/// What moved a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    HardDown,
    SuccessDrop,
    Latency,
    ErrorSpike,
    /// Probing or a ramp step failed its gate.
    Recheck,
    /// Probing and ramp steps passed.
    Recovered,
    Cooldown,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::HardDown => "hard_down",
            Trigger::SuccessDrop => "success_drop",
            Trigger::Latency => "latency",
            Trigger::ErrorSpike => "error_spike",
            Trigger::Recheck => "recheck",
            Trigger::Recovered => "recovered",
            Trigger::Cooldown => "cooldown",
            Trigger::Manual => "manual",
        }
    }
}

/// A detector's finding: degraded by `trigger`, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub trigger: Trigger,
    pub evidence: serde_json::Value,
}

/// Consecutive technical failures ≥ k, or a technical-failure ratio ≥ the
/// percentage over at least `hard_down_min` attempts in the short window.
pub fn hard_down(consecutive: u32, short: &Stats, p: &HealthPolicy) -> Option<Verdict> {
    let n = short.attempts();
    let tech = short.technical_failures();
    let by_run = consecutive >= p.hard_down_consecutive;
    let by_ratio =
        n >= u64::from(p.hard_down_min) && tech * 100 >= u64::from(p.hard_down_percent) * n;
    (by_run || by_ratio).then(|| Verdict {
        trigger: Trigger::HardDown,
        evidence: json!({
            "consecutive_technical_failures": consecutive,
            "consecutive_threshold": p.hard_down_consecutive,
            "window_secs": p.hard_down_window.as_secs(),
            "attempts": n,
            "technical_failures": tech,
            "ratio": if n > 0 { round3(tech as f64 / n as f64) } else { 0.0 },
            "ratio_threshold": f64::from(p.hard_down_percent) / 100.0,
            "min_attempts": p.hard_down_min,
        }),
    })
}

/// 5xx (and timeouts) above `error_percent` over `error_window` with at least
/// `error_min` attempts.
pub fn error_spike(short: &Stats, p: &HealthPolicy) -> Option<Verdict> {
    let n = short.attempts();
    let bad = short.errors_5xx() + short.timeouts();
    let ratio = if n > 0 { bad as f64 / n as f64 } else { 0.0 };
    (n >= u64::from(p.error_min) && ratio * 100.0 > p.error_percent).then(|| Verdict {
        trigger: Trigger::ErrorSpike,
        evidence: json!({
            "window_secs": p.error_window.as_secs(),
            "attempts": n,
            "errors_5xx": short.errors_5xx(),
            "timeouts": short.timeouts(),
            "ratio": round3(ratio),
            "threshold": p.error_percent / 100.0,
            "min_attempts": p.error_min,
        }),
    })
}

/// Mean latency over `latency_sustain` more than `latency_rise` above the
/// baseline's mean, with at least `latency_min_samples` answers. Averaging over the
/// sustain period is what makes it "sustained": a 10 s spike of +800 ms moves a
/// 2-minute mean by under 70 ms.
pub fn latency(
    sustained: &Stats,
    baseline_ms: Option<(f64, &'static str)>,
    p: &HealthPolicy,
) -> Option<Verdict> {
    let (base, source) = baseline_ms?;
    let mean = sustained.latency_mean_ms()?;
    let rise = p.latency_rise.as_millis() as f64;
    (sustained.latency_samples() >= u64::from(p.latency_min_samples) && mean - base > rise).then(
        || Verdict {
            trigger: Trigger::Latency,
            evidence: json!({
                "window_secs": p.latency_sustain.as_secs(),
                "samples": sustained.latency_samples(),
                "mean_ms": mean.round(),
                "p95_ms": sustained.latency_p95_ms(),
                "baseline_mean_ms": base.round(),
                "baseline": source,
                "threshold_rise_ms": rise,
            }),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::AttemptClass;

    #[test]
    fn hard_down_by_run_and_by_ratio() {
        let p = HealthPolicy::default();
        let s = Stats::default();
        assert!(hard_down(9, &s, &p).is_none());
        assert_eq!(hard_down(10, &s, &p).unwrap().trigger, Trigger::HardDown);
        let mut s = Stats::default();
        for i in 0..20 {
            let c = if i % 2 == 0 {
                AttemptClass::NotSent
            } else {
                AttemptClass::Created
            };
            s.record_attempt(c, 10);
        }
        assert!(hard_down(1, &s, &p).is_some());
    }

    #[test]
    fn error_spike_needs_the_minimum_count() {
        let p = HealthPolicy::default();
        let mut s = Stats::default();
        for _ in 0..10 {
            s.record_attempt(AttemptClass::Error5xx, 10);
        }
        assert!(error_spike(&s, &p).is_none());
        for _ in 0..90 {
            s.record_attempt(AttemptClass::Created, 10);
        }
        assert!(error_spike(&s, &p).is_some());
    }
}
