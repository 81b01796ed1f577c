//! EBANX refunds (docs.ebanx.com `payments/guides/after-payments/refund-payment`,
//! developer.ebanxpagamentos.com `docs/payments/api-reference/refund-operation`; the
//! request as ebanx/benjamin `src/Services/Adapters/RefundAdapter.php` builds it, the
//! answer as ebanx/woocommerce-gateway-ebanx reads `refund.id` / `payment.refunds`):
//! - `POST /ws/refund` `{integration_key, operation: "request", hash (the payment),
//!   amount (major units, the payment's currency), description (required, ≤ 1500),
//!   merchant_refund_code (≤ 20 characters)}`: ours is [`short_refund_id`], the last
//!   20 of our refund id. Answered with HTTP 200 either way: `{status: "SUCCESS",
//!   payment: {…, refunds: […]}, refund: {id, merchant_refund_code, status, …,
//!   amount_ext}}` — the refund is only `RE` (requested), then `PE`, then `CO`
//!   (confirmed) or `CA` (cancelled) — or the error object `{status: "ERROR",
//!   status_code, status_message}` (`BP-SA-*` / `DA-*`: our credentials, nothing
//!   done; `BP-REF-7`: the payment is not confirmed; any other: refused).
//! - Status: `POST /ws/query` by hash → `payment.refunds[]`, ours by its
//!   `merchant_refund_code`; absent, or the payment unknown, is no such refund.
//!   EBANX documents no uniqueness of `merchant_refund_code`, so a resend is only
//!   ever made after this query found none (the refund pass), never blind.
//! - Notifications (`notification_type=refund`) carry only the payment's hash: each
//!   is answered with the query, one event per refund of the payment.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::Ebanx;
use super::request::decimal;
use super::response::{ErrorClass, Queried, base_event, error_class, refund_status};
use crate::connectors::classify::{self, id_str, str_of};
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, short_refund_id,
    transport_outcome,
};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{CallbackData, RefundStatus, amount};
use crate::model::{Paise, PaymentStatus};

pub const REFUND_PATH: &str = "/ws/refund";
/// EBANX's `merchant_refund_code` holds at most 20 characters.
pub const MERCHANT_REFUND_CODE_MAX: usize = 20;

/// Our refund id as EBANX holds it.
pub fn merchant_refund_code(refund_id: &str) -> &str {
    short_refund_id(refund_id, MERCHANT_REFUND_CODE_MAX)
}

#[derive(Serialize)]
struct Body<'a> {
    integration_key: &'a str,
    operation: &'static str,
    hash: &'a str,
    amount: Box<RawValue>,
    description: &'a str,
    merchant_refund_code: &'a str,
}

/// `POST /ws/refund` (`operation: request`), the amount as exact decimal text.
pub fn refund_body(
    req: &RefundRequest<'_>,
    integration_key: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    let description = req
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or("refund");
    serde_json::to_vec(&Body {
        integration_key,
        operation: "request",
        hash: req.gateway_payment_id,
        amount: decimal(req.amount),
        description,
        merchant_refund_code: merchant_refund_code(req.refund_id),
    })
}

/// A refund object (`refund`, or an entry of `payment.refunds`) → report.
pub fn refund_report(r: &Value, amount: Option<Paise>) -> RefundReport {
    let raw = r.get("status").and_then(str_of).unwrap_or("").to_string();
    RefundReport {
        gateway_refund_id: r.get("id").and_then(id_str),
        status: refund_status(&raw),
        arn: None,
        raw_status: raw,
        amount,
    }
}

/// Refund `i` of a queried payment as an event with its own ids.
pub(super) fn refund_event(q: &Queried, i: usize) -> Option<CallbackData> {
    let r = q.payment.get("refunds")?.as_array()?.get(i)?;
    let rep = refund_report(r, q.refund_amounts.get(i).copied().flatten());
    let ours = r.get("merchant_refund_code").and_then(id_str);
    let mut out = base_event(q);
    out.gateway_event_id = format!(
        "refund:{}:{}",
        rep.gateway_refund_id
            .clone()
            .or(ours.clone())
            .unwrap_or_else(|| i.to_string()),
        rep.raw_status
    );
    out.kind = Some("refund");
    out.refund_id = rep.gateway_refund_id.clone().or(ours.clone());
    out.merchant_refund_id = ours;
    out.gateway_refund_id = rep.gateway_refund_id;
    out.refund_status = Some(rep.status);
    out.status = (rep.status == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded);
    out.amount = rep.amount;
    out.raw_status = rep.raw_status;
    Some(out)
}

/// Ours among a queried payment's refunds.
pub(super) fn find_refund(q: &Queried, refund_id: &str) -> Option<RefundReport> {
    let code = merchant_refund_code(refund_id);
    let (i, r) = q
        .payment
        .get("refunds")?
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, r)| r.get("merchant_refund_code").and_then(Value::as_str) == Some(code))?;
    Some(refund_report(r, q.refund_amounts.get(i).copied().flatten()))
}

/// The answer to `/ws/refund` (HTTP 200, the body decides).
pub fn refund_answer(body: &[u8]) -> RefundOutcome {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return RefundOutcome::Unknown {
            detail: format!("2xx with unreadable body: {}", classify::body_detail(body)),
        };
    };
    if v.get("status").and_then(Value::as_str) == Some("ERROR") {
        let code = v.get("status_code").and_then(id_str).unwrap_or_default();
        let message = v
            .get("status_message")
            .and_then(str_of)
            .unwrap_or_default()
            .to_string();
        return match error_class(&code, &message) {
            ErrorClass::Auth => RefundOutcome::NotSent {
                detail: format!("{code}: {message}"),
            },
            _ => RefundOutcome::Declined { code, message },
        };
    }
    match v.get("refund").filter(|r| r.get("id").is_some()) {
        Some(r) => {
            let t = amount::text(body);
            let amt = amount::rupees_at(t, &["refund", "amount_ext"])
                .ok()
                .flatten()
                .or_else(|| amount::rupees_at(t, &["refund", "amount"]).ok().flatten());
            RefundOutcome::Accepted(refund_report(r, amt))
        }
        None => RefundOutcome::Unknown {
            detail: format!("2xx without a refund: {}", classify::body_detail(body)),
        },
    }
}

