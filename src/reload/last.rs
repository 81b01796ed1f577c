//! The last reload's result, remembered for the status page (`GET /status`): when,
//! what asked for it, whether it applied, and its first line of explanation.

use std::sync::Mutex;

use time::OffsetDateTime;

/// One reload attempt as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastReload {
    pub at: OffsetDateTime,
    /// `sighup`, `file_watch` or `admin`.
    pub trigger: &'static str,
    pub ok: bool,
    /// The generation in force after the attempt.
    pub generation: u64,
    /// The changes applied (ok) or the errors that refused it (first few).
    pub lines: Vec<String>,
}

/// Lines kept per attempt (a broken file can have dozens of errors).
const LINES_KEPT: usize = 5;

/// Holds the last attempt; written by the reload path, read by the status page.
#[derive(Debug, Default)]
pub struct LastSlot(Mutex<Option<LastReload>>);

impl LastSlot {
    pub fn record(&self, trigger: &'static str, ok: bool, generation: u64, lines: &[String]) {
        let entry = LastReload {
            at: OffsetDateTime::now_utc(),
            trigger,
            ok,
            generation,
            lines: lines.iter().take(LINES_KEPT).cloned().collect(),
        };
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry);
    }

    pub fn get(&self) -> Option<LastReload> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_attempt_and_a_few_lines() {
        let slot = LastSlot::default();
        assert!(slot.get().is_none());
        slot.record("admin", true, 2, &["route default: a 500‰ → 800‰".into()]);
        let many: Vec<String> = (0..20).map(|i| format!("error {i}")).collect();
        slot.record("sighup", false, 2, &many);
        let last = slot.get().unwrap();
        assert!(!last.ok);
        assert_eq!(last.trigger, "sighup");
        assert_eq!(last.lines.len(), LINES_KEPT);
    }
}
