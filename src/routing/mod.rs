//! Routing: rules (first match wins) → weighted split (precomputed table, sticky
//! hash) minus unavailable gateways → a plan of primary plus fallbacks.

mod plan;
mod rules;
mod split;

pub use plan::{Plan, plan};
pub use rules::Matcher;
pub use split::{SLOTS, SplitEntry, SplitError, SplitTable, sticky_hash};

use std::time::Duration;

/// Index of a gateway in the compiled config's gateway list.
pub type GatewayIdx = usize;

/// A compiled progressive rollout: percent of the entry's weight per step; after
/// the last step the entry gets its whole weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ramp {
    pub steps: Vec<u32>,
    pub dwell: Duration,
}

/// A compiled `[[route]]`.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub matcher: Matcher,
    pub split: SplitTable,
    pub fallback: Vec<GatewayIdx>,
    /// Split entries under progressive rollout (`ramp = {..}`).
    pub ramps: Vec<(GatewayIdx, Ramp)>,
}