impl Ebanx {
    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let body = match refund_body(&req, self.integration_key()) {
            Ok(b) => b,
            Err(e) => return transport_outcome(UpstreamError::Build(e.to_string())),
        };
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(REFUND_PATH))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        match self.upstream.send(rb).await {
            Err(e) => transport_outcome(e),
            Ok(r) if (200..300).contains(&r.status) => refund_answer(&r.body),
            Ok(r) => crate::connectors::refund::refund_outcome(
                Ok(r),
                |_| None,
                |v| {
                    let d = super::decline_info(v);
                    (d.code, d.message)
                },
            ),
        }
    }

    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        match self.query(Some(q.gateway_payment_id), q.payment_id).await {
            Ok(p) => find_refund(&p, q.refund_id).ok_or(RefundLookup::NotFound),
            Err(e) if e.is_not_found() => Err(RefundLookup::NotFound),
            Err(e) => Err(RefundLookup::Upstream(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::response::{events, query_payment};
    use super::*;

    fn req(reason: Option<&'static str>) -> RefundRequest<'static> {
        RefundRequest {
            refund_id: "rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5d",
            payment_id: "sy_1",
            gateway_payment_id: "5d3a3b5f9e0b2c1d",
            amount: Paise(1_050),
            currency: "INR",
            reason,
        }
    }

    /// The Refund Operation's request parameters, in the docs' order: integration
    /// key, `operation: request`, hash, amount (decimal), description,
    /// `merchant_refund_code` (≤ 20).
    #[test]
    fn refund_body_golden() {
        let b = refund_body(&req(Some("customer request")), "KEY").unwrap();
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"integration_key":"KEY","operation":"request","hash":"5d3a3b5f9e0b2c1d","amount":10.50,"description":"customer request","merchant_refund_code":"7a4b8c9d0e1f2a3b4c5d"}"#
        );
        // The description is required: a default when no reason was given.
        let v: Value = serde_json::from_slice(&refund_body(&req(None), "KEY").unwrap()).unwrap();
        assert_eq!(v["description"], "refund");
        assert_eq!(merchant_refund_code(req(None).refund_id).len(), 20);
    }

    #[test]
    fn answers() {
        let ok = br#"{"payment":{"hash":"h1","status":"CO","refunds":[{"id":"4131","merchant_refund_code":"7a4b8c9d0e1f2a3b4c5d","status":"RE","amount_ext":"10.50"}]},
            "refund":{"id":"4131","merchant_refund_code":"7a4b8c9d0e1f2a3b4c5d","status":"RE","request_date":"2026-01-02 10:00:00","amount_ext":"10.50","description":"customer request"},"status":"SUCCESS"}"#;
        let RefundOutcome::Accepted(r) = refund_answer(ok) else {
            panic!()
        };
        assert_eq!(
            (r.status, r.gateway_refund_id.as_deref(), r.amount),
            (RefundStatus::Pending, Some("4131"), Some(Paise(1_050)))
        );
        let not_confirmed = br#"{"status":"ERROR","status_code":"BP-REF-7","status_message":"Payment is not confirmed"}"#;
        assert!(matches!(
            refund_answer(not_confirmed),
            RefundOutcome::Declined { code, .. } if code == "BP-REF-7"
        ));
        let auth = br#"{"status":"ERROR","status_code":"BP-SA-1","status_message":"Parameter integration_key not found"}"#;
        assert!(matches!(refund_answer(auth), RefundOutcome::NotSent { .. }));
        assert!(matches!(
            refund_answer(b"{}"),
            RefundOutcome::Unknown { .. }
        ));
    }

    /// A refund notification's query: every refund is an event with its own ids; ours
    /// is found by its `merchant_refund_code`.
    #[test]
    fn query_refunds_and_events() {
        let body = br#"{"payment":{"hash":"h1","merchant_payment_code":"sy_1","status":"CO","amount_total":"100.00","currency_code":"INR",
            "refunds":[{"id":"1","merchant_refund_code":"0000000000000000beef","status":"CO","amount_ext":"20.00"},
                       {"id":"2","merchant_refund_code":"7a4b8c9d0e1f2a3b4c5d","status":"PE","amount_ext":"10.50"}]},"status":"SUCCESS"}"#;
        let q = query_payment(200, body).unwrap();
        let r = find_refund(&q, req(None).refund_id).unwrap();
        assert_eq!(
            (r.status, r.amount),
            (RefundStatus::Pending, Some(Paise(1_050)))
        );
        assert!(find_refund(&q, "rf_ffffffffffffffffffffffffffffffff").is_none());
        let all = events(&q, "refund");
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].refund_status, all[0].status, all[0].amount),
            (
                Some(RefundStatus::Succeeded),
                Some(PaymentStatus::Refunded),
                Some(Paise(2_000))
            )
        );
        assert_eq!(
            (
                all[1].merchant_refund_id.as_deref(),
                all[1].gateway_refund_id.as_deref()
            ),
            (Some("7a4b8c9d0e1f2a3b4c5d"), Some("2"))
        );
        assert_eq!(all[1].payment_id.as_deref(), Some("sy_1"));
        assert_eq!(events(&q, "update").len(), 1);
    }
}
