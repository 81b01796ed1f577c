//! The normalized `PaymentEvent` (DESIGN.md section 6): what the pipeline forwards,
//! one per accepted state change, with a deterministic `event_id` consumers
//! deduplicate on.
//!
//! [`Incoming`] is a gateway callback (or a status-check answer) already normalized
//! but not yet placed against a payment; the ledger resolves the payment, applies
//! the precedence rules and builds the [`PaymentEvent`] from both.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{PaymentStatus, Reason};

/// `evt_` + hex SHA-256 of the gateway name and the gateway's identity of the event
/// (a newline between them so `("a", "bc")` and `("ab", "c")` differ).
pub fn event_id(gateway: &str, identity: &str) -> String {
    let mut h = Sha256::new();
    h.update(gateway.as_bytes());
    h.update(b"\n");
    h.update(identity.as_bytes());
    format!("evt_{}", hex::encode(h.finalize()))
}

/// The shortest tail of one of our refund ids that the ledger matches back to it
/// (within the payment): what a gateway that limits its merchant refund id holds
/// (`connectors::refund::short_refund_id`).
pub const MIN_SHORT_REFUND_ID: usize = 16;

/// A refund's own state inside the payment's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundInfo {
    pub refund_id: Option<String>,
    /// `pending` | `succeeded` | `failed`.
    pub refund_status: String,
    /// The refund's amount in paise.
    pub amount: Option<i64>,
    /// The refund's own bank reference (ARN), when sent.
    pub reference: Option<String>,
    /// The gateway's own id of the refund (`rfnd_…`, `cf_refund_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_refund_id: Option<String>,
    /// Our refund id as the gateway echoed it (receipt / merchant refund id), or
    /// its tail where the gateway holds a short one; the ledger matches the refund
    /// row by it or by `gateway_refund_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_refund_id: Option<String>,
}

/// A callback or status answer, normalized, before precedence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incoming {
    pub event_id: String,
    pub gateway: String,
    /// `callback` or `status_check`.
    pub source: String,
    /// `payment` or `refund`.
    pub kind: String,
    /// Our payment id, when the gateway echoes it (merchant reference).
    pub payment_ref: Option<String>,
    pub merchant_order_id: Option<String>,
    pub gateway_payment_id: Option<String>,
    pub utr: Option<String>,
    pub rrn: Option<String>,
    /// The payment status this event implies (`None`: the payment's state does not
    /// change, e.g. a refund still pending).
    pub status: Option<PaymentStatus>,
    pub reason: Option<Reason>,
    pub raw_status: String,
    pub raw_code: Option<String>,
    /// Paise: the payment's amount, or for a refund event the refund's.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub payer_vpa_masked: Option<String>,
    pub tpv_failed: bool,
    pub refund: Option<RefundInfo>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Flags {
    /// Success after `failed`/`expired`/`cancelled`.
    pub late_success: bool,
    /// An older, contradicting event: stored and sent, the state was not downgraded.
    pub conflict: bool,
    /// Arrived before the ledger knew the payment; linked later.
    pub orphan: bool,
    /// The money must go back (TPV failure, or late success when configured).
    pub refund_required: bool,
    pub tpv_failed: bool,
    /// The gateway's amount or currency differs from the intent's: status kept as
    /// the gateway said, order held, an exception for reconciliation.
    pub amount_mismatch: bool,
    /// A success carrying another gateway payment id than the one stored: a second
    /// payment for the same intent (always with `refund_required`).
    pub duplicate_payment: bool,
}

/// What the order system should do now (DESIGN.md section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Fulfil,
    Cancel,
    Hold,
    Refund,
}

impl OrderAction {
    /// The decision tree: refund beats everything; a stale payment or a wrong amount
    /// holds the order; then by status. Money returned
    /// (reversed, refunded) cancels the order; a partial refund keeps it.
    pub fn decide(status: PaymentStatus, flags: Flags, stale: bool) -> OrderAction {
        use PaymentStatus as S;
        if flags.refund_required {
            return OrderAction::Refund;
        }
        if stale || flags.amount_mismatch {
            return OrderAction::Hold;
        }
        match status {
            S::Succeeded | S::PartiallyRefunded => OrderAction::Fulfil,
            S::Failed | S::Expired | S::Cancelled | S::Reversed | S::Refunded => {
                OrderAction::Cancel
            }
            S::Initiated | S::Pending | S::Deemed | S::Authorized | S::Unknown => OrderAction::Hold,
        }
    }
}

/// The event the pipeline forwards (the outbox row's JSON body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub event_id: String,
    /// `payment`, `refund` or `stale`.
    pub kind: String,
    /// `callback`, `status_check`, `watchdog` or `initiation`.
    pub source: String,
    pub payment_id: String,
    pub order_id: String,
    pub merchant_txn_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub utr: Option<String>,
    pub rrn: Option<String>,
    /// The payment's status after this event.
    pub status: PaymentStatus,
    pub previous_status: Option<PaymentStatus>,
    pub reason: Option<Reason>,
    pub raw_status: String,
    pub raw_code: Option<String>,
    /// Paise (for a refund event, the refund's amount).
    pub amount: i64,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub payer_vpa_masked: Option<String>,
    pub flags: Flags,
    /// Unresolved after every status check the watchdog may make.
    pub stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundInfo>,
    pub order_action: OrderAction,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_deterministic_and_separated() {
        assert_eq!(event_id("rzp", "e1"), event_id("rzp", "e1"));
        assert_ne!(event_id("rzp", "e1"), event_id("cf", "e1"));
        assert_ne!(event_id("a", "bc"), event_id("ab", "c"));
        assert!(event_id("a", "b").starts_with("evt_"));
    }

    #[test]
    fn order_action_tree() {
        let none = Flags::default();
        let refund = Flags {
            refund_required: true,
            ..none
        };
        use PaymentStatus as S;
        assert_eq!(
            OrderAction::decide(S::Succeeded, none, false),
            OrderAction::Fulfil
        );
        assert_eq!(
            OrderAction::decide(S::Succeeded, refund, false),
            OrderAction::Refund
        );
        assert_eq!(
            OrderAction::decide(S::Deemed, none, false),
            OrderAction::Hold
        );
        assert_eq!(
            OrderAction::decide(S::Failed, none, false),
            OrderAction::Cancel
        );
        assert_eq!(
            OrderAction::decide(S::Pending, none, true),
            OrderAction::Hold
        );
    }
}
