//! `[health]` (rollback thresholds, DESIGN.md §5 defaults) and a split entry's
//! `ramp` (progressive rollout): the raw form, the compiled policy, and their
//! validation. Every knob is documented in `docs/ROLLBACK.md`.

use std::time::Duration;

use serde::Deserialize;

use super::schema::{Field, Shape};
use super::spans::Diagnostics;

/// The shape of `[health]` and of a split entry's `ramp` (see `schema`).
pub(crate) const RAMP: &[Field] = &[("steps", Shape::U32List), ("dwell", Shape::Str)];
pub(crate) const HEALTH: &[Field] = &[
    ("window", Shape::Str),
    ("drop_points", Shape::F64),
    ("alpha", Shape::F64),
    ("min_samples", Shape::U32),
    ("hard_down_consecutive", Shape::U32),
    ("hard_down_percent", Shape::U32),
    ("hard_down_min", Shape::U32),
    ("hard_down_window", Shape::Str),
    ("latency_rise", Shape::Str),
    ("latency_sustain", Shape::Str),
    ("latency_min_samples", Shape::U32),
    ("error_percent", Shape::F64),
    ("error_window", Shape::Str),
    ("error_min", Shape::U32),
    ("cooldown", Shape::Str),
    ("cooldown_max", Shape::Str),
    ("cooldown_decay", Shape::Str),
    ("jitter_percent", Shape::U32),
    ("probe_percent", Shape::U32),
    ("probe_min_samples", Shape::U32),
    ("ramp_steps", Shape::U32List),
    ("ramp_dwell", Shape::Str),
    ("dry_run", Shape::Bool),
];

/// `[health]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub window: Option<String>,
    pub drop_points: Option<f64>,
    pub alpha: Option<f64>,
    pub min_samples: Option<u32>,
    pub hard_down_consecutive: Option<u32>,
    pub hard_down_percent: Option<u32>,
    pub hard_down_min: Option<u32>,
    pub hard_down_window: Option<String>,
    pub latency_rise: Option<String>,
    pub latency_sustain: Option<String>,
    pub latency_min_samples: Option<u32>,
    pub error_percent: Option<f64>,
    pub error_window: Option<String>,
    pub error_min: Option<u32>,
    pub cooldown: Option<String>,
    pub cooldown_max: Option<String>,
    pub cooldown_decay: Option<String>,
    pub jitter_percent: Option<u32>,
    pub probe_percent: Option<u32>,
    pub probe_min_samples: Option<u32>,
    pub ramp_steps: Option<Vec<u32>>,
    pub ramp_dwell: Option<String>,
    pub dry_run: Option<bool>,
}

/// A split entry's `ramp = { steps = [5, 10, 25, 50], dwell = "30m" }`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRamp {
    #[serde(default)]
    pub steps: Vec<u32>,
    pub dwell: Option<String>,
}

pub use crate::routing::Ramp;

/// The compiled `[health]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPolicy {
    /// Success-rate window (and SPRT epoch).
    pub window: Duration,
    /// Drop in percentage points the success-rate test looks for.
    pub drop_points: f64,
    /// False-alarm probability per day of the success-rate test.
    pub alpha: f64,
    /// Fewest final outcomes before the success-rate test says anything.
    pub min_samples: u32,
    pub hard_down_consecutive: u32,
    pub hard_down_percent: u32,
    pub hard_down_min: u32,
    pub hard_down_window: Duration,
    pub latency_rise: Duration,
    pub latency_sustain: Duration,
    pub latency_min_samples: u32,
    pub error_percent: f64,
    pub error_window: Duration,
    pub error_min: u32,
    pub cooldown: Duration,
    pub cooldown_max: Duration,
    pub cooldown_decay: Duration,
    pub jitter_percent: u32,
    pub probe_percent: u32,
    pub probe_min_samples: u32,
    pub ramp_steps: Vec<u32>,
    pub ramp_dwell: Duration,
    pub dry_run: bool,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        let s = Duration::from_secs;
        HealthPolicy {
            window: s(600),
            drop_points: 2.0,
            alpha: 0.001,
            min_samples: 20,
            hard_down_consecutive: 10,
            hard_down_percent: 50,
            hard_down_min: 20,
            hard_down_window: s(10),
            latency_rise: Duration::from_millis(500),
            latency_sustain: s(120),
            latency_min_samples: 20,
            error_percent: 5.0,
            error_window: s(60),
            error_min: 50,
            cooldown: s(30),
            cooldown_max: s(600),
            cooldown_decay: s(1800),
            jitter_percent: 20,
            probe_percent: 5,
            probe_min_samples: 20,
            ramp_steps: vec![25, 50],
            ramp_dwell: s(60),
            dry_run: false,
        }
    }
}

fn dur(diag: &mut Diagnostics<'_>, key: &str, v: Option<&str>, default: Duration) -> Duration {
    super::validate::duration_or(diag, &format!("health.{key}"), v, default)
}

