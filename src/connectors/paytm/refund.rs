//! Paytm refunds (developer.paytm.com / business.paytm.com "Refund API" and
//! "Refund Status API"; response codes as Paytm's SDKs and docs list them):
//! - `POST /refund/apply`, JSON `{body, head: {signature}}` with the checksum over
//!   the exact `body` text; `body = {mid, txnType: "REFUND", orderId (our payment
//!   id), txnId (Paytm's TXNID of the payment), refId (our refund id: "duplicate
//!   REFID will be rejected"), refundAmount (rupees, two decimals)}`. The API is
//!   asynchronous: the answer registers the refund (`resultStatus PENDING`, code
//!   `601`, with Paytm's `refundId`), never its outcome. Refusals come back as HTTP
//!   200 `TXN_FAILURE` with a code (`619` invalid amount, `330` bad checksum, ...);
//!   `617` "Refund Already Raised" means our refId exists: answered from the status
//!   query, never sent under another id.
//! - `POST /v2/refund/status`, signed `{mid, orderId, refId}` → `resultStatus`
//!   `TXN_SUCCESS` (code `10`), `PENDING`, `TXN_FAILURE`, with `refundId`,
//!   `refundAmount`, `refundDetailInfoList[].rrn`; `631` / `331` (no record) is no
//!   such refund. A failure answer without the refund in it (a bad checksum, an
//!   unknown MID) is an error of the query, never a failed refund.
//! - Webhooks: accept-refund and success-refund, signed (`webhook.rs`).

use serde_json::{Value, json};

use super::Paytm;
use super::response::result_info;
use crate::connectors::RefundStatus;
use crate::connectors::amount;
use crate::connectors::classify::{self, id_str};
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
    transport_outcome,
};
use crate::connectors::upstream::UpstreamError;

pub const REFUND_PATH: &str = "/refund/apply";
pub const REFUND_STATUS_PATH: &str = "/v2/refund/status";
/// "Refund Already Raised": the refId is taken (the refund exists).
pub const ALREADY_RAISED: &str = "617";
/// Codes of "no such refund" in the status answer.
pub const NO_RECORD: [&str; 2] = ["631", "331"];

pub fn refund_body(req: &RefundRequest<'_>, mid: &str) -> Value {
    json!({
        "mid": mid,
        "txnType": "REFUND",
        "orderId": req.payment_id,
        "txnId": req.gateway_payment_id,
        "refId": req.refund_id,
        "refundAmount": req.amount.to_rupees_string(),
    })
}

pub fn refund_status_body(q: &RefundQuery<'_>, mid: &str) -> Value {
    json!({"mid": mid, "orderId": q.payment_id, "refId": q.refund_id})
}

/// A `resultStatus` (or a webhook's `status`) → ours.
pub fn refund_state(word: &str) -> RefundStatus {
    match word {
        "TXN_SUCCESS" => RefundStatus::Succeeded,
        "TXN_FAILURE" | "FAILED" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    }
}

/// The refund in a refund / status answer `body` (`None` without a refund in it).
pub fn refund_report(body: &str) -> Option<RefundReport> {
    let v: Value = serde_json::from_str(body).ok()?;
    let b = v.get("body")?;
    b.get("refundId").or_else(|| b.get("refId"))?;
    let (status, code, _) = result_info(&v);
    Some(RefundReport {
        gateway_refund_id: b.get("refundId").and_then(id_str),
        status: refund_state(&status),
        arn: b.pointer("/refundDetailInfoList/0/rrn").and_then(id_str),
        raw_status: format!("{status}/{code}"),
        amount: amount::rupees_at(body, &["body", "refundAmount"])
            .ok()
            .flatten(),
    })
}

