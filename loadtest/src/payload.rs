//! Request bodies: realistic `POST /v1/payments` initiations with distinct order ids and
//! idempotency keys.
//!
//! switchyard rejects unknown fields, and the generic dialect requires `merchant_txn_id`,
//! so no single body is valid for both. `switchyard` sends what a checkout sends;
//! `generic` sends what switchyard itself forwards to a generic-dialect gateway (the same
//! fields plus `merchant_txn_id`), so a proxy in front of a sandbox sees the request
//! switchyard would have produced.

use std::sync::Arc;
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
    /// [`crate::stack::WEBHOOK_SECRET`] by the generic connector's own function. For
    /// the payments of [`crate::Plan::callbacks`] when given (the `callbacks` scenario
    /// creates them first), else for made-up payments (orphans to switchyard).
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

/// A payment switchyard created, as its `POST /v1/payments` answer names it: what a
/// callback for it carries (the generic dialect links a callback to the payment by
/// `merchant_txn_id` = switchyard's `payment_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    pub payment_id: String,
    pub gateway_payment_id: String,
    pub order_id: String,
    pub amount: u64,
}

impl CreatedPayment {
    /// From a 2xx answer's body; `None` when a field is missing.
    pub fn from_answer(body: &[u8]) -> Option<CreatedPayment> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        Some(CreatedPayment {
            payment_id: v.get("payment_id")?.as_str()?.to_string(),
            gateway_payment_id: v.get("gateway_payment_id")?.as_str()?.to_string(),
            order_id: v.get("order_id")?.as_str()?.to_string(),
            amount: v.get("amount")?.as_u64()?,
        })
    }
}

/// Builds bodies for one worker.
#[derive(Debug, Clone)]
pub struct Payloads {
    kind: TargetKind,
    prefix: String,
    /// Callbacks: the `seq`-th callback is for the `seq`-th of these payments.
    payments: Option<Arc<[CreatedPayment]>>,
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
            payments: None,
        }
    }

    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// Callbacks for these payments (the `seq`-th payload for the `seq`-th payment).
    pub fn for_payments(mut self, payments: Option<Arc<[CreatedPayment]>>) -> Self {
        self.payments = payments;
        self
    }

    /// The `seq`-th payload of this worker (distinct for every `(run, worker, seq)`).
    pub fn make(&self, seq: u64) -> Payload {
        // 1.00 .. 4,999.99 rupees, spread by a cheap multiplicative hash of seq.
        let amount = 100 + (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 499_900;
        let order_id = format!("{}n{seq}", self.prefix);
        if self.kind == TargetKind::Callback {
            let created = usize::try_from(seq)
                .ok()
                .and_then(|i| self.payments.as_deref()?.get(i));
            return match created {
                Some(p) => callback(&format!("{}c{seq}", self.prefix), p),
                None => callback(
                    &order_id,
                    &CreatedPayment {
                        payment_id: format!("sy_{order_id}"),
                        gateway_payment_id: format!("gw_{order_id}"),
                        order_id: order_id.clone(),
                        amount,
                    },
                ),
            };
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

/// A signed generic-dialect `succeeded` callback with gateway event id `evt_<event>`
/// for payment `p`.
fn callback(event: &str, p: &CreatedPayment) -> Payload {
    use switchyard::connectors::generic::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let body = format!(
        r#"{{"event_id":"evt_{event}","type":"payment","payment":{{"id":"{gid}","merchant_txn_id":"{pid}","order_id":"{oid}","status":"succeeded","reason":null,"npci_code":null,"amount":{amount},"currency":"INR","utr":"503418662471","rrn":"503418662471","payer_vpa":null,"occurred_at":"2026-01-01T00:00:00Z"}}}}"#,
        gid = p.gateway_payment_id,
        pid = p.payment_id,
        oid = p.order_id,
        amount = p.amount,
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

    #[test]
    fn callbacks_name_the_created_payments() {
        let answer = br#"{"payment_id":"pay_1","order_id":"o1","gateway":"a","gateway_payment_id":"gen_1","status":"initiated","amount":250}"#;
        let created = CreatedPayment::from_answer(answer).unwrap();
        assert_eq!(created.payment_id, "pay_1");
        assert!(CreatedPayment::from_answer(br#"{"error":{}}"#).is_none());
        let list: Arc<[CreatedPayment]> = vec![created].into();
        let p = Payloads::new(TargetKind::Callback, "abcd1234", 0).for_payments(Some(list));
        let v: serde_json::Value = serde_json::from_slice(&p.make(0).body).unwrap();
        assert_eq!(v["payment"]["merchant_txn_id"], "pay_1");
        assert_eq!(v["payment"]["id"], "gen_1");
        assert_eq!(v["payment"]["amount"], 250);
        // Past the list: a made-up payment (an orphan to switchyard).
        let w: serde_json::Value = serde_json::from_slice(&p.make(1).body).unwrap();
        assert!(
            w["payment"]["merchant_txn_id"]
                .as_str()
                .unwrap()
                .starts_with("sy_")
        );
        assert_ne!(v["event_id"], w["event_id"]);
    }
}
