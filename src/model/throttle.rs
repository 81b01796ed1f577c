//! A log throttle: at most one line per interval for a noisy event, carrying how
//! many were suppressed since the last one. Anything an outsider can trigger at
//! will (a forged callback, a refused connection) logs through one of these, so
//! log volume is bounded whatever the request rate (issue 16: 40,000 forged
//! callbacks a second wrote 180 MB of logs in 10 s).

use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// One throttle per event kind (and key: a gateway's name).
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub const fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// `Some(n)` when a line may be written now, `n` being the events suppressed
    /// since the last line; `None` (counted) otherwise.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    pub fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match s.last {
            Some(t) if now.saturating_duration_since(t) < self.every => {
                s.suppressed += 1;
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_suppressed_count() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(t.allow_at(t0), Some(0));
        for i in 1..1000 {
            assert_eq!(t.allow_at(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(t.allow_at(t0 + Duration::from_secs(10)), Some(999));
        assert_eq!(t.allow_at(t0 + Duration::from_secs(11)), None);
    }
}
