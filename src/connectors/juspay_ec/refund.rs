//! Juspay Express Checkout refunds (juspay.io `api-reference/docs/express-checkout/
//! refund-order-api`, developer.juspay.in `reference/refund-order`; the refund object
//! as juspay/expresscheckout-dotnet-sdk `Juspay/Model/Refund.cs` reads it):
//! - `POST /orders/{order_id}/refunds`, form `unique_request_id` + `amount` (rupees),
//!   the same Basic auth and headers as every call. `order_id` is our payment id (the
//!   order we created). `unique_request_id` "should be less than 21 characters" and
//!   carry no special characters: ours is [`short_refund_id`] (the last 20 of our
//!   refund id, hex). The answer is the order (as the order status API returns it)
//!   with its `refunds[]`; ours is the entry with our `unique_request_id`, initially
//!   `PENDING` (`sent_to_gateway: false`: Juspay queues refunds up to 15 minutes).
//! - Refusals are HTTP 400 `{status_id: -1, status: "ERROR", error_message,
//!   error_code}`: `duplicate.call` (this `unique_request_id` was used for the order —
//!   answered from the status query — or the same amount within 5 seconds),
//!   `invalid.amount.exceeded`, `invalid amount`, "Mandatory fields are missing"; an
//!   unknown order is `NOT_FOUND` / 40.
//! - Status: `GET /orders/{order_id}` → the order's `refunds[]` (`SUCCESS`,
//!   `PENDING`, `FAILURE`, `MANUAL_REVIEW` — pending until reconciled by hand); our
//!   entry absent, or the order unknown, is no such refund.
//! - Webhooks `ORDER_REFUNDED`, `ORDER_REFUND_FAILED`, `REFUND_MANUAL_REVIEW_NEEDED`,
//!   `AUTO_REFUND_*` carry the whole order: every entry of its `refunds[]` is an
//!   event (`webhook.rs`).

use serde_json::Value;

use super::JuspayEc;
use super::response::NOT_FOUND;
use super::webhook::refund_status;
use crate::connectors::amount;
use crate::connectors::classify::{self, id_str, str_of};
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
    short_refund_id,
};
use crate::connectors::upstream::UpstreamError;

/// Juspay's `unique_request_id` is "less than 21 characters".
pub const UNIQUE_REQUEST_ID_MAX: usize = 20;
/// The refusal code of a reused `unique_request_id` (and of the same amount again
/// within 5 seconds).
pub const DUPLICATE_CALL: &str = "duplicate.call";

/// `/orders/{order_id}/refunds`.
pub fn refund_path(order_id: &str) -> String {
    format!("/orders/{order_id}/refunds")
}

/// Our refund id as Juspay holds it.
pub fn unique_request_id(refund_id: &str) -> &str {
    short_refund_id(refund_id, UNIQUE_REQUEST_ID_MAX)
}

/// The form of the refund call.
pub fn refund_form(req: &RefundRequest<'_>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("unique_request_id", unique_request_id(req.refund_id));
    s.append_pair("amount", &req.amount.to_rupees_string());
    s.finish()
}

/// The refund's own bank reference: `refund_arn` (else `arn`); `ref` is the PG's
/// refund id, not a bank reference.
fn arn(r: &Value) -> Option<String> {
    r.get("refund_arn")
        .or_else(|| r.get("arn"))
        .and_then(id_str)
        .filter(|s| !s.is_empty())
}

/// Entry `i` of `refunds[]` in an order (at `prefix` in the raw `text`) → report.
pub(super) fn entry_report(
    r: &Value,
    text: &str,
    prefix: &[&str],
    i: usize,
) -> Result<RefundReport, amount::AmountError> {
    let raw = r.get("status").and_then(str_of).unwrap_or("").to_string();
    let i = i.to_string();
    let mut path: Vec<&str> = prefix.to_vec();
    path.extend(["refunds", &i, "amount"]);
    Ok(RefundReport {
        gateway_refund_id: r.get("id").and_then(id_str),
        status: refund_status(&raw),
        arn: arn(r),
        raw_status: raw,
        amount: amount::rupees_at(text, &path)?,
    })
}

/// Our refund (by `unique_request_id`) in an order answer; `None` when absent.
pub fn find_refund(body: &[u8], refund_id: &str) -> Option<RefundReport> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let urid = unique_request_id(refund_id);
    let (i, r) = v
        .get("refunds")?
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, r)| r.get("unique_request_id").and_then(Value::as_str) == Some(urid))?;
    entry_report(r, amount::text(body), &[], i).ok()
}

/// A refusal's (code, message).
pub fn refusal(v: &Value) -> (String, String) {
    let code = v
        .get("error_code")
        .and_then(str_of)
        .or_else(|| v.get("status").and_then(str_of))
        .unwrap_or("refund_failed");
    let message = v.get("error_message").and_then(str_of).unwrap_or_default();
    (code.to_string(), message.to_string())
}

fn is_not_found(status: u16, v: &Value) -> bool {
    status == 404
        || v.get("status").and_then(Value::as_str) == Some(NOT_FOUND.0)
        || v.get("status_id").and_then(Value::as_u64) == Some(u64::from(NOT_FOUND.1))
}

