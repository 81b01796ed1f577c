//! Refunds at the gateway: what a [`Connector`](super::Connector) is asked and what
//! it answers. A refund always goes to the gateway and gateway payment id that took
//! the money; the connector never chooses another, and nothing here fails over.
//!
//! A dialect adds refunds by overriding two trait methods,
//! [`Connector::refund`](super::Connector::refund) and
//! [`Connector::refund_status`](super::Connector::refund_status), plus
//! [`Connector::refunds_method`](super::Connector::refunds_method) to say which
//! methods it refunds. The defaults answer "this gateway does not refund this
//! method" ([`RefundOutcome::Unsupported`] / [`RefundLookup::Unsupported`]).
//!
//! Our refund id travels to the gateway as its merchant refund reference (Razorpay
//! `receipt` + `notes.switchyard_refund_id` + `X-Refund-Idempotency`, Cashfree
//! `refund_id`, generic `refund_id` + `Idempotency-Key`): the gateway deduplicates a
//! resend on it, and its refund webhooks are matched to our row by it or by the
//! gateway's own refund id — never by the payment's id (Hyperswitch #5298).
//!
//! A gateway that limits its merchant refund id below our id's length (Juspay EC's
//! `unique_request_id` < 21 characters, EBANX's `merchant_refund_code` ≤ 20) gets
//! [`short_refund_id`]: the last characters of ours, derived again whenever needed
//! (no extra state). Our ids are `rf_` + a UUIDv7 in hex, so the tail is the UUID's
//! random part; the ledger matches such a tail back to our refund within the
//! payment (`ledger::refunds`, at least [`MIN_SHORT_REFUND_ID`] characters).

mod classify;

use time::OffsetDateTime;

use super::RefundStatus;
use super::upstream::UpstreamError;
use crate::model::Paise;

pub use classify::{refund_outcome, transport_outcome};

/// The note / metadata key carrying our refund id at the gateway.
pub const NOTE_REFUND_ID: &str = "switchyard_refund_id";

pub use crate::model::MIN_SHORT_REFUND_ID;

/// Our refund id as a gateway holding at most `max` characters of it gets it: the
/// last `max` characters (the whole id when it fits). Deterministic, so the status
/// query and the webhook parser derive the same text.
pub fn short_refund_id(refund_id: &str, max: usize) -> &str {
    let n = refund_id.chars().count();
    if n <= max {
        return refund_id;
    }
    let cut = refund_id.char_indices().nth(n - max).map_or(0, |(i, _)| i);
    &refund_id[cut..]
}

/// What we ask the gateway to refund.
#[derive(Debug, Clone, Copy)]
pub struct RefundRequest<'a> {
    /// switchyard's refund id: the merchant refund reference at the gateway.
    pub refund_id: &'a str,
    /// switchyard's payment id (the merchant reference of the payment).
    pub payment_id: &'a str,
    /// The gateway's id of the payment that took the money.
    pub gateway_payment_id: &'a str,
    pub amount: Paise,
    pub currency: &'a str,
    pub reason: Option<&'a str>,
}

/// Which refund we ask about.
#[derive(Debug, Clone, Copy)]
pub struct RefundQuery<'a> {
    pub refund_id: &'a str,
    pub payment_id: &'a str,
    pub gateway_payment_id: &'a str,
    /// The gateway's refund id, once known.
    pub gateway_refund_id: Option<&'a str>,
    /// The refund as it was asked (a gateway whose only lookup is an idempotent
    /// replay of the refund call, Adyen, resends exactly this).
    pub amount: Paise,
    pub currency: &'a str,
    /// When switchyard first asked for the refund (`None`: just now).
    pub created_at: Option<OffsetDateTime>,
}

impl<'a> From<RefundRequest<'a>> for RefundQuery<'a> {
    /// The status query for a refund just sent (the gateway's refund id not known).
    fn from(r: RefundRequest<'a>) -> Self {
        RefundQuery {
            refund_id: r.refund_id,
            payment_id: r.payment_id,
            gateway_payment_id: r.gateway_payment_id,
            gateway_refund_id: None,
            amount: r.amount,
            currency: r.currency,
            created_at: None,
        }
    }
}

/// The gateway's view of one refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReport {
    pub gateway_refund_id: Option<String>,
    pub status: RefundStatus,
    /// The refund's own bank reference (ARN / refund RRN), when given.
    pub arn: Option<String>,
    pub raw_status: String,
    pub amount: Option<Paise>,
}

/// The classified answer to a refund call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The gateway took the refund (pending, or already processed / failed).
    Accepted(RefundReport),
    /// A 4xx: the gateway refused it; no money moves.
    Declined { code: String, message: String },
    /// Nothing reached the gateway, or it documented that nothing was processed
    /// (503/429, refused credentials).
    NotSent { detail: String },
    /// Sent, no usable answer (timeout, reset, other 5xx): the refund may exist.
    /// Resolved by [`Connector::refund_status`](super::Connector::refund_status).
    Unknown { detail: String },
    /// This connector does not refund (this method).
    Unsupported,
}

impl RefundOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            RefundOutcome::Accepted(_) => "accepted",
            RefundOutcome::Declined { .. } => "declined",
            RefundOutcome::NotSent { .. } => "not_sent",
            RefundOutcome::Unknown { .. } => "unknown",
            RefundOutcome::Unsupported => "unsupported",
        }
    }
}

/// Why a refund status query gave no report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundLookup {
    /// The gateway knows no such refund.
    #[error("the gateway has no such refund")]
    NotFound,
    #[error("refund status query failed: {0}")]
    Upstream(#[from] UpstreamError),
    #[error("this connector has no refund status query")]
    Unsupported,
}

#[cfg(test)]
mod tests;
