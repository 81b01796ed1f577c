//! Cashfree webhooks: `x-webhook-signature` verification (with the timestamp
//! tolerance) and event parsing.

use http::HeaderMap;
use serde_json::Value;

use super::response::payment_report;
use super::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::connectors::Credentials;
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::sign::{self, header};
use crate::connectors::time_fmt;
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError, VerifyOptions};
use crate::model::{Paise, PaymentStatus};

/// Signs a webhook body as Cashfree does: the `x-webhook-signature` value (base64
/// HMAC-SHA256 of the `x-webhook-timestamp` text, in Unix milliseconds, followed by
/// the raw body).
pub fn sign_callback(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
    let ts = timestamp_ms.to_string();
    sign::hmac_sha256_base64(secret.as_bytes(), &[ts.as_bytes(), body])
}

pub(super) fn verify_callback(
    credentials: &Credentials,
    headers: &HeaderMap,
    body: &[u8],
    opts: VerifyOptions,
) -> Result<(), SignatureError> {
    // Cashfree signs with the PG client secret; a dedicated webhook secret, when
    // configured, takes precedence.
    let secret = credentials
        .webhook_secret
        .as_ref()
        .or(credentials.key_secret.as_ref())
        .ok_or(SignatureError::NoSecret)?;
    let sig = header(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let ts = header(headers, TIMESTAMP_HEADER).ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let mac = sign::hmac_sha256(secret.expose().as_bytes(), &[ts.as_bytes(), body]);
    if !sign::base64_matches(sig, &mac) {
        return Err(SignatureError::Mismatch);
    }
    opts.check_fresh(
        ts.trim()
            .parse::<i64>()
            .ok()
            .and_then(time_fmt::from_unix_millis),
    )
}

pub(super) fn parse_callback(headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let typ = v.get("type").and_then(Value::as_str).unwrap_or("");
    let mut out = CallbackData {
        occurred_at: v
            .get("event_time")
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc),
        ..Default::default()
    };
    let idem = header(headers, IDEMPOTENCY_HEADER).map(str::to_string);
    if let (true, Some(r)) = (typ.contains("REFUND"), v.pointer("/data/refund")) {
        let raw = r
            .get("refund_status")
            .and_then(str_of)
            .unwrap_or("")
            .to_string();
        let rs = match raw.as_str() {
            "SUCCESS" => RefundStatus::Succeeded,
            "CANCELLED" | "FAILED" => RefundStatus::Failed,
            _ => RefundStatus::Pending,
        };
        let auto = typ.starts_with("AUTO_REFUND")
            || r.get("refund_type").and_then(Value::as_str) == Some("PAYMENT_AUTO_REFUND");
        let refund_id = r.get("refund_id").and_then(id_str);
        let cf_refund_id = r.get("cf_refund_id").and_then(id_str);
        out.gateway_event_id = idem
            .unwrap_or_else(|| format!("{typ}:{}:{raw}", cf_refund_id.clone().unwrap_or_default()));
        out.kind = Some("refund");
        out.merchant_refund_id = refund_id.clone();
        out.gateway_refund_id = cf_refund_id.clone();
        out.refund_id = refund_id.or(cf_refund_id);
        out.refund_status = Some(rs);
        out.status = match rs {
            RefundStatus::Succeeded if auto => Some(PaymentStatus::Reversed),
            RefundStatus::Succeeded => Some(PaymentStatus::Refunded),
            _ => None,
        };
        out.gateway_payment_id = r.get("cf_payment_id").and_then(id_str);
        out.merchant_order_id = r.get("order_id").and_then(id_str);
        out.payment_id = out.merchant_order_id.clone();
        out.amount = r
            .get("refund_amount")
            .map(Paise::from_rupees_json)
            .transpose()
            .map_err(|e| ParseError::Malformed(e.to_string()))?;
        out.currency = r.get("refund_currency").and_then(id_str);
        out.utr = r.get("refund_arn").and_then(id_str);
        out.raw_status = raw;
        if let Some(t) = r
            .get("processed_at")
            .or_else(|| r.get("created_at"))
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc)
        {
            out.occurred_at = Some(t);
        }
        return Ok(out);
    }
    let payment = v
        .pointer("/data/payment")
        .filter(|p| p.get("payment_status").is_some());
    if let (true, Some(p)) = (typ.starts_with("PAYMENT_"), payment) {
        // Webhooks carry `error_details` beside `payment`, not inside it.
        let mut with_errors = p.clone();
        if let (Some(o), Some(e)) = (
            with_errors.as_object_mut(),
            v.pointer("/data/error_details"),
        ) && !o.contains_key("error_details")
        {
            o.insert("error_details".into(), e.clone());
        }
        let rep = payment_report(&with_errors);
        out.gateway_event_id = idem.unwrap_or_else(|| {
            format!(
                "{typ}:{}:{}",
                rep.gateway_payment_id.clone().unwrap_or_default(),
                rep.raw_status
            )
        });
        out.kind = Some("payment");
        out.status = Some(rep.status);
        out.reason = rep.reason;
        out.raw_status = rep.raw_status;
        out.raw_code = rep.raw_code;
        out.gateway_payment_id = rep.gateway_payment_id;
        out.merchant_order_id = v.pointer("/data/order/order_id").and_then(id_str);
        out.payment_id = out.merchant_order_id.clone();
        out.amount = p
            .get("payment_amount")
            .map(Paise::from_rupees_json)
            .transpose()
            .map_err(|e| ParseError::Malformed(e.to_string()))?;
        out.currency = p.get("payment_currency").and_then(id_str);
        out.utr = rep.utr;
        out.payer_vpa = p.pointer("/payment_method/upi/upi_id").and_then(id_str);
        if let Some(t) = p
            .get("payment_time")
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc)
        {
            out.occurred_at = Some(t);
        }
        return Ok(out);
    }
    // Settlement, dispute, instrument webhooks: acknowledged, ignored.
    out.gateway_event_id = idem.unwrap_or_else(|| {
        let d = sign::hmac_sha256(b"cashfree-event", &[body]);
        format!("{typ}:{}", hex::encode(&d[..8]))
    });
    out.raw_status = typ.to_string();
    Ok(out)
}
