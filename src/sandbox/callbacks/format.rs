//! What every dialect's callbacks share: the phase, the stable event id, helpers for
//! the bodies. Each dialect's body and signed headers live with its routes in
//! `sandbox/dialects/<gateway>.rs` (its `DIALECT`).

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::offset;

use super::Accepted;
use crate::connectors::ConnectorKind;
use crate::sandbox::dialects;

/// Which event of a payment a callback reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The final outcome (success or failure, as the sandbox's status answer says).
    Final,
    /// An earlier, older event (pending / authorized / user dropped), one second before
    /// the final one: sent after it when the out-of-order knob picks the payment.
    Earlier,
    /// A failure two seconds before a success (ground-truth runs: "success after an
    /// earlier failure"), sent before the final event.
    FailedFirst,
}

/// One callback, ready to sign and send (the same bytes on every redelivery).
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    /// Stable across redeliveries and duplicates (the gateway's event id).
    pub event_id: String,
    pub body: Vec<u8>,
    /// Another `Content-Type` than the dialect's callbacks' (Paytm's JSON refund webhooks).
    pub content_type: Option<&'static str>,
}

pub(crate) fn s(v: &str) -> Value {
    Value::from(v)
}

pub(crate) fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::Null, Value::from)
}

pub(crate) fn rrn(a: &Accepted) -> String {
    format!(
        "{:012}",
        xxhash_rust::xxh3::xxh3_64_with_seed(a.gateway_payment_id.as_bytes(), 7)
            % 1_000_000_000_000
    )
}

fn event_id(a: &Accepted, phase: Phase) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(a.gateway_payment_id.as_bytes());
    let p = match phase {
        Phase::Final => "f",
        Phase::Earlier => "e",
        Phase::FailedFirst => "x",
    };
    format!("evt_sbx{h:016x}{p}")
}

/// Builds the callback body for `phase` of an accepted payment.
pub(crate) fn build(kind: ConnectorKind, a: &Accepted, phase: Phase, secret: &str) -> Callback {
    let at = match phase {
        Phase::Final => a.at,
        Phase::Earlier => a.at - time::Duration::seconds(1),
        Phase::FailedFirst => a.at - time::Duration::seconds(2),
    };
    let event_id = event_id(a, phase);
    let failed;
    let (a, phase) = if phase == Phase::FailedFirst {
        failed = Accepted {
            succeeded: false,
            ..a.clone()
        };
        (&failed, Phase::Final)
    } else {
        (a, phase)
    };
    let body = (dialects::of(kind).callback_body)(a, phase, at, &event_id, secret);
    Callback {
        event_id,
        body,
        content_type: None,
    }
}

/// The signature (and companion) headers for one delivery attempt, signed now.
pub(crate) fn headers(
    kind: ConnectorKind,
    secret: &str,
    cb: &Callback,
    attempt: u32,
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    (dialects::of(kind).callback_headers)(secret, cb, attempt, now)
}

pub(crate) fn ist(t: OffsetDateTime) -> String {
    t.to_offset(offset!(+5:30))
        .format(&Rfc3339)
        .unwrap_or_default()
}
