//! Bucketed windows: one bucket per second in a ring as long as the window
//! (default `10m`). The whole-window total is kept as a running sum (a bucket's
//! counts are subtracted when its slot is reused), so the common query is O(1);
//! shorter spans (10 s, 1 m, 2 m) sum their buckets.

use super::feed::AttemptClass;

/// Upper bounds (ms) of the latency histogram bins; the last bin is open.
pub const LAT_BINS_MS: [u64; 11] = [25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2500, 5000];

const NF: usize = 10 + LAT_BINS_MS.len() + 1;

/// Counters of one second, or a sum of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats([u64; NF]);

impl Default for Stats {
    fn default() -> Self {
        Stats([0; NF])
    }
}

const ATTEMPTS: usize = 0;
const TECH: usize = 1;
const E5XX: usize = 2;
const TIMEOUTS: usize = 3;
const DECLINES: usize = 4;
const CREATED: usize = 5;
const FINAL_OK: usize = 6;
const FINAL_FAIL: usize = 7;
const LAT_N: usize = 8;
const LAT_SUM_MS: usize = 9;
const HIST: usize = 10;

impl Stats {
    pub fn attempts(&self) -> u64 {
        self.0[ATTEMPTS]
    }
    pub fn technical_failures(&self) -> u64 {
        self.0[TECH]
    }
    pub fn errors_5xx(&self) -> u64 {
        self.0[E5XX]
    }
    pub fn timeouts(&self) -> u64 {
        self.0[TIMEOUTS]
    }
    pub fn declines(&self) -> u64 {
        self.0[DECLINES]
    }
    pub fn created(&self) -> u64 {
        self.0[CREATED]
    }
    pub fn final_ok(&self) -> u64 {
        self.0[FINAL_OK]
    }
    pub fn final_fail(&self) -> u64 {
        self.0[FINAL_FAIL]
    }
    pub fn latency_samples(&self) -> u64 {
        self.0[LAT_N]
    }

    /// Mean latency in ms, when there are samples.
    pub fn latency_mean_ms(&self) -> Option<f64> {
        (self.0[LAT_N] > 0).then(|| self.0[LAT_SUM_MS] as f64 / self.0[LAT_N] as f64)
    }

    /// The p95 estimate: the upper bound of the bin holding the 95th percentile.
    pub fn latency_p95_ms(&self) -> Option<u64> {
        let n = self.0[LAT_N];
        if n == 0 {
            return None;
        }
        let target = (n * 95).div_ceil(100);
        let mut cum = 0;
        for (i, c) in self.0[HIST..].iter().enumerate() {
            cum += c;
            if cum >= target {
                return Some(LAT_BINS_MS.get(i).copied().unwrap_or(10_000));
            }
        }
        Some(10_000)
    }

    /// Success samples `(ok, total)`: final outcomes when `finals`, else initiation
    /// outcomes (created vs technical failure; business declines are not counted).
    pub fn success(&self, finals: bool) -> (u64, u64) {
        if finals {
            (self.final_ok(), self.final_ok() + self.final_fail())
        } else {
            (self.created(), self.created() + self.technical_failures())
        }
    }

    pub fn add(&mut self, o: &Stats) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a += b;
        }
    }

    fn sub(&mut self, o: &Stats) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a = a.saturating_sub(*b);
        }
    }

    pub fn record_attempt(&mut self, class: AttemptClass, latency_ms: u64) {
        self.0[ATTEMPTS] += 1;
        match class {
            AttemptClass::Created => self.0[CREATED] += 1,
            AttemptClass::Declined => self.0[DECLINES] += 1,
            AttemptClass::NotSent => {}
            AttemptClass::Error5xx => self.0[E5XX] += 1,
            AttemptClass::Timeout => self.0[TIMEOUTS] += 1,
        }
        if class.is_technical_failure() {
            self.0[TECH] += 1;
        }
        // Latency is measured on answers (a refused connection says nothing about it).
        if class != AttemptClass::NotSent {
            self.0[LAT_N] += 1;
            self.0[LAT_SUM_MS] += latency_ms;
            let bin = LAT_BINS_MS
                .iter()
                .position(|&b| latency_ms <= b)
                .unwrap_or(LAT_BINS_MS.len());
            self.0[HIST + bin] += 1;
        }
    }

    pub fn record_final(&mut self, ok: bool) {
        self.0[if ok { FINAL_OK } else { FINAL_FAIL }] += 1;
    }

    /// The counts as JSON evidence.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "attempts": self.attempts(),
            "technical_failures": self.technical_failures(),
            "errors_5xx": self.errors_5xx(),
            "timeouts": self.timeouts(),
            "declines": self.declines(),
            "created": self.created(),
            "final_successes": self.final_ok(),
            "final_failures": self.final_fail(),
            "latency_mean_ms": self.latency_mean_ms().map(|m| m.round()),
            "latency_p95_ms": self.latency_p95_ms(),
        })
    }
}

