//! Callback knobs and counters (atomics, changed live through the control API) and
//! the per-payment delivery plan drawn from them with a seedable RNG.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::format::Phase;

const PPM: u32 = 1_000_000;

/// How a sandbox gateway sends callbacks for the payments it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackKnobs {
    /// Callbacks on or off (off: nothing is sent, nothing is counted).
    pub callbacks: bool,
    /// How long after the payment is accepted the first callback goes out.
    pub callback_delay_ms: u64,
    /// Share of callbacks delivered twice (the same event id and bytes).
    pub duplicate_rate: f64,
    /// Share of payments whose callbacks are never sent.
    pub drop_rate: f64,
    /// Share of payments that also get an older, non-final event (pending /
    /// `payment.authorized` / `USER_DROPPED`) delivered *after* the final one.
    pub out_of_order_rate: f64,
}

impl Default for CallbackKnobs {
    fn default() -> Self {
        CallbackKnobs {
            callbacks: true,
            callback_delay_ms: 0,
            duplicate_rate: 0.0,
            drop_rate: 0.0,
            out_of_order_rate: 0.0,
        }
    }
}

/// Callback counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallbackStats {
    /// Callbacks whose delivery started (duplicates and earlier events included).
    pub sent: u64,
    /// Callbacks answered 2xx.
    pub acked: u64,
    /// Callbacks given up on after the last retry.
    pub failed: u64,
    /// Delivery attempts that were retried (non-2xx or connection error).
    pub retries: u64,
    /// Payments whose callbacks the drop knob swallowed.
    pub dropped: u64,
    /// Extra deliveries made by the duplicate knob.
    pub duplicated: u64,
    /// Earlier events sent after the final one by the out-of-order knob.
    pub reordered: u64,
}

fn to_ppm(rate: f64) -> u32 {
    if rate.is_nan() {
        return 0;
    }
    (rate.clamp(0.0, 1.0) * f64::from(PPM)).round() as u32
}

fn from_ppm(a: &AtomicU32) -> f64 {
    f64::from(a.load(Ordering::Relaxed)) / f64::from(PPM)
}

/// Live knobs, counters and the RNG of one gateway's callbacks.
pub(crate) struct KnobState {
    on: AtomicBool,
    delay_ms: AtomicU64,
    duplicate_ppm: AtomicU32,
    drop_ppm: AtomicU32,
    ooo_ppm: AtomicU32,
    rng: Mutex<StdRng>,
    pub(crate) sent: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retries: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
}

/// What happens to one accepted payment's callbacks: each step is a phase and
/// how many times it is delivered, in order, after `delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub delay: Duration,
    pub steps: Vec<(Phase, u32)>,
}

impl KnobState {
    pub(crate) fn new(k: CallbackKnobs, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        let s = KnobState {
            on: AtomicBool::new(k.callbacks),
            delay_ms: AtomicU64::new(0),
            duplicate_ppm: AtomicU32::new(0),
            drop_ppm: AtomicU32::new(0),
            ooo_ppm: AtomicU32::new(0),
            rng: Mutex::new(rng),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            reordered: AtomicU64::new(0),
        };
        s.apply(CallbackKnobsPatch::from(k));
        s
    }

    /// Restarts the rate draws from `seed` (`None`: keeps the current RNG).
    pub(crate) fn reseed(&self, seed: Option<u64>) {
        if let (Some(seed), Ok(mut rng)) = (seed, self.rng.lock()) {
            *rng = StdRng::seed_from_u64(seed);
        }
    }

    pub(crate) fn knobs(&self) -> CallbackKnobs {
        CallbackKnobs {
            callbacks: self.on.load(Ordering::Relaxed),
            callback_delay_ms: self.delay_ms.load(Ordering::Relaxed),
            duplicate_rate: from_ppm(&self.duplicate_ppm),
            drop_rate: from_ppm(&self.drop_ppm),
            out_of_order_rate: from_ppm(&self.ooo_ppm),
        }
    }

