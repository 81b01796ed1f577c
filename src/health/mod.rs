//! Gateway availability as the request path sees it: one atomic flag per gateway
//! name, read with a single load. The flags outlive config reloads (they are keyed
//! by name, not by index). The health controller (rollback) and the admin API flip
//! them; requests only read.
//!
//! [`feed`]: the bounded, never-blocking outcome feed into the health task.

pub mod feed;

pub use feed::{AttemptClass, FEED_CAPACITY, HealthFeed, Observation};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

#[derive(Debug, Default)]
pub struct Availability {
    flags: ArcSwap<HashMap<String, Arc<AtomicBool>>>,
}

impl Availability {
    /// Makes sure every name has a flag (new gateways start available); flags of
    /// gateways that still exist are kept.
    pub fn sync<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let old = self.flags.load();
        let mut next = HashMap::new();
        for n in names {
            let flag = old
                .get(n)
                .cloned()
                .unwrap_or_else(|| Arc::new(AtomicBool::new(true)));
            next.insert(n.to_string(), flag);
        }
        self.flags.store(Arc::new(next));
    }

    /// Unknown names are treated as available: the config is the source of truth.
    pub fn is_available(&self, name: &str) -> bool {
        self.flags
            .load()
            .get(name)
            .is_none_or(|f| f.load(Ordering::Relaxed))
    }

    pub fn set(&self, name: &str, available: bool) {
        if let Some(f) = self.flags.load().get(name) {
            f.store(available, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_survive_sync() {
        let a = Availability::default();
        a.sync(["a", "b"]);
        a.set("a", false);
        a.sync(["a", "c"]);
        assert!(!a.is_available("a"));
        assert!(a.is_available("c"));
    }
}
