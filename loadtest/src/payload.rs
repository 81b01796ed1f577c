//! Request bodies: realistic `POST /v1/payments` initiations with distinct order ids and
//! idempotency keys.
//!
//! switchyard rejects unknown fields, and the generic dialect requires `merchant_txn_id`,
//! so no single body is valid for both. `switchyard` sends what a checkout sends;
//! `generic` sends what switchyard itself forwards to a generic-dialect gateway (the same
//! fields plus `merchant_txn_id`), so a proxy in front of a sandbox sees the request
//! switchyard would have produced.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;

/// What the target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// switchyard's API: `{order_id, amount, currency, method}`.
    Switchyard,
    /// The generic gateway dialect (a sandbox, directly or through nginx): the same plus
    /// `merchant_txn_id`.
    Generic,
    /// A signed generic-dialect callback (`POST /v1/callbacks/{gateway}`): a final
    /// `succeeded` payment event with a distinct event id, signed with
    /// [`crate::stack::WEBHOOK_SECRET`] by the generic connector's own function.
    Callback,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Switchyard => "switchyard",
            TargetKind::Generic => "generic",
            TargetKind::Callback => "callback",
        }
    }
}

/// A run-unique prefix so keys never collide with an earlier run against the same ledger.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    format!("{:08x}", mixed & 0xffff_ffff)
}

/// Builds bodies for one worker.
#[derive(Debug, Clone)]
pub struct Payloads {
    kind: TargetKind,
    prefix: String,
}

/// One request's body, idempotency key (empty: none) and extra headers.
pub struct Payload {
    pub body: Bytes,
    pub idempotency_key: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Payloads {
    pub fn new(kind: TargetKind, run_id: &str, worker: usize) -> Self {
        Payloads {
            kind,
            prefix: format!("lt{run_id}w{worker}"),
        }
    }

    /// The `seq`-th payload of this worker (distinct for every `(run, worker, seq)`).
    pub fn make(&self, seq: u64) -> Payload {
        // 1.00 .. 4,999.99 rupees, spread by a cheap multiplicative hash of seq.
        let amount = 100 + (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 499_900;
        let order_id = format!("{}n{seq}", self.prefix);
        if self.kind == TargetKind::Callback {
            return callback(&order_id, amount);
        }
        let body = match self.kind {
            TargetKind::Switchyard => format!(
                r#"{{"order_id":"{order_id}","amount":{amount},"currency":"INR","method":"upi_intent"}}"#
            ),
            TargetKind::Generic | TargetKind::Callback => format!(
                r#"{{"merchant_txn_id":"sy_{order_id}","order_id":"{order_id}","amount":{amount},"currency":"INR","method":"upi_intent"}}"#
            ),
        };
        Payload {
            body: Bytes::from(body),
            idempotency_key: format!("k-{order_id}"),
            headers: Vec::new(),
        }
    }
}

/// A signed generic-dialect `succeeded` callback for payment `sy_<order_id>`.
fn callback(order_id: &str, amount: u64) -> Payload {
    use switchyard::connectors::generic::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let body = format!(
        r#"{{"event_id":"evt_{order_id}","type":"payment","payment":{{"id":"gw_{order_id}","merchant_txn_id":"sy_{order_id}","order_id":"{order_id}","status":"succeeded","reason":null,"npci_code":null,"amount":{amount},"currency":"INR","utr":"503418662471","rrn":"503418662471","payer_vpa":null,"occurred_at":"2026-01-01T00:00:00Z"}}}}"#
    );
    let ts = i64::try_from(now).unwrap_or(0);
    let sig = sign_callback(crate::stack::WEBHOOK_SECRET, ts, body.as_bytes());
    Payload {
        body: Bytes::from(body),
        idempotency_key: String::new(),
        headers: vec![(TIMESTAMP_HEADER, ts.to_string()), (SIGNATURE_HEADER, sig)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_and_valid_json() {
        let p = Payloads::new(TargetKind::Switchyard, "abcd1234", 3);
        let a = p.make(1);
        let b = p.make(2);
        assert_ne!(a.idempotency_key, b.idempotency_key);
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["method"], "upi_intent");
        assert!(v["order_id"].as_str().unwrap().len() <= 40);
        assert!(v["amount"].as_i64().unwrap() >= 100);
        let g = Payloads::new(TargetKind::Generic, "abcd1234", 3).make(1);
        let v: serde_json::Value = serde_json::from_slice(&g.body).unwrap();
        assert!(v["merchant_txn_id"].is_string());
    }
}