    pub(crate) fn apply(&self, p: CallbackKnobsPatch) {
        if let Some(v) = p.callbacks {
            self.on.store(v, Ordering::Relaxed);
        }
        if let Some(v) = p.callback_delay_ms {
            self.delay_ms.store(v, Ordering::Relaxed);
        }
        let rates = [
            (p.duplicate_rate, &self.duplicate_ppm),
            (p.drop_rate, &self.drop_ppm),
            (p.out_of_order_rate, &self.ooo_ppm),
        ];
        for (v, a) in rates {
            if let Some(v) = v {
                a.store(to_ppm(v), Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn stats(&self) -> CallbackStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CallbackStats {
            sent: l(&self.sent),
            acked: l(&self.acked),
            failed: l(&self.failed),
            retries: l(&self.retries),
            dropped: l(&self.dropped),
            duplicated: l(&self.duplicated),
            reordered: l(&self.reordered),
        }
    }

    /// Draws the plan for one accepted payment; `None` when callbacks are off or
    /// the drop knob picked it.
    pub(crate) fn plan(&self) -> Option<Plan> {
        if !self.on.load(Ordering::Relaxed) {
            return None;
        }
        let (drop, dup_final, dup_earlier, ooo) = {
            let mut rng = self.rng.lock().ok()?;
            let mut draw = |a: &AtomicU32| rng.random_range(0..PPM) < a.load(Ordering::Relaxed);
            (
                draw(&self.drop_ppm),
                draw(&self.duplicate_ppm),
                draw(&self.duplicate_ppm),
                draw(&self.ooo_ppm),
            )
        };
        if drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let times = |dup: bool| {
            if dup {
                self.duplicated.fetch_add(1, Ordering::Relaxed);
                2
            } else {
                1
            }
        };
        let mut steps = vec![(Phase::Final, times(dup_final))];
        if ooo {
            self.reordered.fetch_add(1, Ordering::Relaxed);
            steps.push((Phase::Earlier, times(dup_earlier)));
        }
        Some(Plan {
            delay: Duration::from_millis(self.delay_ms.load(Ordering::Relaxed)),
            steps,
        })
    }
}

/// A partial update of [`CallbackKnobs`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackKnobsPatch {
    pub callbacks: Option<bool>,
    pub callback_delay_ms: Option<u64>,
    pub duplicate_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    pub out_of_order_rate: Option<f64>,
}

impl From<CallbackKnobs> for CallbackKnobsPatch {
    fn from(k: CallbackKnobs) -> Self {
        CallbackKnobsPatch {
            callbacks: Some(k.callbacks),
            callback_delay_ms: Some(k.callback_delay_ms),
            duplicate_rate: Some(k.duplicate_rate),
            drop_rate: Some(k.drop_rate),
            out_of_order_rate: Some(k.out_of_order_rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_rates_are_close_and_repeatable() {
        let k = CallbackKnobs {
            drop_rate: 0.2,
            duplicate_rate: 0.1,
            out_of_order_rate: 0.5,
            ..Default::default()
        };
        let run = || {
            let s = KnobState::new(k, Some(7));
            let plans: Vec<_> = (0..10_000).map(|_| s.plan()).collect();
            (plans, s.stats())
        };
        let (a, st) = run();
        let (b, _) = run();
        assert_eq!(a, b, "the same seed gives the same plans");
        assert!((1_800..2_200).contains(&st.dropped), "{st:?}");
        assert!((3_700..4_300).contains(&st.reordered), "{st:?}");
        let kept = a.iter().flatten().count();
        assert_eq!(kept as u64, 10_000 - st.dropped);
        for p in a.iter().flatten() {
            assert_eq!(
                p.steps[0].0,
                Phase::Final,
                "the final event always goes first"
            );
        }
    }

    #[test]
    fn off_sends_nothing_and_patch_applies() {
        let s = KnobState::new(CallbackKnobs::default(), Some(1));
        assert!(s.plan().is_some());
        s.apply(CallbackKnobsPatch {
            callbacks: Some(false),
            callback_delay_ms: Some(250),
            ..Default::default()
        });
        assert!(s.plan().is_none());
        let k = s.knobs();
        assert!(!k.callbacks);
        assert_eq!(k.callback_delay_ms, 250);
        s.apply(CallbackKnobsPatch {
            callbacks: Some(true),
            drop_rate: Some(7.0), // clamped to 1
            ..Default::default()
        });
        assert!(s.plan().is_none());
        assert_eq!(s.knobs().drop_rate, 1.0);
    }
}
