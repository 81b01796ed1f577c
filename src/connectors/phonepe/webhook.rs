//! PhonePe callbacks. PG v2: `Authorization` = lowercase hex SHA-256 of the
//! dashboard's `username:password` (no scheme prefix; it does not cover the body, so
//! the watchdog's status query is what confirms money). PG v1 (legacy):
//! `{"response": base64}` with `X-VERIFY` = hex SHA-256(base64 + salt key) + `###` +
//! salt index, over the body's base64 text.

use base64::Engine;
use http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::response::{reason_of, state_status};
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::sign::{ct_eq, header};
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError, amount, time_fmt};
use crate::model::PaymentStatus;

pub const AUTHORIZATION: &str = "authorization";
pub const X_VERIFY: &str = "x-verify";

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The v2 `Authorization` value for `username:password`.
pub fn v2_authorization(username_password: &str) -> String {
    sha256_hex(&[username_password.as_bytes()])
}

/// The v1 `X-VERIFY` value over `payload` (the base64 text, or for requests the
/// base64 text followed by the API path) with `salt_key` at `salt_index`.
pub fn x_verify(payload: &str, salt_key: &str, salt_index: &str) -> String {
    format!(
        "{}###{salt_index}",
        sha256_hex(&[payload.as_bytes(), salt_key.as_bytes()])
    )
}

