//! Sandbox refunds: each dialect's refund and refund-status endpoints, with stored
//! state (the ground truth of every refund a sandbox gateway took) and knobs.
//!
//! - A refund is keyed by the merchant's refund id: a resend with the same id
//!   answers the same refund (as Razorpay's `X-Refund-Idempotency`, Cashfree's
//!   unique `refund_id` and the generic `Idempotency-Key` do), so a retry never
//!   refunds twice.
//! - More than the payment's amount (when the sandbox knows it: its ids carry it)
//!   is refused with a 400, as a gateway would.
//! - [`RefundKnobs`]: `queued` (answer `pending`, settle after `settle_ms`, then
//!   send the refund webhook) or instant (processed in the answer, webhook at
//!   once); `fail` (refunds settle as failed); `drop_webhooks` (no webhook: only a
//!   status query tells); `timeout_next` (the next N calls are recorded and never
//!   answered); `forget_next` (the next N calls are read, dropped and never
//!   answered — the refund does not exist at the gateway).
//! - Ground truth: [`SandboxHandle::refunds`](super::SandboxHandle::refunds) and
//!   `GET /_sandbox_refunds` on the gateway's own listener; knobs by
//!   `POST /_sandbox_refunds`.

pub(crate) mod adyen;
pub(crate) mod dialects;
pub(crate) mod ebanx;
pub(crate) mod juspay_ec;
pub(crate) mod paytm;
pub(crate) mod payu;
pub(crate) mod phonepe;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::state::Shared;

/// How a sandbox gateway answers refunds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefundKnobs {
    /// Answer `pending` and settle later (the default answers processed at once).
    pub queued: bool,
    /// How long a queued refund stays pending.
    pub settle_ms: u64,
    /// Refunds settle as failed.
    pub fail: bool,
    /// No refund webhooks.
    pub drop_webhooks: bool,
    /// The next N refund calls are recorded and never answered.
    pub timeout_next: u32,
    /// The next N refund calls are dropped unrecorded and never answered.
    pub forget_next: u32,
}

/// A refund's state at the sandbox gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SbxRefundStatus {
    Pending,
    Processed,
    Failed,
}

/// One refund as the sandbox gateway holds it (ground truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SbxRefund {
    /// The gateway (sandbox) name that took the refund.
    pub gateway: String,
    /// The merchant's (switchyard's) refund id.
    pub refund_id: String,
    pub gateway_refund_id: String,
    /// The gateway payment refunded (Cashfree: the order id).
    pub gateway_payment_id: String,
    /// switchyard's payment id, when the call carried it.
    pub payment_id: Option<String>,
    pub amount: i64,
    /// The refunded payment's amount, when the sandbox knows it.
    pub captured: Option<i64>,
    pub status: SbxRefundStatus,
    pub arn: String,
    /// Refund calls received for this refund id (1 + resends).
    pub calls: u32,
}

/// What a refund call did at the sandbox.
pub(crate) enum Taken {
    /// New or the same refund again.
    Refund(SbxRefund),
    /// Above what is left of the payment.
    TooMuch,
    /// Hold the connection (timeout knob).
    Hold,
}

/// The refunds of one sandbox gateway.
#[derive(Default)]
pub(crate) struct RefundBook {
    state: Mutex<BookState>,
}

#[derive(Default)]
struct BookState {
    knobs: RefundKnobs,
    by_id: HashMap<String, SbxRefund>,
    order: Vec<String>,
    seq: u64,
}

