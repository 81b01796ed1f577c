//! PhonePe PG v2 refunds (developer.phonepe.com "Initiate Refund" and "Refund
//! Status", the same for the standard and custom checkout):
//! - `POST /payments/v2/refund` with `O-Bearer` auth, `{merchantRefundId,
//!   originalMerchantOrderId, amount}` — `merchantRefundId` is our refund id (≤ 63
//!   characters, unique per merchant), `originalMerchantOrderId` our payment id (the
//!   `merchantOrderId` we paid with), `amount` integer paise (≥ 100). The answer is
//!   `{refundId, amount, state: PENDING}`: a refund is never final in the answer.
//! - `GET /payments/v2/refund/{merchantRefundId}/status` → `{originalMerchantOrderId,
//!   refundId, amount, state, timestamp, errorCode, detailedErrorCode,
//!   splitInstruments[].rail.{utr, upiTransactionId}}`; a 4xx `…NOT_FOUND` / 404 is
//!   no such refund.
//! - States: `PENDING`, `CONFIRMED` (accepted), `COMPLETED`, `FAILED`; the docs say
//!   to rely on `state` only. Webhooks `pg.refund.accepted/completed/failed` carry the
//!   same object (parsed in `webhook.rs`).
//!
//! A resend with the same `merchantRefundId` refused as a duplicate means the refund
//! exists: it is answered from the status query.

use serde_json::{Value, json};

use super::Phonepe;
use super::response::{decline_info, is_duplicate, is_not_found};
use crate::connectors::RefundStatus;
use crate::connectors::classify::{self, id_str, str_of};
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
};
use crate::connectors::upstream::UpstreamError;
use crate::model::Paise;

pub const REFUND_PATH: &str = "/payments/v2/refund";

/// `/payments/v2/refund/{merchantRefundId}/status`.
pub fn refund_status_path(merchant_refund_id: &str) -> String {
    format!("{REFUND_PATH}/{merchant_refund_id}/status")
}

pub fn refund_body(req: &RefundRequest<'_>) -> Value {
    json!({
        "merchantRefundId": req.refund_id,
        "originalMerchantOrderId": req.payment_id,
        "amount": req.amount.get(),
    })
}

/// A PhonePe refund `state` → ours.
pub fn refund_state(state: &str) -> RefundStatus {
    match state {
        "COMPLETED" => RefundStatus::Succeeded,
        "FAILED" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    }
}

/// The refund's own bank reference: the first split instrument's UTR.
pub fn refund_utr(r: &Value) -> Option<String> {
    r.pointer("/splitInstruments/0/rail/utr")
        .or_else(|| r.pointer("/rail/utr"))
        .and_then(id_str)
}

/// A refund answer / status / webhook payload → our report (`None`: not one).
pub fn refund_report(r: &Value) -> Option<RefundReport> {
    let raw = r.get("state").and_then(str_of)?.to_string();
    Some(RefundReport {
        gateway_refund_id: r.get("refundId").and_then(id_str),
        status: refund_state(&raw),
        arn: refund_utr(r),
        raw_status: raw,
        amount: r.get("amount").and_then(Value::as_i64).map(Paise),
    })
}

fn decline(v: &Value) -> (String, String) {
    let d = decline_info(v);
    (d.code, d.message)
}

