//! Gateway dialects. A [`Connector`] speaks one gateway's API: it initiates a
//! payment, queries its status, verifies a callback's signature and parses it.
//! Amount, currency and time conversions happen here, at the edge; everything
//! inside switchyard is paise and UTC.
//!
//! Connectors never decide whether to fail over: they report an [`Outcome`] and the
//! engine applies the rules of DESIGN.md section 4.

pub mod adyen;
pub mod amount;
pub mod cashfree;
mod classify;
pub mod ebanx;
pub mod form;
pub mod generic;
pub mod juspay_ec;
pub mod juspay_upi;
pub mod npci;
pub mod paytm;
pub mod payu;
pub mod phonepe;
pub mod razorpay;
pub mod refund;
pub mod sign;
mod spec;
pub mod time_fmt;
pub mod upstream;

use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderMap;
use time::OffsetDateTime;

use crate::model::{Method, NextAction, Paise, PaymentRequest, PaymentStatus, Reason};
pub use classify::scrubbed;
pub use refund::{RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest};
pub use spec::{ConnectorKind, Credentials, GatewaySpec, Idempotency};
use upstream::{Upstream, UpstreamError};

pub use adyen::Adyen;
pub use cashfree::Cashfree;
pub use ebanx::Ebanx;
pub use generic::Generic;
pub use juspay_ec::JuspayEc;
pub use juspay_upi::JuspayUpi;
pub use paytm::Paytm;
pub use payu::Payu;
pub use phonepe::Phonepe;
pub use razorpay::Razorpay;

/// What we ask a gateway to do.
#[derive(Debug, Clone, Copy)]
pub struct InitiateRequest<'a> {
    /// switchyard's payment id: the merchant transaction id / reference at the gateway.
    pub payment_id: &'a str,
    pub idempotency_key: &'a str,
    pub request: &'a PaymentRequest,
    /// Where the gateway should send callbacks, when configured.
    pub callback_url: Option<&'a str>,
}

/// A gateway accepted the payment (it exists there now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub gateway_payment_id: Option<String>,
    pub status: PaymentStatus,
    pub next_action: NextAction,
    pub raw_status: String,
}

/// The classified result of one initiation attempt (DESIGN.md section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The gateway created the payment.
    Created(Created),
    /// A business decline (a 4xx with a decline code): returned, never failed over.
    Declined {
        code: String,
        reason: Reason,
        message: String,
    },
    /// Nothing reached the gateway (connect refused, DNS, TLS, connect timeout):
    /// safe to try the next gateway.
    NotSent { detail: String },
    /// The gateway answered 5xx. `not_processed` is true only for the answers that
    /// document that nothing happened (503, 429), which makes failover safe.
    Error5xx {
        http_status: u16,
        not_processed: bool,
        detail: String,
    },
    /// The request was written and no answer came (timeout, reset): the payment may
    /// exist at the gateway. Never failed over to another gateway.
    SentUnknown { detail: String },
}

impl Outcome {
    /// Stable label for metrics and the `attempts` list.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Created(_) => "created",
            Outcome::Declined { .. } => "declined",
            Outcome::NotSent { .. } => "not_sent",
            Outcome::Error5xx { .. } => "error_5xx",
            Outcome::SentUnknown { .. } => "sent_unknown",
        }
    }

    /// Whether another gateway may be tried after this outcome.
    pub fn may_fail_over(&self) -> bool {
        match self {
            Outcome::NotSent { .. } => true,
            Outcome::Error5xx { not_processed, .. } => *not_processed,
            _ => false,
        }
    }
}

/// The gateway's current view of a payment (status query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub status: PaymentStatus,
    pub reason: Option<Reason>,
    pub gateway_payment_id: Option<String>,
    pub utr: Option<String>,
    pub rrn: Option<String>,
    pub raw_status: String,
    pub raw_code: Option<String>,
    pub amount: Option<Paise>,
    /// The gateway says the money came from an account other than the registered
    /// one (TPV failed): the payment's money must go back (docs/MONEY.md item 6).
    pub tpv_failed: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature header {0} is missing")]
    Missing(&'static str),
    #[error("signature does not match")]
    Mismatch,
    #[error("callback timestamp is outside the tolerance window")]
    Stale,
    #[error("no webhook secret is configured for this gateway")]
    NoSecret,
}

