//! Retry budget: failovers are held to a share of *recent* real initiations so an
//! outage can never turn into a retry storm.
//!
//! This is tower's own [`TpsBudget`] (`tower::retry::budget`), used directly: a
//! deposit counts for `WINDOW` (10 s, in ten slots) and then expires, so a quiet
//! hour cannot bank retries for the next burst; `MIN_PER_SEC` retries a second stay
//! available to a quiet service. It runs on tokio's clock, so tests use paused
//! time. Why tower's and not our own: it is the reference implementation of exactly
//! this policy (Finagle's), lock-free on the hot path, and already a dependency.
//! The one thing it lacks is a live percentage: `server.retry_budget_percent` can
//! change on reload, so [`RetryBudget`] rebuilds the inner budget (an empty
//! window) when the percentage it is given differs from the one it was built with.
//!
//! Only real initiations deposit (the caller deposits after the intent row is new):
//! idempotent replays, conflicts and requests refused with a 4xx before any gateway
//! call do not earn retries.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tower::retry::budget::{Budget, TpsBudget};

/// How long a deposit counts.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Retries a second allowed without any deposit.
pub const MIN_PER_SEC: u32 = 1;

struct Inner {
    percent: u32,
    budget: TpsBudget,
}

impl Inner {
    fn new(percent: u32) -> Self {
        // TpsBudget takes a ratio in 0..=1000; the config allows 0..=100 per cent.
        let ratio = percent.min(100) as f32 / 100.0;
        Inner {
            percent,
            budget: TpsBudget::new(WINDOW, MIN_PER_SEC, ratio),
        }
    }
}

pub struct RetryBudget {
    inner: ArcSwap<Inner>,
}

impl std::fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.inner.load();
        f.debug_struct("RetryBudget")
            .field("percent", &i.percent)
            .field("budget", &i.budget)
            .finish()
    }
}

impl RetryBudget {
    /// A budget allowing `percent`% of recent initiations to be retried.
    pub fn new(percent: u32) -> Self {
        RetryBudget {
            inner: ArcSwap::from_pointee(Inner::new(percent)),
        }
    }

    fn current(&self, percent: u32) -> Arc<Inner> {
        let cur = self.inner.load_full();
        if cur.percent == percent {
            return cur;
        }
        let fresh = Arc::new(Inner::new(percent));
        self.inner.store(Arc::clone(&fresh));
        fresh
    }

    /// Called once per real initiation with the configured percentage.
    pub fn deposit(&self, percent: u32) {
        self.current(percent).budget.deposit();
    }

    /// Takes one retry from the budget; false when the budget is spent.
    pub fn try_withdraw(&self) -> bool {
        self.inner.load().budget.withdraw()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reserve: MIN_PER_SEC for every second of the window.
    const RESERVE: usize = (MIN_PER_SEC as usize) * WINDOW.as_secs() as usize;

    fn drain(b: &RetryBudget) -> usize {
        (0..100_000).take_while(|_| b.try_withdraw()).count()
    }

    #[tokio::test(start_paused = true)]
    async fn holds_retries_to_the_percentage() {
        let b = RetryBudget::new(20);
        for _ in 0..1000 {
            b.deposit(20);
        }
        assert_eq!(drain(&b), 200 + RESERVE);
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_expire_after_the_window() {
        let b = RetryBudget::new(20);
        // A long quiet-but-busy hour must not bank retries for the next burst.
        for _ in 0..10_000 {
            b.deposit(20);
        }
        tokio::time::advance(WINDOW + Duration::from_secs(1)).await;
        assert_eq!(drain(&b), RESERVE, "old deposits expired; only the reserve");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_percent_leaves_only_the_reserve() {
        let b = RetryBudget::new(0);
        for _ in 0..1000 {
            b.deposit(0);
        }
        assert_eq!(drain(&b), RESERVE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_percentage_takes_effect() {
        let b = RetryBudget::new(20);
        for _ in 0..100 {
            b.deposit(50);
        }
        assert_eq!(drain(&b), 50 + RESERVE);
    }
}