impl JuspayEc {
    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let rb = self.post_form(&refund_path(req.payment_id), refund_form(&req));
        let result = self.upstream.send(rb).await;
        let body = match &result {
            Ok(r) if (200..300).contains(&r.status) => Some(r.body.clone()),
            _ => None,
        };
        let outcome = refund_outcome(
            result,
            |_| body.as_deref().and_then(|b| find_refund(b, req.refund_id)),
            refusal,
        );
        match outcome {
            RefundOutcome::Declined { code, message } if code == DUPLICATE_CALL => {
                // Ours exists (answer it), or the same amount is in flight under
                // another id (then nothing was made for ours: refused).
                match self.query_refund(req.into()).await {
                    Ok(rep) => RefundOutcome::Accepted(rep),
                    Err(RefundLookup::NotFound) => RefundOutcome::Declined { code, message },
                    Err(e) => RefundOutcome::Unknown {
                        detail: format!("duplicate.call, status query failed: {e}"),
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
        let rb = self.auth(
            self.upstream
                .client()
                .get(self.upstream.url(&format!("/orders/{}", q.payment_id))),
        );
        let r = self.upstream.send(rb).await?;
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if is_not_found(r.status, &v) {
            return Err(RefundLookup::NotFound);
        }
        if !(200..300).contains(&r.status) {
            return Err(RefundLookup::Upstream(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            }));
        }
        if !v.is_object() {
            return Err(RefundLookup::Upstream(UpstreamError::BadResponse(
                classify::body_detail(&r.body),
            )));
        }
        find_refund(&r.body, q.refund_id).ok_or(RefundLookup::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::RefundStatus;
    use crate::connectors::form::Form;
    use crate::model::Paise;

    fn req(amount: i64) -> RefundRequest<'static> {
        RefundRequest {
            refund_id: "rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5d",
            payment_id: "sy_1",
            gateway_payment_id: "ordeh_1",
            amount: Paise(amount),
            currency: "INR",
            reason: None,
        }
    }

    /// The Refund Order API's sample request: `POST /orders/{order_id}/refunds`,
    /// form `unique_request_id` and `amount` (rupees); ours shortened below 21.
    #[test]
    fn refund_form_golden() {
        assert_eq!(refund_path("sy_1"), "/orders/sy_1/refunds");
        let f = Form::parse(refund_form(&req(5_000)).as_bytes());
        assert_eq!(f.get("unique_request_id"), "7a4b8c9d0e1f2a3b4c5d");
        assert_eq!(f.get("amount"), "50.00");
        assert!(f.get("unique_request_id").len() < 21);
        assert_eq!(
            refund_form(&req(5_000)),
            "unique_request_id=7a4b8c9d0e1f2a3b4c5d&amount=50.00"
        );
    }

    /// The docs' refund block (`unique_request_id`, `status` PENDING, `sent_to_gateway`
    /// false, `ref`, `id`, `amount`) inside the order answer.
    #[test]
    fn answers_and_status() {
        let body = br#"{"id":"ordeh_1","order_id":"sy_1","status":"CHARGED","amount":100.0,"amount_refunded":50.0,"refunds":[
            {"unique_request_id":"other","status":"SUCCESS","amount":10.0,"id":"r0"},
            {"unique_request_id":"7a4b8c9d0e1f2a3b4c5d","status":"PENDING","sent_to_gateway":false,"refund_type":"STANDARD",
             "ref":"PGREF1","initiated_by":"API","id":"JRF1","amount":50.00,"created":"2026-01-02T10:00:00Z"}]}"#;
        let r = find_refund(body, req(5_000).refund_id).unwrap();
        assert_eq!(r.status, RefundStatus::Pending);
        assert_eq!(r.gateway_refund_id.as_deref(), Some("JRF1"));
        assert_eq!((r.amount, r.arn), (Some(Paise(5_000)), None));
        assert!(find_refund(body, "rf_ffffffffffffffffffffffffffffffff").is_none());
        let done = br#"{"refunds":[{"unique_request_id":"7a4b8c9d0e1f2a3b4c5d","status":"SUCCESS","amount":50,"refund_arn":"ARN77"}]}"#;
        let r = find_refund(done, req(5_000).refund_id).unwrap();
        assert_eq!(
            (r.status, r.arn.as_deref()),
            (RefundStatus::Succeeded, Some("ARN77"))
        );
        let manual = br#"{"refunds":[{"unique_request_id":"7a4b8c9d0e1f2a3b4c5d","status":"MANUAL_REVIEW","amount":50}]}"#;
        assert_eq!(
            find_refund(manual, req(5_000).refund_id).unwrap().status,
            RefundStatus::Pending
        );
    }

    /// The docs' failure table.
    #[test]
    fn refusals() {
        let dup = serde_json::json!({"status_id": -1, "status": "ERROR",
            "error_message": "A refund call was already completed with this unique_request_id for the order.",
            "error_code": "duplicate.call"});
        assert_eq!(refusal(&dup).0, DUPLICATE_CALL);
        let over = serde_json::json!({"status_id": -1, "status": "ERROR",
            "error_message": "Refund amount exceeds the refundable amount.", "error_code": "invalid.amount.exceeded"});
        assert_eq!(refusal(&over).0, "invalid.amount.exceeded");
        let missing = serde_json::json!({"status": "Bad Request", "error_message": "Mandatory fields are missing",
            "error_code": "Mandatory fields are missing"});
        assert_eq!(refusal(&missing).1, "Mandatory fields are missing");
        let nf = serde_json::json!({"status_id": 40, "status": "NOT_FOUND", "order_id": "x"});
        assert!(is_not_found(200, &nf) && is_not_found(404, &Value::Null));
        assert!(!is_not_found(400, &over));
    }
}
