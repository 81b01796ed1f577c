//! Razorpay webhooks: `X-Razorpay-Signature` verification and event parsing.

use http::HeaderMap;
use serde_json::Value;

use super::response::payment_report;
use super::{EVENT_ID_HEADER, NOTE_PAYMENT_ID, SIGNATURE_HEADER};
use crate::connectors::Credentials;
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::sign::{self, header};
use crate::connectors::time_fmt;
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError, VerifyOptions};
use crate::model::{Paise, PaymentStatus};

/// Signs a webhook body as Razorpay does: the `X-Razorpay-Signature` value (lowercase
/// hex HMAC-SHA256 of the raw body, keyed with the webhook secret).
pub fn sign_callback(secret: &str, body: &[u8]) -> String {
    sign::hmac_sha256_hex(secret.as_bytes(), &[body])
}

pub(super) fn verify_callback(
    credentials: &Credentials,
    headers: &HeaderMap,
    body: &[u8],
    _opts: VerifyOptions,
) -> Result<(), SignatureError> {
    // Razorpay sends no signed timestamp: replay protection is the event-id dedupe.
    let secret = credentials
        .webhook_secret
        .as_ref()
        .ok_or(SignatureError::NoSecret)?;
    let sig = header(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let mac = sign::hmac_sha256(secret.expose().as_bytes(), &[body]);
    if sign::hex_matches(sig, &mac) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

pub(super) fn parse_callback(headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let event = v.get("event").and_then(Value::as_str).unwrap_or("");
    let payment = v.pointer("/payload/payment/entity");
    let refund = v.pointer("/payload/refund/entity");
    let entity_id = refund
        .or(payment)
        .and_then(|e| e.get("id"))
        .and_then(id_str)
        .unwrap_or_default();
    let gateway_event_id = header(headers, EVENT_ID_HEADER)
        .map(str::to_string)
        .unwrap_or_else(|| {
            // No event id header (SDK vectors): derive one from the content.
            let digest = sign::hmac_sha256(b"razorpay-event", &[body]);
            format!("{event}:{entity_id}:{}", hex::encode(&digest[..8]))
        });
    let mut out = CallbackData {
        gateway_event_id,
        occurred_at: v
            .get("created_at")
            .and_then(Value::as_i64)
            .and_then(time_fmt::from_unix_seconds),
        ..Default::default()
    };
    let is_event = v.get("entity").and_then(Value::as_str) == Some("event");
    if let (true, Some(r)) = (is_event && event.starts_with("refund."), refund) {
        let raw = r.get("status").and_then(str_of).unwrap_or("").to_string();
        let rs = match raw.as_str() {
            "processed" => RefundStatus::Succeeded,
            "failed" => RefundStatus::Failed,
            _ => RefundStatus::Pending,
        };
        let uncaptured = payment
            .and_then(|p| p.get("captured"))
            .and_then(Value::as_bool)
            == Some(false);
        out.kind = Some("refund");
        out.refund_id = r.get("id").and_then(id_str);
        // The refund's own id and our receipt, never the payment's id (HS #5298).
        out.gateway_refund_id = out.refund_id.clone();
        out.merchant_refund_id = super::refund::merchant_refund_id(r);
        out.refund_status = Some(rs);
        out.status = match rs {
            RefundStatus::Succeeded if uncaptured => Some(PaymentStatus::Reversed),
            RefundStatus::Succeeded => Some(PaymentStatus::Refunded),
            _ => None,
        };
        out.gateway_payment_id = r
            .get("payment_id")
            .and_then(id_str)
            .or_else(|| payment.and_then(|p| p.get("id")).and_then(id_str));
        out.merchant_order_id = payment.and_then(|p| p.get("order_id")).and_then(id_str);
        out.payment_id = payment.and_then(note_payment_id);
        out.amount = r.get("amount").and_then(Value::as_i64).map(Paise);
        out.currency = r.get("currency").and_then(id_str);
        out.utr = r.pointer("/acquirer_data/arn").and_then(id_str);
        out.raw_status = raw;
        return Ok(out);
    }
    let payment_event = event.starts_with("payment.") || event == "order.paid";
    if let (true, Some(p)) = (is_event && payment_event, payment) {
        let rep = payment_report(p);
        out.kind = Some("payment");
        out.status = Some(rep.status);
        out.reason = rep.reason;
        out.raw_status = rep.raw_status;
        out.raw_code = rep.raw_code;
        out.gateway_payment_id = rep.gateway_payment_id;
        out.merchant_order_id = p.get("order_id").and_then(id_str);
        out.payment_id = note_payment_id(p);
        out.amount = rep.amount;
        out.currency = p.get("currency").and_then(id_str);
        out.utr = rep.utr;
        out.rrn = rep.rrn;
        out.payer_vpa = p
            .get("vpa")
            .and_then(id_str)
            .or_else(|| p.pointer("/upi/vpa").and_then(id_str));
        return Ok(out);
    }
    // Disputes, downtime, settlements, or not an event at all: acknowledged, ignored.
    out.raw_status = event.to_string();
    Ok(out)
}

fn note_payment_id(p: &Value) -> Option<String> {
    p.get("notes")
        .and_then(|n| n.get(NOTE_PAYMENT_ID))
        .and_then(id_str)
}
