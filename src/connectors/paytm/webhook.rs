//! Paytm callbacks: the payment webhook (form-urlencoded, `CHECKSUMHASH` over the
//! sorted values) and the refund webhooks (JSON `{head: {signature}, body}`, the
//! checksum over the exact text of `body`, as Paytm's reference handler extracts it).

use http::HeaderMap;
use serde_json::Value;

use super::checksum;
use super::response::{reason_of, status_of};
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::form::Form;
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError, amount, time_fmt};
use crate::model::PaymentStatus;

fn is_json(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

pub(super) fn verify(key: &str, body: &[u8]) -> Result<(), SignatureError> {
    if is_json(body) {
        let text = std::str::from_utf8(body).map_err(|_| SignatureError::Mismatch)?;
        let sig = amount::raw_at(text, &["head", "signature"])
            .and_then(|s| serde_json::from_str::<String>(s).ok())
            .ok_or(SignatureError::Missing("head.signature"))?;
        let inner = amount::raw_at(text, &["body"]).ok_or(SignatureError::Mismatch)?;
        return if checksum::verify(inner, key, &sig) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        };
    }
    let f = Form::parse(body);
    let given = f
        .non_empty("CHECKSUMHASH")
        .ok_or(SignatureError::Missing("CHECKSUMHASH"))?;
    if checksum::verify(&checksum::form_message(&f), key, &given) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs a payment webhook form as Paytm does: appends `CHECKSUMHASH`.
pub fn sign_callback(key: &str, pairs: &[(String, String)]) -> Option<String> {
    let sum = checksum::sign(&checksum::form_message(&Form(pairs.to_vec())), key)?;
    let mut all = pairs.to_vec();
    all.push(("CHECKSUMHASH".into(), sum));
    Some(crate::connectors::form::encode(&all))
}

fn malformed(e: impl std::fmt::Display) -> ParseError {
    ParseError::Malformed(e.to_string())
}

pub(super) fn parse(_h: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
    if is_json(body) {
        return parse_refund(body);
    }
    let f = Form::parse(body);
    let Some(order) = f.non_empty("ORDERID") else {
        return Err(ParseError::Malformed(
            "Paytm callback without ORDERID".into(),
        ));
    };
    let word = f.get("STATUS");
    let status = status_of(word);
    let code = f.get("RESPCODE");
    let bank = f.non_empty("BANKTXNID");
    let txn = f.non_empty("TXNID");
    Ok(CallbackData {
        gateway_event_id: format!(
            "paytm:{}:{word}:{code}",
            txn.clone().unwrap_or_else(|| order.clone())
        ),
        kind: Some("payment"),
        payment_id: Some(order.clone()),
        merchant_order_id: Some(order),
        gateway_payment_id: txn,
        status: Some(status),
        reason: (status == PaymentStatus::Failed).then(|| reason_of(code, f.get("RESPMSG"))),
        raw_status: word.to_string(),
        raw_code: f.non_empty("RESPCODE"),
        amount: f
            .raw("TXNAMOUNT")
            .map(amount::rupees_text)
            .transpose()
            .map_err(|e| malformed(format!("TXNAMOUNT: {e}")))?,
        currency: Some(f.non_empty("CURRENCY").unwrap_or_else(|| "INR".into())),
        // BANKTXNID is the UTR of a UPI payment, the bank's reference otherwise.
        utr: bank.clone().filter(|_| upi_mode(f.get("PAYMENTMODE"))),
        rrn: bank,
        occurred_at: time_fmt::parse_ist_naive(f.get("TXNDATE")),
        ..Default::default()
    })
}

/// Whether a `PAYMENTMODE` / `paymentMode` is UPI (absent: UPI, the mode of every
/// server-to-server payment here).
pub(super) fn upi_mode(mode: &str) -> bool {
    mode.is_empty() || mode.to_ascii_uppercase().starts_with("UPI")
}

/// Refund webhooks: `status` `TXN_SUCCESS` (success-refund: refunded), `SUCCESS`
/// (accept-refund: accepted, pending at the bank), `FAILED` / `TXN_FAILURE`.
fn parse_refund(body: &[u8]) -> Result<CallbackData, ParseError> {
    let text = std::str::from_utf8(body).map_err(malformed)?;
    let v: Value = serde_json::from_str(text).map_err(malformed)?;
    let b = v.get("body").unwrap_or(&Value::Null);
    let word = b.get("status").and_then(str_of).unwrap_or("").to_string();
    let rs = match word.as_str() {
        "TXN_SUCCESS" => RefundStatus::Succeeded,
        "FAILED" | "TXN_FAILURE" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    };
    let ours = b.get("refId").and_then(id_str);
    let theirs = b.get("refundId").and_then(id_str);
    let refund_id = ours.clone().or(theirs.clone());
    Ok(CallbackData {
        gateway_event_id: format!(
            "paytm:refund:{}:{word}",
            refund_id.clone().unwrap_or_default()
        ),
        kind: Some("refund"),
        payment_id: b.get("orderId").and_then(id_str),
        merchant_order_id: b.get("orderId").and_then(id_str),
        gateway_payment_id: b.get("txnId").and_then(id_str),
        refund_id,
        merchant_refund_id: ours,
        gateway_refund_id: theirs,
        refund_status: Some(rs),
        status: (rs == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded),
        raw_status: word,
        amount: amount::rupees_at(text, &["body", "refundAmount"]).map_err(malformed)?,
        currency: Some("INR".into()),
        utr: b.pointer("/refundDetailInfoList/0/rrn").and_then(id_str),
        ..Default::default()
    })
}
