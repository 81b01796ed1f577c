//! Routing: rules (first match wins) → weighted split (precomputed table, sticky
//! hash) minus unavailable gateways → a plan of primary plus fallbacks.

mod plan;
mod rules;
mod split;

pub use plan::{Plan, plan};
pub use rules::Matcher;
pub use split::{SLOTS, SplitEntry, SplitError, SplitTable, sticky_hash};

use crate::config::GatewayIdx;

/// A compiled `[[route]]`.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub matcher: Matcher,
    pub split: SplitTable,
    pub fallback: Vec<GatewayIdx>,
    /// Split entries under progressive rollout (`ramp = {..}`).
    pub ramps: Vec<(GatewayIdx, crate::config::health::Ramp)>,
}
