//! Refund webhooks from a sandbox gateway, in its dialect's format, signed and
//! delivered like the payment callbacks (same target, retries and counters).

use std::sync::Arc;

use serde_json::json;
use time::OffsetDateTime;

use super::Callbacks;
use super::format::Callback;
use super::send::send_one;
use crate::connectors::ConnectorKind;
use crate::sandbox::refunds::dialects::{cf_json, rzp_json};
use crate::sandbox::refunds::{SbxRefund, SbxRefundStatus};
use crate::sandbox::refunds::{adyen, ebanx, juspay_ec, paytm, phonepe};

/// The webhook body, `None` when the gateway sends none (PayU: only to a `var5` URL
/// switchyard never gives) or it cannot be signed. `secret`: for dialects that sign
/// inside the body (Paytm, Adyen's per-item HMAC).
fn body(
    kind: ConnectorKind,
    r: &SbxRefund,
    all: &[SbxRefund],
    at: OffsetDateTime,
    secret: &str,
) -> Option<Vec<u8>> {
    let status = match r.status {
        SbxRefundStatus::Pending => "pending",
        SbxRefundStatus::Processed => "processed",
        SbxRefundStatus::Failed => "failed",
    };
    let v = match kind {
        ConnectorKind::Razorpay => json!({
            "entity": "event",
            "account_id": "acc_sandbox",
            "event": format!("refund.{status}"),
            "contains": ["refund", "payment"],
            "payload": {
                "refund": { "entity": rzp_json(r) },
                "payment": { "entity": {
                    "id": r.gateway_payment_id, "entity": "payment", "currency": "INR",
                    "status": "refunded", "captured": true,
                    "notes": { "switchyard_payment_id": r.payment_id },
                }},
            },
            "created_at": at.unix_timestamp(),
        }),
        ConnectorKind::Payu => return None,
        ConnectorKind::Paytm => return paytm::webhook_body(r, secret),
        ConnectorKind::Phonepe => phonepe::webhook_body(r),
        ConnectorKind::Adyen => return adyen::webhook_body(r, secret),
        ConnectorKind::JuspayEc => {
            let v = juspay_ec::webhook_body(r, all, at);
            return Some(crate::sandbox::dialects::juspay_ec::seal(
                v.to_string().as_bytes(),
                secret,
            ));
        }
        ConnectorKind::Ebanx => return Some(ebanx::notification(r)),
        ConnectorKind::Cashfree => json!({
            "data": { "refund": cf_json(r) },
            "event_time": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "type": "REFUND_STATUS_WEBHOOK",
        }),
        // The generic dialect (and the callback-only Juspay UPI stack, which never
        // takes a refund).
        ConnectorKind::Generic | ConnectorKind::JuspayUpi => json!({
            "event_id": format!("rfevt_{}_{status}", r.gateway_refund_id),
            "type": "refund",
            "payment": {
                "id": r.gateway_payment_id,
                "merchant_txn_id": r.payment_id,
                "currency": "INR",
            },
            "refund": {
                "id": r.gateway_refund_id,
                "refund_id": r.refund_id,
                "status": match r.status {
                    SbxRefundStatus::Pending => "pending",
                    SbxRefundStatus::Processed => "succeeded",
                    SbxRefundStatus::Failed => "failed",
                },
                "amount": r.amount,
                "reference": r.arn,
            },
        }),
    };
    Some(v.to_string().into_bytes())
}

impl Callbacks {
    /// Sends one refund webhook for `r` (nothing when callbacks are off); `all`: every
    /// refund of its payment, for dialects whose webhook carries them (Juspay EC).
    pub(crate) fn refund_webhook(&self, r: &SbxRefund, all: &[SbxRefund]) {
        let Some(target) = self.target.load_full() else {
            return;
        };
        if !self.state.knobs().callbacks {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let Some(body) = body(target.kind, r, all, now, &target.secret) else {
            return;
        };
        let cb = Callback {
            event_id: format!("rfevt_{}_{:?}", r.gateway_refund_id, r.status).to_lowercase(),
            body,
            // EBANX notifies refunds in its form, like payments.
            content_type: (target.kind != ConnectorKind::Ebanx).then_some("application/json"),
        };
        let state = Arc::clone(&self.state);
        tokio::spawn(async move {
            send_one(&target, &state, &cb).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::juspay_ec::jwt::JwtKeys;

    const MERCHANT: &str = include_str!("../keys/juspay_ec_merchant_private.pem");
    const JUSPAY_PUBLIC: &str = include_str!("../keys/juspay_ec_sandbox_public.pem");

    /// A JWT-mode Juspay EC twin seals its refund webhooks like its payment ones; a
    /// Basic-mode one sends them as they are.
    #[test]
    fn juspay_ec_refund_webhooks_follow_the_webhook_mode() {
        let r = SbxRefund {
            gateway: "j".into(),
            refund_id: "rf_1".into(),
            gateway_refund_id: "JRF1".into(),
            gateway_payment_id: "ordeh_1".into(),
            payment_id: Some("sy_1".into()),
            amount: 4_000,
            captured: Some(10_000),
            status: SbxRefundStatus::Processed,
            arn: "ARN1".into(),
            calls: 1,
        };
        let at = OffsetDateTime::now_utc();
        let all = [r.clone()];
        let plain = body(ConnectorKind::JuspayEc, &r, &all, at, "u:p").unwrap();
        assert!(plain.starts_with(b"{\"") && !plain.starts_with(b"{\"JWT\""));
        let sealed = body(ConnectorKind::JuspayEc, &r, &all, at, MERCHANT).unwrap();
        let keys = JwtKeys::from_pem(MERCHANT, JUSPAY_PUBLIC).unwrap();
        let inner = keys.open(&sealed, at).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&inner).unwrap();
        assert_eq!(v["event_name"], "ORDER_REFUNDED", "{v}");
    }
}
