//! Adyen refunds (Checkout API v71: docs.adyen.com `online-payments/refund`, the
//! OpenAPI spec Adyen/adyen-openapi `json/CheckoutService-v71.json`
//! `post-payments-paymentPspReference-refunds`, `development-resources/api-idempotency`):
//! - `POST /v71/payments/{paymentPspReference}/refunds` with `Idempotency-Key` = our
//!   refund id and `{merchantAccount, amount: {currency, value (minor units)},
//!   reference (our refund id; ≤ 80 characters)}`. The answer is 201
//!   `{pspReference (the refund's own), paymentPspReference, reference, status:
//!   "received", amount}`: Adyen only received it. The outcome comes by the `REFUND`
//!   (`success` true / false) or `REFUND_FAILED` webhook (`webhook.rs`), whose
//!   `pspReference` is the refund's and `originalReference` the payment's.
//! - Errors: `{status, errorCode, message, errorType}` — 422 validation (a decline),
//!   401 / 403 security (nothing processed).
//! - There is no refund lookup: Adyen publishes no query for a modification. Its
//!   documented way to settle a call left without an answer is to send it again
//!   with the same `Idempotency-Key` (the first answer comes back and nothing is
//!   processed twice; keys are kept at least 7 days — 31 in the current docs — per
//!   company account). [`Adyen::query_refund`] does exactly that: it answers the
//!   refund's `pspReference` (`received`: pending) and, when the first call never
//!   arrived, makes it now. It never reports a final state — that is the webhook's —
//!   and is not replayed past [`REPLAY_WINDOW`] after the first call.
//!
//! Refunded methods: the UPI ones, whose gateway payment id is the payment's
//! `pspReference`. Card and netbanking go through a payment link, whose id (`PL…`)
//! is not the payment's `pspReference` the refund call needs: not refunded here.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Adyen;
use super::request::amount;
use super::response::{decline_info, minor_units};
use crate::connectors::RefundStatus;
use crate::connectors::classify::id_str;
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
};
use crate::connectors::upstream::UpstreamError;
use crate::model::Paise;

/// How long after the first call a refund is still replayed on its idempotency key
/// (Adyen keeps keys at least this long).
pub const REPLAY_WINDOW: time::Duration = time::Duration::days(7);

/// `/payments/{paymentPspReference}/refunds` (under `/v71`).
pub fn refund_path(payment_psp: &str) -> String {
    format!("/payments/{payment_psp}/refunds")
}

/// The refund request body: the same bytes for the first call and every replay.
pub fn refund_body(merchant_account: &str, refund_id: &str, value: Paise, currency: &str) -> Value {
    json!({
        "merchantAccount": merchant_account,
        "amount": amount(value, currency),
        "reference": refund_id,
    })
}

/// A 2xx refund answer (`status: received`) → a pending refund with Adyen's id.
pub fn refund_report(v: &Value) -> Option<RefundReport> {
    let psp = v.get("pspReference").and_then(id_str)?;
    let raw = v
        .get("status")
        .and_then(id_str)
        .unwrap_or_else(|| "received".into());
    Some(RefundReport {
        gateway_refund_id: Some(psp),
        // `received` is all the answer ever says.
        status: RefundStatus::Pending,
        arn: None,
        raw_status: raw,
        amount: v.pointer("/amount/value").and_then(minor_units),
    })
}

fn decline(v: &Value) -> (String, String) {
    let d = decline_info(v);
    (d.code, d.message)
}

