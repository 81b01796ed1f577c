//! What the request path reads: per route and gateway index, the share (permille
//! of the configured weight) the gateway is admitted for, published by swapping
//! one snapshot ([`ArcSwap`]). A request loads it once; admission is a table read
//! and a comparison against a second, independent hash of the sticky key, so the
//! probing/ramping share is deterministic per order (a retry lands the same way).

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use super::controller::RouteMembers;
use super::shares::RouteShares;
use crate::config::Snapshot;
use crate::metrics::Metrics;
use crate::routing::GatewayIdx;

const ADMIT_SEED: u64 = 0x4845_414c_5448_5f41; // "HEALTH_A"

/// The admission hash of a sticky key (independent of the split's slot hash).
pub fn admission_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(key.as_bytes(), ADMIT_SEED)
}

/// Shares by route index and gateway index for one config generation.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub generation: u64,
    /// `routes[route][gateway]`: permille admitted (1000 = all of its weight).
    pub routes: Vec<Vec<u16>>,
}

impl Effective {
    /// Whether `gateway` takes a request on `route` whose admission hash is `h2`.
    /// A table from another config generation admits everything (the config is
    /// the source of truth until the next publish, a moment later).
    pub fn admits(&self, generation: u64, route: usize, gateway: GatewayIdx, h2: u64) -> bool {
        if generation != self.generation {
            return true;
        }
        let share = self
            .routes
            .get(route)
            .and_then(|r| r.get(gateway))
            .copied()
            .unwrap_or(1000);
        share >= 1000 || (h2 % 1000) < u64::from(share)
    }

    /// Builds the index table for `snap` from name-keyed shares.
    pub fn build(snap: &Snapshot, shares: &[RouteShares]) -> Effective {
        let routes = snap
            .routes
            .iter()
            .map(|r| {
                let rs = shares.iter().find(|s| s.route == r.name);
                snap.gateways
                    .iter()
                    .map(|g| {
                        rs.and_then(|s| s.shares.get(&g.spec.name))
                            .copied()
                            .unwrap_or(1000)
                    })
                    .collect()
            })
            .collect();
        Effective {
            generation: snap.generation,
            routes,
        }
    }

    /// `gateway_weight{route,gateway}`: configured permille × admitted share.
    pub fn publish(&self, metrics: &Metrics, snap: &Snapshot) {
        metrics.gateway_weight.reset();
        for (ri, r) in snap.routes.iter().enumerate() {
            for e in r.split.entries() {
                let share = self
                    .routes
                    .get(ri)
                    .and_then(|s| s.get(e.gateway))
                    .copied()
                    .unwrap_or(1000);
                let w = r.split.permille(e.gateway) * usize::from(share) / 1000;
                metrics
                    .gateway_weight
                    .with_label_values(&[&r.name, &snap.gateways[e.gateway].spec.name])
                    .set(w as i64);
            }
        }
    }
}

/// The published table.
#[derive(Debug, Default)]
pub struct Admission {
    current: ArcSwap<Effective>,
}

impl Admission {
    pub fn load(&self) -> Guard<Arc<Effective>> {
        self.current.load()
    }

    pub fn store(&self, e: Effective) {
        self.current.store(Arc::new(e));
    }
}

/// The controller's view of a snapshot's routes (by name).
pub fn members(snap: &Snapshot) -> Vec<RouteMembers> {
    let name = |g: GatewayIdx| snap.gateways[g].spec.name.clone();
    snap.routes
        .iter()
        .map(|r| RouteMembers {
            name: r.name.clone(),
            split: r
                .split
                .entries()
                .iter()
                .map(|e| (name(e.gateway), e.weight))
                .collect(),
            fallback: r.fallback.iter().map(|&g| name(g)).collect(),
            ramps: r
                .ramps
                .iter()
                .map(|(g, ramp)| (name(*g), ramp.clone()))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_admits_its_fraction_and_other_generations_admit_all() {
        let e = Effective {
            generation: 3,
            routes: vec![vec![1000, 50, 0]],
        };
        let admitted = (0..10_000u64)
            .filter(|i| e.admits(3, 0, 1, admission_hash(&format!("o{i}"))))
            .count();
        assert!((400..=600).contains(&admitted), "{admitted}");
        assert!(!e.admits(3, 0, 2, 7));
        assert!(e.admits(3, 0, 0, 7));
        assert!(e.admits(4, 0, 2, 7));
    }
}
