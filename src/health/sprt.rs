//! The success-rate drop test: Wald's one-sided sequential probability ratio test
//! (SPRT), run per window epoch (default 10 minutes).
//!
//! H0: the gateway's success probability is the baseline `p0`; H1: it is
//! `p1 = p0 - drop`. Each outcome adds `ln(p1/p0)` (success) or
//! `ln((1-p1)/(1-p0))` (failure) to the log-likelihood ratio (LLR). Under H0 the
//! likelihood ratio is a non-negative martingale with mean 1, so by Ville's
//! inequality the chance it *ever* reaches `e^A` within an epoch is at most `e^-A`.
//! With `A = ln(epochs_per_day / alpha)` (10-minute epochs: `ln(144 / 0.001)`
//! ≈ 11.88) the false alarms over a day of epochs are at most `alpha` (union bound).
//! The LLR is floored at `ln(0.01)` (accepting H0 for now), so the evidence that a
//! healthy past piles up cannot delay the detection of a drop that starts mid-epoch;
//! the floor only makes the test more conservative per restart, and the baseline is
//! taken conservatively (two standard errors low) to cover its own noise.
//!
//! A big drop moves the LLR fast (95% → 80%: ~0.05 per outcome, ~240 outcomes); a
//! small one needs many outcomes. An epoch that ends undecided while the observed
//! rate is more than half the drop below the baseline is `inconclusive`: weights
//! hold and an alert says so; it is never a rollback.

use serde::Serialize;

/// The accept-H0 floor of the LLR: `ln(0.01)`.
pub const FLOOR: f64 = -4.605_170_185_988_091;

/// The rejection threshold for `alpha` per day with epochs of `window_secs`.
pub fn threshold(alpha: f64, window_secs: u64) -> f64 {
    let epochs_per_day = (86_400.0 / window_secs.max(1) as f64).max(1.0);
    (epochs_per_day / alpha).ln()
}

/// The baseline a gateway is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    /// Observed success rate of the baseline (0..=1).
    pub rate: f64,
    /// Outcomes behind it.
    pub samples: u64,
    /// `peers` (concurrent gateways of the same route) or `own_history`.
    pub source: &'static str,
}

impl Baseline {
    /// The rate two standard errors low: the conservative `p0`.
    pub fn conservative(&self) -> f64 {
        let n = self.samples.max(1) as f64;
        let se = (self.rate * (1.0 - self.rate) / n).sqrt();
        (self.rate - 2.0 * se).clamp(0.01, 0.999)
    }
}

/// One epoch of the test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sprt {
    pub llr: f64,
    pub max_llr: f64,
    pub ok: u64,
    pub n: u64,
    /// Second the epoch started.
    pub epoch_start: u64,
    pub p0: f64,
    pub p1: f64,
}

impl Sprt {
    pub fn new(epoch_start: u64) -> Sprt {
        Sprt {
            llr: 0.0,
            max_llr: 0.0,
            ok: 0,
            n: 0,
            epoch_start,
            p0: 0.0,
            p1: 0.0,
        }
    }

    /// Adds `ok` successes and `fail` failures under `p0` vs `p0 - drop`; returns
    /// the LLR. Nothing is added when `p1` would not be a probability.
    pub fn update(&mut self, ok: u64, fail: u64, p0: f64, drop: f64) -> f64 {
        let p1 = p0 - drop;
        self.ok += ok;
        self.n += ok + fail;
        if p1 <= 0.001 || p0 >= 1.0 {
            return self.llr;
        }
        self.p0 = p0;
        self.p1 = p1;
        let s = (p1 / p0).ln();
        let f = ((1.0 - p1) / (1.0 - p0)).ln();
        self.llr = (self.llr + ok as f64 * s + fail as f64 * f).max(FLOOR);
        self.max_llr = self.max_llr.max(self.llr);
        self.llr
    }

    /// Observed success rate of this epoch.
    pub fn rate(&self) -> Option<f64> {
        (self.n > 0).then(|| self.ok as f64 / self.n as f64)
    }

    pub fn to_json(&self, threshold: f64) -> serde_json::Value {
        serde_json::json!({
            "test": "sprt",
            "llr": round3(self.llr),
            "threshold": round3(threshold),
            "successes": self.ok,
            "samples": self.n,
            "observed_rate": self.rate().map(round3),
            "p0": round3(self.p0),
            "p1": round3(self.p1),
        })
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_for_ten_minute_epochs() {
        assert!((threshold(0.001, 600) - 11.877).abs() < 0.01);
    }

    #[test]
    fn big_drop_crosses_fast_and_healthy_stays_at_the_floor() {
        let mut s = Sprt::new(0);
        // 80% observed against 95%: about 240 outcomes.
        for _ in 0..30 {
            s.update(8, 2, 0.95, 0.02);
        }
        assert!(s.llr > threshold(0.001, 600), "{}", s.llr);
        let mut h = Sprt::new(0);
        for _ in 0..1000 {
            h.update(95, 5, 0.95, 0.02);
        }
        assert_eq!(h.llr, FLOOR);
    }

    #[test]
    fn conservative_baseline_is_lower_with_fewer_samples() {
        let a = Baseline {
            rate: 0.95,
            samples: 100,
            source: "peers",
        };
        let b = Baseline {
            rate: 0.95,
            samples: 10_000,
            source: "peers",
        };
        assert!(a.conservative() < b.conservative());
        assert!(b.conservative() < 0.95);
    }
}
