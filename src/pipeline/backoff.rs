//! Exponential backoff with jitter: attempt `n` (1-based) waits
//! `initial * 2^(n-1)`, capped at `max`, then drawn uniformly from its upper half
//! ("equal jitter": never less than half the nominal delay, so a recovering sink is
//! not hammered, and sinks retrying together drift apart).

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The nominal (un-jittered) delay after `attempt` failures.
    pub fn nominal(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        self.initial
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay to wait after `attempt` failures, jittered.
    pub fn delay(&self, attempt: u32) -> Duration {
        let d = self.nominal(attempt);
        let half = d / 2;
        let extra = rand::rng().random_range(0..=half.as_micros().min(u128::from(u64::MAX)) as u64);
        half + Duration::from_micros(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_jitters_within_the_upper_half() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
        };
        assert_eq!(b.nominal(1), Duration::from_secs(1));
        assert_eq!(b.nominal(2), Duration::from_secs(2));
        assert_eq!(b.nominal(9), Duration::from_secs(256));
        assert_eq!(b.nominal(10), Duration::from_secs(300));
        assert_eq!(b.nominal(1000), Duration::from_secs(300));
        for n in 1..40 {
            let d = b.delay(n);
            assert!(
                d >= b.nominal(n) / 2 && d <= b.nominal(n),
                "attempt {n}: {d:?}"
            );
        }
    }
}