impl RefundBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, BookState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn knobs(&self) -> RefundKnobs {
        self.lock().knobs
    }

    pub(crate) fn set_knobs(&self, k: RefundKnobs) {
        self.lock().knobs = k;
    }

    /// Every refund, in the order taken.
    pub(crate) fn all(&self) -> Vec<SbxRefund> {
        let s = self.lock();
        s.order
            .iter()
            .filter_map(|id| s.by_id.get(id).cloned())
            .collect()
    }

    pub(crate) fn get(&self, refund_id: &str) -> Option<SbxRefund> {
        let s = self.lock();
        s.by_id
            .get(refund_id)
            .or_else(|| s.by_id.values().find(|r| r.gateway_refund_id == refund_id))
            .cloned()
    }

    pub(crate) fn of_payment(&self, gateway_payment_id: &str) -> Vec<SbxRefund> {
        self.all()
            .into_iter()
            .filter(|r| r.gateway_payment_id == gateway_payment_id)
            .collect()
    }

    /// Takes one refund call. `captured`: the payment's amount when known.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn take(
        &self,
        gateway: &str,
        prefix: &str,
        refund_id: &str,
        gateway_payment_id: &str,
        payment_id: Option<&str>,
        amount: i64,
        captured: Option<i64>,
    ) -> Taken {
        let mut s = self.lock();
        if s.knobs.forget_next > 0 {
            s.knobs.forget_next -= 1;
            return Taken::Hold;
        }
        let hold = if s.knobs.timeout_next > 0 {
            s.knobs.timeout_next -= 1;
            true
        } else {
            false
        };
        if let Some(r) = s.by_id.get_mut(refund_id) {
            r.calls += 1;
            return if hold {
                Taken::Hold
            } else {
                Taken::Refund(r.clone())
            };
        }
        let taken: i64 = s
            .by_id
            .values()
            .filter(|r| r.gateway_payment_id == gateway_payment_id)
            .filter(|r| r.status != SbxRefundStatus::Failed)
            .map(|r| r.amount)
            .sum();
        if amount <= 0 || captured.is_some_and(|c| taken + amount > c) {
            return Taken::TooMuch;
        }
        s.seq += 1;
        let status = match (s.knobs.queued, s.knobs.fail) {
            (true, _) => SbxRefundStatus::Pending,
            (false, true) => SbxRefundStatus::Failed,
            (false, false) => SbxRefundStatus::Processed,
        };
        let h = xxhash_rust::xxh3::xxh3_64(refund_id.as_bytes());
        let r = SbxRefund {
            gateway: gateway.to_string(),
            refund_id: refund_id.to_string(),
            gateway_refund_id: format!("{prefix}{}x{:08x}", s.seq, h as u32),
            gateway_payment_id: gateway_payment_id.to_string(),
            payment_id: payment_id.map(str::to_string),
            amount,
            captured,
            status,
            arn: format!("ARN{:012}", h % 1_000_000_000_000),
            calls: 1,
        };
        s.by_id.insert(refund_id.to_string(), r.clone());
        s.order.push(refund_id.to_string());
        if hold { Taken::Hold } else { Taken::Refund(r) }
    }

    /// Settles a pending refund (as the knobs say).
    fn settle(&self, refund_id: &str) -> Option<SbxRefund> {
        let mut s = self.lock();
        let fail = s.knobs.fail;
        let r = s.by_id.get_mut(refund_id)?;
        if r.status != SbxRefundStatus::Pending {
            return None;
        }
        r.status = if fail {
            SbxRefundStatus::Failed
        } else {
            SbxRefundStatus::Processed
        };
        Some(r.clone())
    }
}

/// After a refund was taken: its webhooks, now (final) or after the settle delay.
pub(crate) fn after_take(shared: &Arc<Shared>, r: &SbxRefund, new: bool) {
    if !new {
        return;
    }
    let knobs = shared.refunds.knobs();
    if r.status != SbxRefundStatus::Pending {
        if !knobs.drop_webhooks {
            let all = shared.refunds.of_payment(&r.gateway_payment_id);
            shared.callbacks.refund_webhook(r, &all);
        }
        return;
    }
    let (s, id) = (Arc::clone(shared), r.refund_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(knobs.settle_ms)).await;
        if let Some(done) = s.refunds.settle(&id)
            && !s.refunds.knobs().drop_webhooks
        {
            let all = s.refunds.of_payment(&done.gateway_payment_id);
            s.callbacks.refund_webhook(&done, &all);
        }
    });
}