impl Phonepe {
    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let token = match self.token().await {
            Ok(t) => t,
            Err(e) => {
                return RefundOutcome::NotSent {
                    detail: format!("phonepe token (no refund sent): {e}"),
                };
            }
        };
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(REFUND_PATH))
            .json(&refund_body(&req));
        let result = self.upstream.send(self.auth(rb, &token)).await;
        if matches!(&result, Ok(r) if r.status == 401) {
            self.forget_token();
        }
        match refund_outcome(result, refund_report, decline) {
            RefundOutcome::Declined { code, message } if is_duplicate(&code, &message) => {
                match self.query_refund(req.into()).await {
                    Ok(rep) => RefundOutcome::Accepted(rep),
                    Err(e) => RefundOutcome::Unknown {
                        detail: format!("duplicate merchantRefundId, status query failed: {e}"),
                    },
                }
            }
            o => o,
        }
    }

    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        let token = self.token().await?;
        let rb = self
            .upstream
            .client()
            .get(self.upstream.url(&refund_status_path(q.refund_id)));
        let r = self.upstream.send(self.auth(rb, &token)).await?;
        if r.status == 401 {
            self.forget_token();
        }
        if is_not_found(r.status, &r.body) {
            return Err(RefundLookup::NotFound);
        }
        if !(200..300).contains(&r.status) {
            return Err(RefundLookup::Upstream(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            }));
        }
        refund_report(&r.json()?).ok_or(RefundLookup::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// developer.phonepe.com "Initiate Refund" sample request.
    #[test]
    fn refund_body_golden() {
        let req = RefundRequest {
            refund_id: "Refund-id-12345",
            payment_id: "Order-12345",
            gateway_payment_id: "OMO2411281510176245053157",
            amount: Paise(1234),
            currency: "INR",
            reason: Some("x"),
        };
        assert_eq!(
            refund_body(&req).to_string(),
            r#"{"amount":1234,"merchantRefundId":"Refund-id-12345","originalMerchantOrderId":"Order-12345"}"#
        );
        assert_eq!(
            refund_status_path("Refund-id-12345"),
            "/payments/v2/refund/Refund-id-12345/status"
        );
    }

    /// The docs' answer and status samples.
    #[test]
    fn answers_and_status() {
        let ans =
            refund_report(&json!({"refundId": "OMRxxxxx", "amount": 1234, "state": "PENDING"}))
                .unwrap();
        assert_eq!(
            (ans.status, ans.gateway_refund_id.as_deref()),
            (RefundStatus::Pending, Some("OMRxxxxx"))
        );
        let done = refund_report(&json!({"originalMerchantOrderId": "Order123", "amount": 100,
            "state": "COMPLETED", "timestamp": 1730869961754_i64, "refundId": "OMR7878098045517540996",
            "splitInstruments": [{"amount": 100, "rail": {"type": "UPI", "utr": "586756785",
            "upiTransactionId": "YBL5bc011fa9f8644763b52b96a29a9655", "vpa": "abc@ybl"}}]}))
        .unwrap();
        assert_eq!(done.status, RefundStatus::Succeeded);
        assert_eq!(done.arn.as_deref(), Some("586756785"));
        assert_eq!(done.amount, Some(Paise(100)));
        let failed = refund_report(&json!({"refundId": "OMR7896789", "amount": 50000,
            "state": "FAILED", "errorCode": "UPI_BACKBONE_ERROR", "detailedErrorCode": "UPI_1231"}))
        .unwrap();
        assert_eq!(failed.status, RefundStatus::Failed);
        assert_eq!(refund_state("CONFIRMED"), RefundStatus::Pending);
        assert!(refund_report(&json!({"code": "BAD_REQUEST"})).is_none());
    }

    #[test]
    fn refund_webhook_carries_the_refunds_own_ids() {
        let body = br#"{"event":"pg.refund.completed","type":"PG_REFUND_COMPLETED","payload":{"merchantId":"M","merchantRefundId":"rf_1","originalMerchantOrderId":"sy_1","refundId":"OMR1","state":"COMPLETED","amount":2500,"timestamp":1730869961754,"splitInstruments":[{"amount":2500,"rail":{"type":"UPI","utr":"586756785"}}]}}"#;
        let cd = super::super::webhook::parse(body).unwrap();
        assert_eq!(cd.kind, Some("refund"));
        assert_eq!(cd.merchant_refund_id.as_deref(), Some("rf_1"));
        assert_eq!(cd.gateway_refund_id.as_deref(), Some("OMR1"));
        assert_eq!(cd.payment_id.as_deref(), Some("sy_1"));
        assert_eq!(cd.refund_status, Some(RefundStatus::Succeeded));
        assert_eq!(cd.utr.as_deref(), Some("586756785"));
        assert_eq!(cd.amount, Some(Paise(2500)));
        let failed = String::from_utf8_lossy(body)
            .replace("pg.refund.completed", "pg.refund.failed")
            .replace("\"COMPLETED\"", "\"FAILED\"");
        let cd = super::super::webhook::parse(failed.as_bytes()).unwrap();
        assert_eq!(
            (cd.refund_status, cd.status),
            (Some(RefundStatus::Failed), None)
        );
    }
}
