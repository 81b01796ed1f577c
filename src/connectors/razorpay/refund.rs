//! Razorpay refunds: `POST /v1/payments/{pay_id}/refund` (`amount` paise, `speed`
//! `normal`, `receipt` = our refund id, `notes.switchyard_refund_id`, header
//! `X-Refund-Idempotency` = our refund id so a resend after a timeout cannot refund
//! twice), status by `GET /v1/refunds/{rfnd_id}` or, before we know that id, the
//! payment's refund list searched for our receipt. Refund states: `pending`,
//! `processed`, `failed`. A payment link (`plink_…`) or order (`order_…`) is first
//! resolved to its captured `pay_…`.

use serde_json::{Value, json};

use super::NOTE_PAYMENT_ID;
use super::Razorpay;
use crate::connectors::RefundStatus;
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::refund::{
    NOTE_REFUND_ID, RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest,
    refund_outcome,
};
use crate::connectors::upstream::UpstreamError;
use crate::model::Paise;

pub const IDEMPOTENCY_HEADER: &str = "x-refund-idempotency";

/// A Razorpay refund entity → our report (`None` when it is not one).
pub fn refund_report(r: &Value) -> Option<RefundReport> {
    let raw = r.get("status").and_then(str_of)?.to_string();
    let status = match raw.as_str() {
        "processed" => RefundStatus::Succeeded,
        "failed" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    };
    Some(RefundReport {
        gateway_refund_id: r.get("id").and_then(id_str),
        status,
        arn: r.pointer("/acquirer_data/arn").and_then(id_str),
        raw_status: raw,
        amount: r.get("amount").and_then(Value::as_i64).map(Paise),
    })
}

/// Our refund id as Razorpay echoes it: `receipt`, else `notes.switchyard_refund_id`.
pub fn merchant_refund_id(r: &Value) -> Option<String> {
    r.get("notes")
        .and_then(|n| n.get(NOTE_REFUND_ID))
        .and_then(id_str)
        .or_else(|| r.get("receipt").and_then(id_str))
}

fn decline(v: &Value) -> (String, String) {
    let e = v.get("error").unwrap_or(v);
    (
        e.get("code")
            .and_then(str_of)
            .unwrap_or("BAD_REQUEST_ERROR")
            .to_string(),
        e.get("description")
            .and_then(str_of)
            .unwrap_or_default()
            .to_string(),
    )
}

pub fn refund_body(req: &RefundRequest<'_>) -> Value {
    json!({
        "amount": req.amount.get(),
        "speed": "normal",
        "receipt": req.refund_id,
        "notes": {
            NOTE_REFUND_ID: req.refund_id,
            NOTE_PAYMENT_ID: req.payment_id,
            "reason": req.reason.unwrap_or(""),
        },
    })
}

impl Razorpay {
    /// The `pay_…` that holds the money behind a stored gateway id.
    async fn captured_payment(&self, gateway_payment_id: &str) -> Result<String, UpstreamError> {
        let captured = |p: &Value| {
            matches!(
                p.get("status").and_then(Value::as_str),
                Some("captured" | "refunded")
            )
        };
        if let Some(link) = gateway_payment_id.strip_prefix("plink_") {
            let v = self
                .get_json(&format!("/v1/payment_links/plink_{link}"))
                .await?;
            return v
                .get("payments")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|p| captured(p)))
                .and_then(|p| p.get("payment_id").and_then(id_str))
                .ok_or(UpstreamError::Status {
                    status: 404,
                    body: "payment link has no captured payment".into(),
                });
        }
        if gateway_payment_id.starts_with("order_") {
            let v = self
                .get_json(&format!("/v1/orders/{gateway_payment_id}/payments"))
                .await?;
            return v
                .get("items")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|p| captured(p)))
                .and_then(|p| p.get("id").and_then(id_str))
                .ok_or(UpstreamError::Status {
                    status: 404,
                    body: "order has no captured payment".into(),
                });
        }
        Ok(gateway_payment_id.to_string())
    }

    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let pay = match self.captured_payment(req.gateway_payment_id).await {
            Ok(p) => p,
            // Nothing was sent to the refund endpoint yet.
            Err(e) => {
                return RefundOutcome::NotSent {
                    detail: format!("resolving the payment: {e}"),
                };
            }
        };
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(&format!("/v1/payments/{pay}/refund")))
            .header(IDEMPOTENCY_HEADER, req.refund_id)
            .json(&refund_body(&req));
        refund_outcome(
            self.upstream.send(self.auth(rb)).await,
            refund_report,
            decline,
        )
    }

    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        let not_found = |e: UpstreamError| match e {
            UpstreamError::Status { status: 404, .. } => RefundLookup::NotFound,
            e => RefundLookup::Upstream(e),
        };
        if let Some(rid) = q.gateway_refund_id {
            let v = self
                .get_json(&format!("/v1/refunds/{rid}"))
                .await
                .map_err(not_found)?;
            return refund_report(&v).ok_or(RefundLookup::NotFound);
        }
        let pay = self
            .captured_payment(q.gateway_payment_id)
            .await
            .map_err(not_found)?;
        let list = self
            .get_json(&format!("/v1/payments/{pay}/refunds"))
            .await
            .map_err(not_found)?;
        list.get("items")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|r| merchant_refund_id(r).as_deref() == Some(q.refund_id))
            })
            .and_then(refund_report)
            .ok_or(RefundLookup::NotFound)
    }
}
