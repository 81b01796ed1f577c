//! Retry budget: failovers are held to a share of recent requests so an outage can
//! never turn into a retry storm (the idea of tower's `retry::budget`, as integer
//! milli-tokens). Every request deposits `percent`% of a token; every retry
//! withdraws one whole token. A small reserve lets a quiet service still fail over.

use std::sync::atomic::{AtomicI64, Ordering};

const TOKEN: i64 = 1000;

#[derive(Debug)]
pub struct RetryBudget {
    balance: AtomicI64,
    max: i64,
}

impl RetryBudget {
    /// `reserve` retries are available at start; the balance never exceeds `cap` retries.
    pub fn new(reserve: i64, cap: i64) -> Self {
        RetryBudget {
            balance: AtomicI64::new(reserve * TOKEN),
            max: cap * TOKEN,
        }
    }

    /// Called once per request with the configured percentage.
    pub fn deposit(&self, percent: u32) {
        let add = i64::from(percent) * TOKEN / 100;
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((b + add).min(self.max))
            });
    }

    /// Takes one retry from the budget; false when the budget is spent.
    pub fn try_withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |b| {
                (b >= TOKEN).then_some(b - TOKEN)
            })
            .is_ok()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(10, 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_retries_to_the_percentage() {
        let b = RetryBudget::new(0, 1000);
        let mut retries = 0;
        for _ in 0..1000 {
            b.deposit(20);
            if b.try_withdraw() {
                retries += 1;
            }
        }
        assert_eq!(retries, 200);
    }

    #[test]
    fn reserve_then_exhausted() {
        let b = RetryBudget::new(2, 10);
        assert!(b.try_withdraw());
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw());
    }

    #[test]
    fn capped() {
        let b = RetryBudget::new(0, 3);
        for _ in 0..100 {
            b.deposit(100);
        }
        assert_eq!((0..10).filter(|_| b.try_withdraw()).count(), 3);
    }
}