fn num<T: PartialOrd + Copy + std::fmt::Display>(
    diag: &mut Diagnostics<'_>,
    key: &str,
    v: Option<T>,
    lo: T,
    hi: T,
    default: T,
) -> T {
    super::validate::in_range(diag, &format!("health.{key}"), v, lo..=hi, default)
}

/// Ramp steps: strictly increasing percentages in 1..=100.
fn steps(diag: &mut Diagnostics<'_>, path: &str, v: &[u32]) -> bool {
    if v.is_empty() {
        diag.error(path, "needs at least one step");
        return false;
    }
    let ok = v.iter().all(|s| (1..=100).contains(s)) && v.windows(2).all(|w| w[0] < w[1]);
    if !ok {
        diag.error(
            path,
            format!("steps must be strictly increasing percentages in 1..=100 (found {v:?})"),
        );
    }
    ok
}

pub(crate) fn validate(raw: &RawHealth, diag: &mut Diagnostics<'_>) -> HealthPolicy {
    let d = HealthPolicy::default();
    let cooldown = dur(diag, "cooldown", raw.cooldown.as_deref(), d.cooldown);
    let cooldown_max = dur(
        diag,
        "cooldown_max",
        raw.cooldown_max.as_deref(),
        d.cooldown_max,
    );
    if cooldown_max < cooldown {
        diag.error("health.cooldown_max", "must not be shorter than cooldown");
    }
    let ramp_steps = match &raw.ramp_steps {
        Some(v) if steps(diag, "health.ramp_steps", v) => v.clone(),
        _ => d.ramp_steps.clone(),
    };
    HealthPolicy {
        window: dur(diag, "window", raw.window.as_deref(), d.window),
        drop_points: num(
            diag,
            "drop_points",
            raw.drop_points,
            0.1,
            50.0,
            d.drop_points,
        ),
        alpha: num(diag, "alpha", raw.alpha, 1e-9, 0.5, d.alpha),
        min_samples: num(
            diag,
            "min_samples",
            raw.min_samples,
            1,
            1_000_000,
            d.min_samples,
        ),
        hard_down_consecutive: num(
            diag,
            "hard_down_consecutive",
            raw.hard_down_consecutive,
            1,
            10_000,
            d.hard_down_consecutive,
        ),
        hard_down_percent: num(
            diag,
            "hard_down_percent",
            raw.hard_down_percent,
            1,
            100,
            d.hard_down_percent,
        ),
        hard_down_min: num(
            diag,
            "hard_down_min",
            raw.hard_down_min,
            1,
            1_000_000,
            d.hard_down_min,
        ),
        hard_down_window: dur(
            diag,
            "hard_down_window",
            raw.hard_down_window.as_deref(),
            d.hard_down_window,
        ),
        latency_rise: dur(
            diag,
            "latency_rise",
            raw.latency_rise.as_deref(),
            d.latency_rise,
        ),
        latency_sustain: dur(
            diag,
            "latency_sustain",
            raw.latency_sustain.as_deref(),
            d.latency_sustain,
        ),
        latency_min_samples: num(
            diag,
            "latency_min_samples",
            raw.latency_min_samples,
            1,
            1_000_000,
            d.latency_min_samples,
        ),
        error_percent: num(
            diag,
            "error_percent",
            raw.error_percent,
            0.1,
            100.0,
            d.error_percent,
        ),
        error_window: dur(
            diag,
            "error_window",
            raw.error_window.as_deref(),
            d.error_window,
        ),
        error_min: num(diag, "error_min", raw.error_min, 1, 1_000_000, d.error_min),
        cooldown,
        cooldown_max,
        cooldown_decay: dur(
            diag,
            "cooldown_decay",
            raw.cooldown_decay.as_deref(),
            d.cooldown_decay,
        ),
        jitter_percent: num(
            diag,
            "jitter_percent",
            raw.jitter_percent,
            0,
            100,
            d.jitter_percent,
        ),
        probe_percent: num(
            diag,
            "probe_percent",
            raw.probe_percent,
            1,
            100,
            d.probe_percent,
        ),
        probe_min_samples: num(
            diag,
            "probe_min_samples",
            raw.probe_min_samples,
            1,
            1_000_000,
            d.probe_min_samples,
        ),
        ramp_steps,
        ramp_dwell: dur(diag, "ramp_dwell", raw.ramp_dwell.as_deref(), d.ramp_dwell),
        dry_run: raw.dry_run.unwrap_or(false),
    }
}

/// A split entry's `ramp`, validated.
pub(crate) fn ramp(raw: &RawRamp, path: &str, diag: &mut Diagnostics<'_>) -> Option<Ramp> {
    let ok = steps(diag, &format!("{path}.steps"), &raw.steps);
    let dwell = match raw.dwell.as_deref() {
        None => Duration::from_secs(1800),
        Some(s) => match humantime::parse_duration(s) {
            Ok(d) if !d.is_zero() => d,
            _ => {
                diag.error(
                    &format!("{path}.dwell"),
                    format!("\"{s}\" is not a positive duration; use e.g. \"30m\""),
                );
                return None;
            }
        },
    };
    ok.then(|| Ramp {
        steps: raw.steps.clone(),
        dwell,
    })
}
