//! The orphan sweep: callbacks that never linked to a payment are forwarded to
//! reconciliation after `callbacks.orphan_grace` (see [`crate::ledger::orphans`]).
//! Runs on the watchdog's loop.

use time::OffsetDateTime;

use super::Callbacks;
use crate::ledger::LedgerError;
use crate::ledger::orphans::forward_due;

/// Most orphans forwarded per sweep.
const SWEEP_LIMIT: usize = 256;

/// Forwards the orphans older than the grace; returns how many.
pub async fn sweep(state: &Callbacks, now: OffsetDateTime) -> Result<usize, LedgerError> {
    let grace = state.config.load().callbacks.orphan_grace;
    let older = now - grace;
    let sent = state
        .ledger
        .write(move |c| forward_due(c, older, now, SWEEP_LIMIT))
        .await?;
    for e in &sent {
        state.count(&e.gateway, "orphan_forwarded");
        tracing::warn!(gateway = %e.gateway, event_id = %e.event_id,
            "orphan callback never linked; forwarded on hold for reconciliation");
    }
    Ok(sent.len())
}