/// How strictly to verify a callback.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Reject timestamps further than this from `now` (`None`: no replay-window check).
    pub tolerance: Option<std::time::Duration>,
    pub now: OffsetDateTime,
}

impl VerifyOptions {
    /// The one replay-window check: `at` (already parsed from the gateway's header,
    /// `None` when it would not parse) must be within the tolerance of `now`.
    /// Nothing is checked when no tolerance is configured.
    pub fn check_fresh(&self, at: Option<OffsetDateTime>) -> Result<(), SignatureError> {
        let Some(tol) = self.tolerance else {
            return Ok(());
        };
        match at {
            Some(at) if time_fmt::within(at, self.now, tol) => Ok(()),
            _ => Err(SignatureError::Stale),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("callback body is malformed: {0}")]
    Malformed(String),
}

/// A refund's own status inside the payment's events (DESIGN.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }
}

/// A callback normalized by the connector (the callbacks issue builds the full
/// `PaymentEvent` from this).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackData {
    /// The gateway's identity of this event, for the deterministic event id.
    pub gateway_event_id: String,
    /// `payment` or `refund`; `None` for an event we acknowledge and ignore.
    pub kind: Option<&'static str>,
    /// Our payment id, when the gateway echoes it (merchant reference).
    pub payment_id: Option<String>,
    pub merchant_order_id: Option<String>,
    pub gateway_payment_id: Option<String>,
    pub refund_id: Option<String>,
    /// For a refund event: the gateway's own id of the refund (`rfnd_…`, `cf_refund_id`).
    pub gateway_refund_id: Option<String>,
    /// For a refund event: our refund id as the gateway echoes it (receipt, merchant
    /// refund id). The ledger matches the refund by this or by `gateway_refund_id`,
    /// never by the payment's id.
    pub merchant_refund_id: Option<String>,
    /// For `kind == Some("refund")`: the refund's own state.
    pub refund_status: Option<RefundStatus>,
    /// The payment's unified status this event implies. For a refund event: `Refunded`
    /// when the refund succeeded (the ledger decides `partially_refunded` by amount),
    /// `Reversed` for a gateway auto-refund of an uncaptured payment, `None` while the
    /// refund is pending or when it failed (the payment's state does not change).
    pub status: Option<PaymentStatus>,
    pub reason: Option<Reason>,
    pub raw_status: String,
    pub raw_code: Option<String>,
    /// The payment's amount; for a refund event, the refund's amount.
    pub amount: Option<Paise>,
    pub currency: Option<String>,
    /// For a refund event: the refund's own bank reference (ARN), not the payment's.
    pub utr: Option<String>,
    pub rrn: Option<String>,
    /// Full payer VPA as the gateway sent it: mask (`model::mask_vpa`) before logging.
    pub payer_vpa: Option<String>,
    pub occurred_at: Option<OffsetDateTime>,
    /// Third-party validation failed (UPI.md section 5): with a success or deemed
    /// status the money must be refunded, never counted as revenue.
    pub tpv_failed: bool,
}

/// One gateway dialect.
#[async_trait]
pub trait Connector: Send + Sync {
    fn kind(&self) -> ConnectorKind;

    /// What this connector honours for a retry after an ambiguous outcome (the
    /// declaration `check` holds `idempotent = true` against).
    fn idempotency(&self) -> Idempotency {
        self.kind().idempotency()
    }

    /// Create the payment at the gateway and classify what happened.
    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome;

    /// Ask the gateway for the payment's current state.
    async fn status(
        &self,
        payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError>;

    /// Check a callback's signature over the exact raw body.
    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        opts: VerifyOptions,
    ) -> Result<(), SignatureError>;