/// A ring of one-second buckets.
#[derive(Debug, Clone)]
pub struct Window {
    buckets: Vec<Stats>,
    /// The second each slot holds (`u64::MAX`: empty).
    stamps: Vec<u64>,
    total: Stats,
    /// The newest second seen.
    head: u64,
}

impl Window {
    pub fn new(secs: u64) -> Window {
        let len = secs.max(1) as usize;
        Window {
            buckets: vec![Stats::default(); len],
            stamps: vec![u64::MAX; len],
            total: Stats::default(),
            head: 0,
        }
    }

    pub fn len_secs(&self) -> u64 {
        self.buckets.len() as u64
    }

    /// Moves time forward to `sec`, expiring buckets that fell out of the window.
    pub fn advance(&mut self, sec: u64) {
        if sec <= self.head {
            return;
        }
        let len = self.len_secs();
        let from = (self.head + 1).max(sec.saturating_sub(len - 1));
        for s in from..=sec {
            let i = (s % len) as usize;
            if self.stamps[i] != u64::MAX && self.stamps[i] != s {
                self.total.sub(&self.buckets[i]);
                self.buckets[i] = Stats::default();
                self.stamps[i] = u64::MAX;
            }
        }
        self.head = sec;
    }

    fn slot(&mut self, sec: u64) -> &mut Stats {
        if sec > self.head {
            self.advance(sec);
        }
        let i = (sec % self.len_secs()) as usize;
        if self.stamps[i] != sec {
            self.total.sub(&self.buckets[i]);
            self.buckets[i] = Stats::default();
            self.stamps[i] = sec;
        }
        &mut self.buckets[i]
    }

    pub fn record_attempt(&mut self, sec: u64, class: AttemptClass, latency_ms: u64) {
        self.slot(sec).record_attempt(class, latency_ms);
        self.total.record_attempt(class, latency_ms);
    }

    pub fn record_final(&mut self, sec: u64, ok: bool) {
        self.slot(sec).record_final(ok);
        self.total.record_final(ok);
    }

    /// Everything in the window.
    pub fn total(&self) -> Stats {
        self.total
    }

    /// The last `span` seconds up to and including `now`.
    pub fn recent(&self, now: u64, span: u64) -> Stats {
        self.between((now + 1).saturating_sub(span), now + 1)
    }

    /// Seconds `[from, to)` still in the ring.
    pub fn between(&self, from: u64, to: u64) -> Stats {
        let len = self.len_secs();
        let from = from.max(to.saturating_sub(len));
        let mut s = Stats::default();
        for sec in from..to {
            let i = (sec % len) as usize;
            if self.stamps[i] == sec {
                s.add(&self.buckets[i]);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_buckets_leave_the_total() {
        let mut w = Window::new(10);
        w.record_attempt(0, AttemptClass::Created, 100);
        w.record_attempt(5, AttemptClass::NotSent, 0);
        assert_eq!(w.total().attempts(), 2);
        w.advance(10);
        assert_eq!(w.total().attempts(), 1);
        assert_eq!(w.total().technical_failures(), 1);
        assert_eq!(w.recent(10, 3).attempts(), 0);
        w.record_attempt(25, AttemptClass::Error5xx, 30);
        assert_eq!(w.total().attempts(), 1);
        assert_eq!(w.total().errors_5xx(), 1);
    }

    #[test]
    fn latency_mean_and_p95() {
        let mut s = Stats::default();
        for i in 0..100 {
            s.record_attempt(AttemptClass::Created, if i < 94 { 40 } else { 900 });
        }
        assert_eq!(s.latency_p95_ms(), Some(1000));
        assert!((s.latency_mean_ms().unwrap() - (94.0 * 40.0 + 6.0 * 900.0) / 100.0).abs() < 1e-9);
        assert_eq!(s.success(false), (100, 100));
    }
}
