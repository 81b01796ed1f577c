//! Compile a validated config into the immutable [`Snapshot`]: build each gateway's
//! connector and each route's precomputed split table.

use std::collections::HashMap;
use std::sync::Arc;

use super::spans::Diagnostics;
use super::validate::Checked;
use super::{Gateway, Snapshot};
use crate::connectors;
use crate::routing::{Route, SplitTable};

/// Builds the snapshot. Errors here are rare (validation already ran): a connector
/// whose HTTP client cannot be built, or a split the table refuses.
pub(crate) fn compile(
    checked: Checked,
    source: &str,
    generation: u64,
    diag: &mut Diagnostics<'_>,
) -> Option<Snapshot> {
    let mut gateways = Vec::with_capacity(checked.gateways.len());
    let mut gateway_index = HashMap::with_capacity(checked.gateways.len());
    for (i, spec) in checked.gateways.into_iter().enumerate() {
        match connectors::build(&spec) {
            Ok(connector) => {
                gateway_index.insert(spec.name.clone(), i);
                gateways.push(Gateway {
                    name: Arc::from(spec.name.as_str()),
                    spec,
                    connector,
                });
            }
            Err(e) => diag.error(
                &format!("gateway[{i}]"),
                format!("cannot build connector: {e}"),
            ),
        }
    }
    let mut routes = Vec::with_capacity(checked.routes.len());
    for (i, r) in checked.routes.into_iter().enumerate() {
        match SplitTable::new(r.split) {
            Ok(split) => routes.push(Route {
                name: r.name,
                matcher: r.matcher,
                split,
                fallback: r.fallback,
                ramps: r.ramps,
            }),
            Err(e) => diag.error(&format!("route[{i}].split"), e.to_string()),
        }
    }
    if diag.has_errors() {
        return None;
    }
    Some(Snapshot {
        generation,
        source: source.to_string(),
        bootstrap: checked.bootstrap,
        server: checked.server,
        admin_token: checked.admin_token,
        status_public: checked.status_public,
        gateways,
        gateway_index,
        routes,
        alerts: checked.alerts,
        pipeline: checked.pipeline,
        callbacks: checked.callbacks,
        watchdog: checked.watchdog,
        refunds: checked.refunds,
        health: checked.health,
        upi_limits: checked.upi_limits,
    })
}