impl Adyen {
    async fn send_refund(
        &self,
        refund_id: &str,
        payment_psp: &str,
        value: Paise,
        currency: &str,
    ) -> RefundOutcome {
        let body = refund_body(self.merchant_account(), refund_id, value, currency);
        let rb = self.post(&refund_path(payment_psp), refund_id, &body);
        refund_outcome(self.upstream.send(rb).await, refund_report, decline)
    }

    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        self.send_refund(
            req.refund_id,
            req.gateway_payment_id,
            req.amount,
            req.currency,
        )
        .await
    }

    /// The idempotent replay of the refund call (see the module docs).
    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        let now = OffsetDateTime::now_utc();
        if q.created_at.is_some_and(|t| now - t > REPLAY_WINDOW) {
            return Err(RefundLookup::Upstream(UpstreamError::NotSupported(
                "adyen: past the idempotency window; the webhook decides".into(),
            )));
        }
        match self
            .send_refund(q.refund_id, q.gateway_payment_id, q.amount, q.currency)
            .await
        {
            RefundOutcome::Accepted(rep) => Ok(rep),
            RefundOutcome::Declined { code, message } => {
                Err(RefundLookup::Upstream(UpstreamError::Status {
                    status: 422,
                    body: format!("{code}: {message}"),
                }))
            }
            RefundOutcome::NotSent { detail } => {
                Err(RefundLookup::Upstream(UpstreamError::NotSent(detail)))
            }
            RefundOutcome::Unknown { detail } => {
                Err(RefundLookup::Upstream(UpstreamError::SentUnknown(detail)))
            }
            RefundOutcome::Unsupported => Err(RefundLookup::Unsupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's example request (`post-payments-paymentPspReference-refunds-refund`:
    /// `{"amount":{"currency":"EUR","value":2500},"reference":"YOUR_UNIQUE_REFERENCE",
    /// "merchantAccount":"YOUR_MERCHANT_ACCOUNT"}`), with our refund id as the reference.
    #[test]
    fn refund_body_golden() {
        let b = refund_body(
            "YOUR_MERCHANT_ACCOUNT",
            "YOUR_UNIQUE_REFERENCE",
            Paise(2500),
            "EUR",
        );
        assert_eq!(
            b,
            json!({"amount": {"currency": "EUR", "value": 2500},
                   "reference": "YOUR_UNIQUE_REFERENCE", "merchantAccount": "YOUR_MERCHANT_ACCOUNT"})
        );
        assert_eq!(
            refund_path("993617894903480A"),
            "/payments/993617894903480A/refunds"
        );
        // Replays send the same bytes.
        assert_eq!(
            b.to_string(),
            refund_body(
                "YOUR_MERCHANT_ACCOUNT",
                "YOUR_UNIQUE_REFERENCE",
                Paise(2500),
                "EUR"
            )
            .to_string()
        );
    }

    /// The spec's example answer (`…-refunds-refund-201`).
    #[test]
    fn received_answer_is_pending_with_the_refunds_psp() {
        let v = json!({"merchantAccount": "YOUR_MERCHANT_ACCOUNT",
            "paymentPspReference": "993617894903480A", "reference": "YOUR_UNIQUE_REFERENCE",
            "pspReference": "993617894906488A", "status": "received",
            "amount": {"currency": "EUR", "value": 2500}});
        let r = refund_report(&v).unwrap();
        assert_eq!(r.status, RefundStatus::Pending);
        assert_eq!(r.gateway_refund_id.as_deref(), Some("993617894906488A"));
        assert_eq!(
            (r.raw_status.as_str(), r.amount),
            ("received", Some(Paise(2500)))
        );
        assert!(refund_report(&json!({"status": 422, "errorCode": "137"})).is_none());
        // The spec's generic 422: a decline with Adyen's code.
        let e = json!({"status": 422, "errorCode": "14_030", "message": "Return URL is missing.",
            "errorType": "validation", "pspReference": "8816118280275544"});
        assert_eq!(
            decline(&e),
            ("14_030".into(), "Return URL is missing.".into())
        );
    }

    /// The spec's `REFUND` (success false) and `REFUND_FAILED` examples
    /// (Adyen/adyen-openapi `json/Webhooks-v1.json`): refund events with the
    /// refund's own `pspReference` and the payment's `originalReference`.
    #[test]
    fn refund_notifications_from_the_spec() {
        use super::super::webhook::parse_item;
        let item = |code: &str, success: &str, reason: &str| {
            json!({"amount": {"currency": "EUR", "value": 1000}, "eventCode": code,
                "eventDate": "2021-01-01T01:00:00+01:00", "merchantAccountCode": "YOUR_MERCHANT_ACCOUNT",
                "merchantReference": "YOUR_MERCHANT_REFERENCE", "originalReference": "9913140798220028",
                "paymentMethod": "visa", "pspReference": "QFQTPCQ8HXSKGK82", "reason": reason,
                "success": success})
        };
        for (code, success, reason) in [
            (
                "REFUND",
                "false",
                "Transaction hasn't been captured, refund not possible",
            ),
            ("REFUND_FAILED", "true", "Refund Failed"),
        ] {
            let cd = parse_item(&item(code, success, reason)).unwrap();
            assert_eq!(cd.kind, Some("refund"));
            assert_eq!(
                (cd.refund_status, cd.status),
                (Some(RefundStatus::Failed), None)
            );
            assert_eq!(cd.gateway_refund_id.as_deref(), Some("QFQTPCQ8HXSKGK82"));
            assert_eq!(
                cd.merchant_refund_id.as_deref(),
                Some("YOUR_MERCHANT_REFERENCE")
            );
            assert_eq!(cd.gateway_payment_id.as_deref(), Some("9913140798220028"));
            assert_eq!(cd.raw_code.as_deref(), Some(reason));
            assert_eq!(cd.amount, Some(Paise(1000)));
        }
        let cd = parse_item(&item("REFUND", "true", "")).unwrap();
        assert_eq!(
            (cd.refund_status, cd.status),
            (
                Some(RefundStatus::Succeeded),
                Some(crate::model::PaymentStatus::Refunded)
            )
        );
        // Each state is its own event (the same state again is a duplicate).
        assert_ne!(
            cd.gateway_event_id,
            parse_item(&item("REFUND", "false", "x"))
                .unwrap()
                .gateway_event_id
        );
    }
}