impl Paytm {
    fn signed_body(&self, body: &Value) -> Result<String, UpstreamError> {
        super::signed(body, self.key()).ok_or_else(|| {
            UpstreamError::Build("paytm: merchant key must be 16, 24 or 32 bytes".into())
        })
    }

    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let text = match self.signed_body(&refund_body(&req, self.mid())) {
            Ok(t) => t,
            Err(e) => return transport_outcome(e),
        };
        let r = match self.post(REFUND_PATH, text).await {
            Ok(r) => r,
            Err(e) => return transport_outcome(e),
        };
        if !(200..300).contains(&r.status) {
            let decline = |v: &Value| {
                let (_, code, msg) = result_info(v);
                (code, msg)
            };
            return refund_outcome(Ok(r), |_| None, decline);
        }
        let body = amount::text(&r.body);
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let (status, code, msg) = result_info(&v);
        if code == ALREADY_RAISED {
            return match self.query_refund(req.into()).await {
                Ok(rep) => RefundOutcome::Accepted(rep),
                Err(e) => RefundOutcome::Unknown {
                    detail: format!("refund already raised, status query failed: {e}"),
                },
            };
        }
        match (status.as_str(), refund_report(body)) {
            ("TXN_FAILURE", _) => RefundOutcome::Declined {
                code: if code.is_empty() {
                    "TXN_FAILURE".into()
                } else {
                    code
                },
                message: crate::model::scrub(&msg).into_owned(),
            },
            // Registered: the outcome comes by webhook or status query.
            (_, Some(rep)) => RefundOutcome::Accepted(RefundReport {
                status: if rep.status == RefundStatus::Failed {
                    RefundStatus::Pending
                } else {
                    rep.status
                },
                ..rep
            }),
            (_, None) => RefundOutcome::Unknown {
                detail: format!("2xx without a refund: {}", classify::body_detail(&r.body)),
            },
        }
    }

    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        let text = self.signed_body(&refund_status_body(&q, self.mid()))?;
        let r = self.post(REFUND_STATUS_PATH, text).await?;
        if !(200..300).contains(&r.status) {
            return Err(RefundLookup::Upstream(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            }));
        }
        let body = amount::text(&r.body);
        let v: Value =
            serde_json::from_str(body).map_err(|e| UpstreamError::BadResponse(e.to_string()))?;
        let (_, code, msg) = result_info(&v);
        if NO_RECORD.contains(&code.as_str()) {
            return Err(RefundLookup::NotFound);
        }
        refund_report(body).ok_or_else(|| {
            RefundLookup::Upstream(UpstreamError::BadResponse(format!(
                "refund status without a refund: {code} {msg}"
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Paise;

    const KEY: &str = "Kx9mQ2vT7pL4wZ8n";

    /// The Refund API body as developer.paytm.com lists it (mid, txnType REFUND,
    /// orderId, txnId, refId, refundAmount in rupees), signed over its exact text.
    #[test]
    fn refund_body_golden_and_signed() {
        let req = RefundRequest {
            refund_id: "REFUNDID_98765",
            payment_id: "ORDERID_98765",
            gateway_payment_id: "202005081112128XXXXXX68470101509706",
            amount: Paise(100),
            currency: "INR",
            reason: None,
        };
        let b = refund_body(&req, "INTEGR7769XXXXXX9383");
        assert_eq!(
            b.to_string(),
            r#"{"mid":"INTEGR7769XXXXXX9383","orderId":"ORDERID_98765","refId":"REFUNDID_98765","refundAmount":"1.00","txnId":"202005081112128XXXXXX68470101509706","txnType":"REFUND"}"#
        );
        let text = super::super::signed(&b, KEY).unwrap();
        let inner = amount::raw_at(&text, &["body"]).unwrap();
        let sig: String =
            serde_json::from_str(amount::raw_at(&text, &["head", "signature"]).unwrap()).unwrap();
        assert!(super::super::checksum::verify(inner, KEY, &sig));
    }

    #[test]
    fn answers_and_status() {
        // The asynchronous answer: registered, pending.
        let ans = r#"{"head":{"signature":"x"},"body":{"txnTimestamp":"2020-08-20 17:15:07.0","orderId":"ORDERID_98765","mid":"M","refId":"REFUNDID_98765","resultInfo":{"resultStatus":"PENDING","resultCode":"601","resultMsg":"Refund request was raised for this transaction. But it is pending state"},"refundId":"2020082011XXXXX0168821700215705","txnId":"T1","refundAmount":"1.00"}}"#;
        let r = refund_report(ans).unwrap();
        assert_eq!(r.status, RefundStatus::Pending);
        assert_eq!(
            r.gateway_refund_id.as_deref(),
            Some("2020082011XXXXX0168821700215705")
        );
        assert_eq!(r.amount, Some(Paise(100)));
        let done = r#"{"body":{"orderId":"O","refId":"R","refundId":"RF1","refundAmount":"1.00","resultInfo":{"resultStatus":"TXN_SUCCESS","resultCode":"10","resultMsg":"Refund Successfull"},"refundDetailInfoList":[{"refundType":"TO_SOURCE","payMethod":"UPI","refundAmount":"1.00","rrn":"RRN123"}]}}"#;
        let d = refund_report(done).unwrap();
        assert_eq!(
            (d.status, d.arn.as_deref()),
            (RefundStatus::Succeeded, Some("RRN123"))
        );
        // A failure without a refund in it (bad checksum) is not a refund report.
        let bad = r#"{"body":{"resultInfo":{"resultStatus":"TXN_FAILURE","resultCode":"330","resultMsg":"Checksum Is Not Valid"}}}"#;
        assert!(refund_report(bad).is_none());
        assert_eq!(refund_state("FAILED"), RefundStatus::Failed);
    }

    /// developer.paytm.com accept-refund sample (FAILED), signed: the refund's ids.
    #[test]
    fn accept_refund_webhook_parses_with_the_refunds_ids() {
        let body = r#"{"txnTimestamp":"2020-09-03 16:51:41.0","orderId":"ORDERID_98765","refundAmount":"1.00","refundId":"20200903XXXXXX801300168821700215705","txnAmount":"1.00","txnId":"202005081112128XXXXXX68470101509706","refId":"REFUNDID_98765","status":"FAILED","rejectRefundReasonCode":"1"}"#;
        let sig = super::super::checksum::sign(body, KEY).unwrap();
        let full = format!(r#"{{"head":{{"signature":"{sig}","version":"v1"}},"body":{body}}}"#);
        assert_eq!(super::super::webhook::verify(KEY, full.as_bytes()), Ok(()));
        let cd = super::super::webhook::parse(&http::HeaderMap::new(), full.as_bytes()).unwrap();
        assert_eq!(cd.merchant_refund_id.as_deref(), Some("REFUNDID_98765"));
        assert_eq!(
            cd.gateway_refund_id.as_deref(),
            Some("20200903XXXXXX801300168821700215705")
        );
        assert_eq!(cd.refund_status, Some(RefundStatus::Failed));
        assert_eq!(cd.payment_id.as_deref(), Some("ORDERID_98765"));
    }
}