/// v2 with `username:password`; v1 (an `X-VERIFY` header) with the salt key.
pub(super) fn verify(
    headers: &HeaderMap,
    body: &[u8],
    username_password: Option<&str>,
    salt_key: Option<&str>,
) -> Result<(), SignatureError> {
    if let Some(xv) = header(headers, X_VERIFY) {
        let salt = salt_key.ok_or(SignatureError::NoSecret)?;
        let (_, index) = xv.rsplit_once("###").ok_or(SignatureError::Mismatch)?;
        let v: Value = serde_json::from_slice(body).map_err(|_| SignatureError::Mismatch)?;
        let b64 = v
            .get("response")
            .and_then(Value::as_str)
            .ok_or(SignatureError::Mismatch)?;
        let want = x_verify(b64, salt, index);
        return if ct_eq(xv.trim().to_ascii_lowercase().as_bytes(), want.as_bytes()) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        };
    }
    let up = username_password.ok_or(SignatureError::NoSecret)?;
    let given = header(headers, AUTHORIZATION).ok_or(SignatureError::Missing(AUTHORIZATION))?;
    let want = v2_authorization(up);
    if ct_eq(
        given.trim().to_ascii_lowercase().as_bytes(),
        want.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn malformed(e: impl std::fmt::Display) -> ParseError {
    ParseError::Malformed(e.to_string())
}

/// The attempt that decides: the completed one, else the last.
fn detail(p: &Value) -> Option<&Value> {
    let list = p.get("paymentDetails").and_then(Value::as_array)?;
    list.iter()
        .find(|d| d.get("state").and_then(Value::as_str) == Some("COMPLETED"))
        .or_else(|| list.last())
}

pub(super) fn parse(body: &[u8]) -> Result<CallbackData, ParseError> {
    let text = std::str::from_utf8(body).map_err(malformed)?;
    let v: Value = serde_json::from_str(text).map_err(malformed)?;
    if let Some(b64) = v.get("response").and_then(Value::as_str) {
        return parse_v1(b64);
    }
    let event = v
        .get("event")
        .or_else(|| v.get("type"))
        .and_then(str_of)
        .unwrap_or("");
    let Some(p) = v.get("payload") else {
        return Ok(CallbackData {
            gateway_event_id: format!("phonepe:{event}"),
            raw_status: event.to_string(),
            ..Default::default()
        });
    };
    let state = p.get("state").and_then(str_of).unwrap_or("").to_string();
    let d = detail(p);
    let utr = d.and_then(|d| d.pointer("/rail/utr")).and_then(id_str);
    let amt = amount::minor_at(text, &["payload", "amount"]).map_err(malformed)?;
    let at = d
        .and_then(|d| d.get("timestamp"))
        .or_else(|| p.get("timestamp"))
        .and_then(Value::as_i64)
        .and_then(time_fmt::from_unix_millis);
    let mut out = CallbackData {
        raw_status: state.clone(),
        amount: amt,
        currency: Some("INR".into()),
        utr,
        occurred_at: at,
        ..Default::default()
    };
    if event.contains("refund") {
        let rs = super::refund::refund_state(&state);
        let ours = p.get("merchantRefundId").and_then(id_str);
        let theirs = p.get("refundId").and_then(id_str);
        out.gateway_event_id = format!(
            "phonepe:{event}:{}:{state}",
            ours.clone().or(theirs.clone()).unwrap_or_default()
        );
        out.kind = Some("refund");
        out.refund_id = ours.clone().or(theirs.clone());
        out.merchant_refund_id = ours;
        out.gateway_refund_id = theirs;
        // The refund's UTR: `splitInstruments` (refund status docs), else the
        // `paymentDetails` rail as the SDKs' refund callback samples carry it.
        out.utr = super::refund::refund_utr(p).or(out.utr.take());
        out.raw_code = p
            .get("detailedErrorCode")
            .or_else(|| p.get("errorCode"))
            .and_then(id_str);
        out.refund_status = Some(rs);
        out.status = (rs == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded);
        out.merchant_order_id = p.get("originalMerchantOrderId").and_then(id_str);
        out.payment_id = out.merchant_order_id.clone();
        return Ok(out);
    }
    let status = state_status(&state);
    let txn = d.and_then(|d| d.get("transactionId")).and_then(id_str);
    out.gateway_event_id = format!(
        "phonepe:{event}:{}:{state}:{}",
        p.get("orderId").and_then(id_str).unwrap_or_default(),
        txn.unwrap_or_default()
    );
    out.kind = Some("payment");
    out.status = Some(status);
    out.reason = reason_of(status, &state, p);
    out.raw_code = p
        .get("detailedErrorCode")
        .or_else(|| p.get("errorCode"))
        .and_then(id_str);
    out.gateway_payment_id = p.get("orderId").and_then(id_str);
    out.merchant_order_id = p.get("merchantOrderId").and_then(id_str);
    out.payment_id = out.merchant_order_id.clone();
    out.payer_vpa = d
        .and_then(|d| d.pointer("/rail/vpa"))
        .and_then(id_str)
        .filter(|v| v.contains('@'));
    Ok(out)
}

/// v1: the decoded `response` JSON (`code`, `data.{merchantTransactionId,
/// transactionId, amount, state, responseCode, paymentInstrument.utr}`).
fn parse_v1(b64: &str) -> Result<CallbackData, ParseError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(malformed)?;
    let text = String::from_utf8(raw).map_err(malformed)?;
    let v: Value = serde_json::from_str(&text).map_err(malformed)?;
    let code = v.get("code").and_then(str_of).unwrap_or("").to_string();
    let d = v.get("data").unwrap_or(&Value::Null);
    let status = match code.as_str() {
        "PAYMENT_SUCCESS" => PaymentStatus::Succeeded,
        "PAYMENT_ERROR" | "PAYMENT_DECLINED" | "PAYMENT_CANCELLED" | "TIMED_OUT" => {
            PaymentStatus::Failed
        }
        "PAYMENT_PENDING" | "INTERNAL_SERVER_ERROR" => PaymentStatus::Pending,
        _ => state_status(d.get("state").and_then(str_of).unwrap_or("")),
    };
    let response_code = d.get("responseCode").and_then(id_str);
    let reason = (status == PaymentStatus::Failed).then(|| {
        response_code
            .as_deref()
            .and_then(crate::connectors::npci::reason)
            .or((code == "TIMED_OUT").then_some(crate::model::Reason::Expired))
            .unwrap_or(crate::model::Reason::Other)
    });
    let mtid = d.get("merchantTransactionId").and_then(id_str);
    let txn = d.get("transactionId").and_then(id_str);
    Ok(CallbackData {
        gateway_event_id: format!(
            "phonepe:v1:{}:{code}",
            txn.clone().or(mtid.clone()).unwrap_or_default()
        ),
        kind: Some("payment"),
        payment_id: mtid.clone(),
        merchant_order_id: mtid,
        gateway_payment_id: txn,
        status: Some(status),
        reason,
        raw_status: code,
        raw_code: response_code,
        amount: amount::minor_at(&text, &["data", "amount"]).map_err(malformed)?,
        currency: Some("INR".into()),
        utr: d.pointer("/paymentInstrument/utr").and_then(id_str),
        ..Default::default()
    })
}
