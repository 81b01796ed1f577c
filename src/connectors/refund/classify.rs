//! A refund call's HTTP result → [`RefundOutcome`], shared by the dialects.
//!
//! The rules mirror initiation (DESIGN.md section 4): a transport failure before
//! the write and 503/429/401/403 are `NotSent` (nothing was processed); any other
//! 4xx is a decline; other 5xx, timeouts after the write and unreadable 2xx are
//! `Unknown` — the refund may exist and is resolved by a status query, never by
//! sending it anywhere else.

use serde_json::Value;

use super::{RefundOutcome, RefundReport};
use crate::connectors::classify::body_detail;
use crate::connectors::upstream::{Response, UpstreamError, not_processed};

/// A transport failure as a refund outcome.
pub fn transport_outcome(e: UpstreamError) -> RefundOutcome {
    match e {
        UpstreamError::NotSent(d) | UpstreamError::Build(d) => RefundOutcome::NotSent { detail: d },
        UpstreamError::NotSupported(_) => RefundOutcome::Unsupported,
        UpstreamError::SentUnknown(d) | UpstreamError::BadResponse(d) => {
            RefundOutcome::Unknown { detail: d }
        }
        UpstreamError::Status { status, body } if not_processed(status) => RefundOutcome::NotSent {
            detail: format!("HTTP {status}: {body}"),
        },
        UpstreamError::Status { status, body } => RefundOutcome::Unknown {
            detail: format!("HTTP {status}: {body}"),
        },
    }
}

/// The one send → classify step of a refund call: a 2xx goes to `report` (`None`:
/// a 2xx we cannot read, so `Unknown`), a 4xx to `decline` (code, message).
pub fn refund_outcome(
    result: Result<Response, UpstreamError>,
    report: impl FnOnce(&Value) -> Option<RefundReport>,
    decline: impl FnOnce(&Value) -> (String, String),
) -> RefundOutcome {
    let r = match result {
        Err(e) => return transport_outcome(e),
        Ok(r) => r,
    };
    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    if (200..300).contains(&r.status) {
        return match report(&v) {
            Some(rep) => RefundOutcome::Accepted(rep),
            None => RefundOutcome::Unknown {
                detail: format!("2xx without a refund: {}", body_detail(&r.body)),
            },
        };
    }
    if not_processed(r.status) || r.status == 401 || r.status == 403 {
        return RefundOutcome::NotSent {
            detail: format!("HTTP {}: {}", r.status, body_detail(&r.body)),
        };
    }
    if (400..500).contains(&r.status) {
        let (code, message) = decline(&v);
        // Logged: gateways echo the payer's VPA or phone in refusals.
        let message = crate::model::scrub(&message).into_owned();
        return RefundOutcome::Declined { code, message };
    }
    RefundOutcome::Unknown {
        detail: format!("HTTP {}: {}", r.status, body_detail(&r.body)),
    }
}
