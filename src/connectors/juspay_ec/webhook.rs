//! Juspay Express Checkout webhooks: `{id, date_created, event_name,
//! content:{order:{...}}}`, authenticated by HTTP Basic auth with the username and
//! password configured on Juspay's dashboard (the body is not signed; GATEWAYS.md
//! 3.7 and section 6.1). The configured `webhook_secret` is `username:password`.
//! A JWT-mode body (`{"JWT": ...}`) is opened by [`super::jwt`] when the gateway
//! has JWT keys; without them it is refused as malformed here.

use base64::Engine;
use http::HeaderMap;
use serde_json::Value;

use super::response::order_report;
use crate::connectors::amount;
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::sign::{self, header};
use crate::connectors::time_fmt;
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError};
use crate::model::PaymentStatus;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The `Authorization` value Juspay sends for `user:password`.
pub fn basic_auth(user_pass: &str) -> String {
    format!("Basic {}", B64.encode(user_pass.as_bytes()))
}

pub(super) fn verify(user_pass: &str, headers: &HeaderMap) -> Result<(), SignatureError> {
    let given = header(headers, "authorization").ok_or(SignatureError::Missing("authorization"))?;
    let Some(b64) = given
        .split_once(' ')
        .filter(|(s, _)| s.eq_ignore_ascii_case("basic"))
        .map(|(_, v)| v.trim())
    else {
        return Err(SignatureError::Mismatch);
    };
    let got = B64.decode(b64).map_err(|_| SignatureError::Mismatch)?;
    if sign::ct_eq(&got, user_pass.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A refund's `status` → its own state (SUCCESS / PENDING / FAILURE, MANUAL_REVIEW).
pub fn refund_status(s: &str) -> RefundStatus {
    match s {
        "SUCCESS" => RefundStatus::Succeeded,
        "FAILURE" | "FAILED" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    }
}

/// The event of a webhook; for a refund webhook, its latest refund (every refund is
/// in [`parse_all`]).
#[cfg(test)]
pub(super) fn parse(body: &[u8]) -> Result<CallbackData, ParseError> {
    parse_all(body)?
        .pop()
        .ok_or_else(|| ParseError::Malformed("no event".into()))
}

/// Every event of a webhook: one, or for a refund webhook one per entry of the
/// order's `refunds[]` (the webhook carries the whole order; each refund's state is
/// its own event, so the ones already known are duplicates).
pub(super) fn parse_all(body: &[u8]) -> Result<Vec<CallbackData>, ParseError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    if v.get(super::jwt::FIELD).is_some() {
        return Err(ParseError::Malformed(
            "a JWT webhook, and this gateway has no JWT keys (jwt_private_key_env / \
             jwt_public_key_env)"
                .into(),
        ));
    }
    let event = v
        .get("event_name")
        .and_then(str_of)
        .unwrap_or("")
        .to_string();
    let evt_id = v.get("id").and_then(id_str);
    let Some(order) = v.pointer("/content/order").filter(|o| o.is_object()) else {
        // Mandate, payout and other events: acknowledged, ignored.
        let d = sign::hmac_sha256(b"juspay-ec-event", &[body]);
        return Ok(vec![CallbackData {
            gateway_event_id: evt_id.unwrap_or_else(|| format!("{event}:{}", hex::encode(&d[..8]))),
            raw_status: event,
            ..Default::default()
        }]);
    };
    let t = amount::text(body);
    let bad = |e: amount::AmountError| ParseError::Malformed(e.to_string());
    let rep = order_report(
        order,
        amount::rupees_at(t, &["content", "order", "amount"]).map_err(bad)?,
    );
    let order_id = order.get("order_id").and_then(id_str);
    let mut out = CallbackData {
        gateway_event_id: evt_id.unwrap_or_else(|| {
            format!(
                "{event}:{}:{}",
                rep.gateway_payment_id.clone().unwrap_or_default(),
                rep.raw_status
            )
        }),
        payment_id: order_id.clone(),
        merchant_order_id: order_id,
        gateway_payment_id: rep.gateway_payment_id.clone(),
        currency: order.get("currency").and_then(id_str),
        occurred_at: v
            .get("date_created")
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc),
        ..Default::default()
    };
    let is_refund_event = event.starts_with("ORDER_REFUND")
        || event.starts_with("REFUND_")
        || event.starts_with("AUTO_REFUND");
    let refunds = order
        .get("refunds")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    if let (true, Some(refunds)) = (is_refund_event, refunds) {
        let auto = event.starts_with("AUTO_REFUND") || rep.status == PaymentStatus::Reversed;
        return refunds
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let rr =
                    super::refund::entry_report(r, t, &["content", "order"], i).map_err(bad)?;
                let ours = r.get("unique_request_id").and_then(id_str);
                let mut e = out.clone();
                e.kind = Some("refund");
                e.gateway_event_id = format!(
                    "juspay:refund:{}:{}",
                    ours.clone()
                        .or(rr.gateway_refund_id.clone())
                        .unwrap_or_else(|| i.to_string()),
                    rr.raw_status
                );
                e.refund_id = ours.clone().or(rr.gateway_refund_id.clone());
                e.merchant_refund_id = ours;
                e.gateway_refund_id = rr.gateway_refund_id;
                e.refund_status = Some(rr.status);
                e.status = match rr.status {
                    RefundStatus::Succeeded if auto => Some(PaymentStatus::Reversed),
                    RefundStatus::Succeeded => Some(PaymentStatus::Refunded),
                    _ => None,
                };
                e.amount = rr.amount;
                e.utr = rr.arn;
                e.raw_code = r.get("error_code").and_then(id_str);
                e.raw_status = rr.raw_status;
                Ok(e)
            })
            .collect();
    }
    if rep.status == PaymentStatus::Unknown {
        out.raw_status = rep.raw_status;
        return Ok(vec![out]);
    }
    out.kind = Some("payment");
    out.status = Some(rep.status);
    out.reason = rep.reason;
    out.rrn = rep.rrn;
    out.raw_status = rep.raw_status;
    out.raw_code = rep.raw_code;
    out.amount = rep.amount;
    out.payer_vpa = order.pointer("/upi/payer_vpa").and_then(id_str);
    Ok(vec![out])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Paise, Reason};

    #[test]
    fn basic_auth_checks() {
        let mut h = HeaderMap::new();
        h.insert("authorization", basic_auth("user:pass").parse().unwrap());
        assert_eq!(verify("user:pass", &h), Ok(()));
        assert_eq!(verify("user:other", &h), Err(SignatureError::Mismatch));
        assert_eq!(
            verify("user:pass", &HeaderMap::new()),
            Err(SignatureError::Missing("authorization"))
        );
        h.insert("authorization", "Bearer dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(verify("user:pass", &h), Err(SignatureError::Mismatch));
    }

    fn body(event: &str, order: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": format!("evt_V2_{event}"), "date_created": "2026-01-02T10:00:00Z",
            "event_name": event, "content": {"order": order}}))
        .unwrap()
    }

    #[test]
    fn events() {
        let o = serde_json::json!({"id":"ordeh_1","order_id":"pay_1","status":"CHARGED","status_id":21,"amount":299.5,"currency":"INR",
            "upi":{"payer_vpa":"a@okaxis"},"payment_gateway_response":{"rrn":"612345678901","resp_code":"00"}});
        let cd = parse(&body("ORDER_SUCCEEDED", o)).unwrap();
        assert_eq!(
            (cd.kind, cd.status, cd.amount),
            (
                Some("payment"),
                Some(PaymentStatus::Succeeded),
                Some(Paise(29950))
            )
        );
        assert_eq!(
            (cd.rrn.as_deref(), cd.payment_id.as_deref()),
            (Some("612345678901"), Some("pay_1"))
        );
        let o = serde_json::json!({"id":"ordeh_1","order_id":"pay_1","status":"AUTHORIZATION_FAILED","amount":1,
            "payment_gateway_response":{"resp_code":"U69"}});
        let cd = parse(&body("ORDER_FAILED", o)).unwrap();
        assert_eq!(
            (cd.status, cd.reason),
            (Some(PaymentStatus::Failed), Some(Reason::Expired))
        );
        let o = serde_json::json!({"id":"ordeh_1","order_id":"pay_1","status":"CHARGED","amount":10,
            "refunds":[{"id":"rf1","unique_request_id":"ref_1","amount":4.0,"status":"SUCCESS","ref":"PG1","refund_arn":"ARN1"}]});
        let cd = parse(&body("ORDER_REFUNDED", o.clone())).unwrap();
        assert_eq!(
            (cd.kind, cd.refund_status, cd.status),
            (
                Some("refund"),
                Some(RefundStatus::Succeeded),
                Some(PaymentStatus::Refunded)
            )
        );
        assert_eq!(
            (cd.amount, cd.utr.as_deref(), cd.refund_id.as_deref()),
            (Some(Paise(400)), Some("ARN1"), Some("ref_1"))
        );
        let cd = parse(&body("AUTO_REFUND_SUCCEEDED", o)).unwrap();
        assert_eq!(cd.status, Some(PaymentStatus::Reversed));
        let cd =
            parse(br#"{"id":"evt_V2_x","event_name":"MANDATE_CREATED","content":{"mandate":{}}}"#)
                .unwrap();
        assert_eq!(cd.kind, None);
        assert!(parse(br#"{"JWT":"x.y.z"}"#).is_err());
    }

    #[test]
    fn a_refund_webhook_is_one_event_per_refund() {
        let o = serde_json::json!({"id":"ordeh_1","order_id":"sy_1","status":"CHARGED","amount":100.0,
            "refunds":[
                {"id":"JRF1","unique_request_id":"7a4b8c9d0e1f2a3b4c5d","amount":40.0,"status":"SUCCESS","refund_arn":"ARN1"},
                {"id":"JRF2","unique_request_id":"0000000000000000beef","amount":60.5,"status":"PENDING"}]});
        let all = parse_all(&body("ORDER_REFUNDED", o.clone())).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (
                all[0].merchant_refund_id.as_deref(),
                all[0].gateway_refund_id.as_deref()
            ),
            (Some("7a4b8c9d0e1f2a3b4c5d"), Some("JRF1"))
        );
        assert_eq!(
            (all[0].refund_status, all[0].amount, all[0].utr.as_deref()),
            (
                Some(RefundStatus::Succeeded),
                Some(Paise(4_000)),
                Some("ARN1")
            )
        );
        assert_eq!(
            (all[1].refund_status, all[1].status, all[1].amount),
            (Some(RefundStatus::Pending), None, Some(Paise(6_050)))
        );
        // A refund's state is its own event: the same state in a later webhook is the
        // same event.
        let later = parse_all(&body("ORDER_REFUND_FAILED", o)).unwrap();
        assert_eq!(later[0].gateway_event_id, all[0].gateway_event_id);
        assert_eq!(
            parse(&body(
                "ORDER_REFUNDED",
                serde_json::json!({"id":"o","order_id":"x","status":"CHARGED","amount":1,
            "refunds":[]})
            ))
            .unwrap()
            .kind,
            Some("payment")
        );
    }
}
