//! UPI per-transaction caps, checked after the route is matched and before the
//! intent is written or any gateway is called (`[upi_limits]`, see
//! [`crate::config::limits`]): over the cap is a 422 `upi_limit_exceeded`.

use super::PaymentError;
use crate::config::Snapshot;
use crate::model::PaymentRequest;

/// `Err(UpiLimitExceeded)` when a UPI payment is above its cap on `route`.
pub(super) fn check(
    snap: &Snapshot,
    route: &str,
    req: &PaymentRequest,
) -> Result<(), PaymentError> {
    if !req.method.is_upi() {
        return Ok(());
    }
    let cap = snap.upi_limits.cap(route, &req.tags);
    if req.amount.0 > cap.0 {
        return Err(PaymentError::UpiLimitExceeded { limit: cap.0 });
    }
    Ok(())
}
