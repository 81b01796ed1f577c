//! Cashfree refunds (PG API 2023-08-01): `POST /pg/orders/{order_id}/refunds` with
//! `refund_amount` (rupees, written from paise as exact text), `refund_id` (ours:
//! Cashfree refuses a second refund with the same id, so a resend cannot refund
//! twice), `refund_note`, `refund_speed = STANDARD`; status by
//! `GET /pg/orders/{order_id}/refunds/{refund_id}`. Our payment id is Cashfree's
//! `order_id` for UPI payments. Refund states: `SUCCESS`, `PENDING`, `ONHOLD`,
//! `CANCELLED`, `FAILED`. Payment-link payments live on a Cashfree-made order id,
//! so they are not refunded through switchyard (yet).

use serde_json::{Value, json};

use super::Cashfree;
use crate::connectors::RefundStatus;
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
};
use crate::connectors::upstream::UpstreamError;
use crate::model::Paise;

/// A Cashfree refund entity → our report (`None` when it is not one).
pub fn refund_report(r: &Value) -> Option<RefundReport> {
    let raw = r.get("refund_status").and_then(str_of)?.to_string();
    let status = match raw.as_str() {
        "SUCCESS" => RefundStatus::Succeeded,
        "CANCELLED" | "FAILED" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    };
    Some(RefundReport {
        gateway_refund_id: r.get("cf_refund_id").and_then(id_str),
        status,
        arn: r.get("refund_arn").and_then(id_str),
        raw_status: raw,
        amount: r
            .get("refund_amount")
            .and_then(|a| Paise::from_rupees_json(a).ok()),
    })
}

fn decline(v: &Value) -> (String, String) {
    (
        v.get("code")
            .and_then(str_of)
            .unwrap_or("refund_declined")
            .to_string(),
        v.get("message")
            .and_then(str_of)
            .unwrap_or_default()
            .to_string(),
    )
}

/// The request body as exact text (the amount is a JSON number with two decimals).
pub fn refund_body(req: &RefundRequest<'_>) -> String {
    format!(
        r#"{{"refund_amount":{},"refund_id":{},"refund_note":{},"refund_speed":"STANDARD"}}"#,
        req.amount.to_rupees_string(),
        json!(req.refund_id),
        json!(req.reason.unwrap_or("refund")),
    )
}

impl Cashfree {
    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let rb = self
            .post(
                &format!("/pg/orders/{}/refunds", req.payment_id),
                req.refund_id,
            )
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(refund_body(&req));
        refund_outcome(self.upstream.send(rb).await, refund_report, decline)
    }

    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        let r = self
            .get(&format!(
                "/pg/orders/{}/refunds/{}",
                q.payment_id, q.refund_id
            ))
            .await?;
        if r.status == 404 {
            return Err(RefundLookup::NotFound);
        }
        if !(200..300).contains(&r.status) {
            return Err(RefundLookup::Upstream(UpstreamError::Status {
                status: r.status,
                body: crate::connectors::classify::body_detail(&r.body),
            }));
        }
        refund_report(&r.json()?).ok_or(RefundLookup::NotFound)
    }
}