    /// Parse a verified callback. Refund webhooks come back as `kind = "refund"`
    /// with the refund's own ids (`gateway_refund_id`, `merchant_refund_id`).
    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError>;

    /// Whether this connector refunds payments made with `method`. Default: no
    /// (a new connector refunds nothing until it implements the two calls below).
    fn refunds_method(&self, method: Method) -> bool {
        let _ = method;
        false
    }

    /// Refund (part of) a payment at this gateway, on the gateway payment id that
    /// took the money. Default: [`RefundOutcome::Unsupported`].
    async fn refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let _ = req;
        RefundOutcome::Unsupported
    }

    /// The gateway's current view of one refund. Default: [`RefundLookup::Unsupported`].
    async fn refund_status(&self, q: RefundQuery<'_>) -> Result<RefundReport, RefundLookup> {
        let _ = q;
        Err(RefundLookup::Unsupported)
    }

    /// Every event of a verified callback: one by default; a batch (Adyen's
    /// `notificationItems`, EBANX's `hash_codes`) yields several.
    fn parse_callbacks(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<CallbackData>, ParseError> {
        self.parse_callback(headers, body).map(|c| vec![c])
    }

    /// Completes a parsed event before it is applied. By default the callback carries
    /// the state and is returned as is; a gateway whose notifications carry only
    /// identifiers (EBANX) answers it with a status query here. An error means the
    /// event cannot be completed now: the callback is refused with 503 so the gateway
    /// redelivers it.
    /// A refund notification may stand for several refunds: every event is returned.
    async fn resolve_callback(&self, cd: CallbackData) -> Result<Vec<CallbackData>, UpstreamError> {
        Ok(vec![cd])
    }

    /// The body the gateway expects in its acknowledgement (Adyen: `[accepted]`);
    /// `None`: switchyard's JSON ACK.
    fn callback_ack(&self) -> Option<&'static str> {
        None
    }

    /// Whether checking a callback costs a private-key operation before the sender
    /// is known (Juspay EC's JWT webhooks without Basic auth: an RSA decryption,
    /// ~1.2 ms). The edge runs those checks off the async workers, a bounded
    /// number at a time. Default: no (HMACs, public-key verifications).
    fn verify_is_costly(&self) -> bool {
        false
    }
}

/// Builds the connector for a compiled gateway.
pub fn build(spec: &GatewaySpec) -> Result<Arc<dyn Connector>, UpstreamError> {
    build_on(spec, Upstream::new(spec)?)
}

/// The connector for `spec` whose requests are answered by `answer`, never sent
/// (the `fuzz/` targets drive every dialect's answer parsing through it).
#[cfg(feature = "fuzzing")]
pub fn build_canned(
    spec: &GatewaySpec,
    answer: upstream::Responder,
) -> Result<Arc<dyn Connector>, UpstreamError> {
    build_on(spec, Upstream::canned(spec, answer)?)
}

fn build_on(spec: &GatewaySpec, upstream: Upstream) -> Result<Arc<dyn Connector>, UpstreamError> {
    Ok(match spec.kind {
        ConnectorKind::Generic => Arc::new(Generic::new(spec, upstream)),
        ConnectorKind::Razorpay => Arc::new(Razorpay::new(spec, upstream)),
        ConnectorKind::Cashfree => Arc::new(Cashfree::new(spec, upstream)),
        ConnectorKind::JuspayUpi => Arc::new(JuspayUpi::new(spec)?),
        ConnectorKind::Adyen => Arc::new(Adyen::new(spec, upstream)),
        ConnectorKind::Ebanx => Arc::new(Ebanx::new(spec, upstream)?),
        ConnectorKind::JuspayEc => Arc::new(JuspayEc::new(spec, upstream)?),
        ConnectorKind::Payu => Arc::new(Payu::new(spec, upstream)),
        ConnectorKind::Phonepe => Arc::new(Phonepe::new(spec, upstream)),
        ConnectorKind::Paytm => Arc::new(Paytm::new(spec, upstream)),
    })
}

#[cfg(test)]
mod intl_requests;
#[cfg(test)]
mod tests;
