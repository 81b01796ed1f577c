//! The Pay Callback and refund callback: RSA-PSS-SHA256 verification of
//! `x-merchant-payload-signature` and parsing into [`CallbackData`].
//!
//! Juspay signs the callback JSON with its keys sorted alphabetically (compact).
//! The raw body is verified first; when that fails, the body re-serialized with
//! sorted keys is tried, as connector-service does (the signature covers values,
//! not the bytes' layout). `serde_json`'s map is a `BTreeMap` here, so
//! `to_vec(&Value)` is the sorted, compact form.

use base64::Engine;
use http::HeaderMap;
use rsa::pss::{BlindedSigningKey, Signature, VerifyingKey};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

use crate::connectors::classify::{id_str, str_of};
use crate::connectors::sign::{self, header};
use crate::connectors::time_fmt;
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError};
use crate::model::{Paise, PaymentStatus, Reason};

/// Header carrying the base64 RSA-PSS-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-merchant-payload-signature";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub(super) fn verify(
    key: &RsaPublicKey,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), SignatureError> {
    let given =
        header(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let bytes = B64
        .decode(given.trim())
        .map_err(|_| SignatureError::Mismatch)?;
    let sig = Signature::try_from(bytes.as_slice()).map_err(|_| SignatureError::Mismatch)?;
    let vk = VerifyingKey::<Sha256>::new(key.clone());
    if vk.verify(body, &sig).is_ok() {
        return Ok(());
    }
    let sorted = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    match sorted {
        Some(s) if s != body && vk.verify(&s, &sig).is_ok() => Ok(()),
        _ => Err(SignatureError::Mismatch),
    }
}

/// Signs `body` as Juspay does: base64 RSA-PSS-SHA256 with the private key in PKCS#8
/// PEM. For tests and the sandbox (Juspay's real key never leaves Juspay).
pub fn sign_callback(private_key_pem: &str, body: &[u8]) -> Result<String, String> {
    use rsa::pkcs8::DecodePrivateKey;
    let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem.trim()).map_err(|e| e.to_string())?;
    Ok(sign_callback_with(
        &BlindedSigningKey::<Sha256>::new(key),
        body,
    ))
}

/// [`sign_callback`] with the key already parsed (parsing costs more than signing).
pub fn sign_callback_with(signer: &BlindedSigningKey<Sha256>, body: &[u8]) -> String {
    let sig = signer.sign_with_rng(&mut rsa::rand_core::OsRng, body);
    B64.encode(sig.to_bytes())
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(id_str)
}

/// The rupee amount under `k`, from the raw text (never through `f64`); present but
/// not a rupee decimal is refused.
fn amount(body: &[u8], k: &str) -> Result<Option<Paise>, ParseError> {
    crate::connectors::amount::rupees_at(crate::connectors::amount::text(body), &[k])
        .map_err(|e| ParseError::Malformed(format!("{k}: {e}")))
}

/// NPCI code and Juspay status word → unified status (GATEWAYS.md section 4;
/// UPI.md section 6: `00` success, `01` pending, `RB`/`96` deemed, `U69` expired).
fn payment_status(status: &str, code: &str) -> PaymentStatus {
    match (status, code) {
        ("DEEMED", _) | (_, "RB" | "96") => PaymentStatus::Deemed,
        ("PENDING", _) | (_, "01" | "U67" | "U68" | "RR" | "RP") => PaymentStatus::Pending,
        // Juspay's own status word is the verdict; a missing code says nothing
        // against it (issue 12 item 12: not `failed`).
        ("SUCCESS", "00" | "") | ("", "00") => PaymentStatus::Succeeded,
        (_, "U69") => PaymentStatus::Expired,
        _ => PaymentStatus::Failed,
    }
}

pub(super) fn parse(body: &[u8]) -> Result<CallbackData, ParseError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    if !v.is_object() {
        return Err(ParseError::Malformed(
            "callback body is not a JSON object".into(),
        ));
    }
    let status = v
        .get("gatewayResponseStatus")
        .and_then(str_of)
        .unwrap_or("")
        .to_ascii_uppercase();
    let code = s(&v, "gatewayResponseCode").unwrap_or_default();
    let mut out = CallbackData {
        raw_status: status.clone(),
        raw_code: (!code.is_empty()).then(|| code.clone()),
        currency: Some("INR".into()),
        ..Default::default()
    };
    if let Some(refund_id) = s(&v, "refundRequestId") {
        let refund_type = v.get("refundType").and_then(str_of).unwrap_or("");
        // connector-service: an OFFLINE refund with 00 is still pending at the bank.
        let rs = match (status.as_str(), code.as_str()) {
            ("SUCCESS", "00") if refund_type != "OFFLINE" => RefundStatus::Succeeded,
            ("SUCCESS" | "PENDING" | "DEEMED", _) => RefundStatus::Pending,
            _ => RefundStatus::Failed,
        };
        out.gateway_event_id = format!("refund:{refund_id}:{status}:{code}");
        out.kind = Some("refund");
        out.merchant_refund_id = Some(refund_id.clone());
        out.refund_id = Some(refund_id);
        out.refund_status = Some(rs);
        out.status = (rs == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded);
        out.merchant_order_id = s(&v, "originalMerchantRequestId");
        out.payment_id = out.merchant_order_id.clone();
        out.amount = amount(body, "refundAmount")?;
        out.occurred_at = v
            .get("refundTimestamp")
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc);
        return Ok(out);
    }
    let typ = v.get("type").and_then(str_of).unwrap_or("");
    let is_pay = matches!(
        typ,
        "MERCHANT_CREDITED_VIA_PAY" | "MERCHANT_CREDITED_VIA_COLLECT"
    );
    let Some(txn) = s(&v, "gatewayTransactionId").filter(|_| is_pay) else {
        // Customer-side or unknown types: acknowledged, ignored.
        let d = sign::hmac_sha256(b"juspay-upi-event", &[body]);
        out.gateway_event_id = format!("{typ}:{}", hex::encode(&d[..8]));
        out.raw_status = typ.to_string();
        return Ok(out);
    };
    let st = payment_status(&status, &code);
    out.gateway_event_id = format!("pay:{txn}:{status}:{code}");
    out.kind = Some("payment");
    out.status = Some(st);
    out.reason = match st {
        PaymentStatus::Failed | PaymentStatus::Expired => {
            Some(Reason::from_npci(&code).unwrap_or(Reason::Other))
        }
        _ => None,
    };
    out.tpv_failed = v
        .get("tpvValidationStatus")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("FAILURE"));
    out.gateway_payment_id = Some(txn);
    out.rrn = s(&v, "gatewayReferenceId");
    out.merchant_order_id = s(&v, "merchantRequestId");
    out.payment_id = out.merchant_order_id.clone();
    out.amount = amount(body, "amount")?;
    out.payer_vpa = s(&v, "payerVpa");
    out.occurred_at = v
        .get("transactionTimestamp")
        .and_then(Value::as_str)
        .and_then(time_fmt::parse_rfc3339_utc);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_and_codes() {
        assert_eq!(payment_status("SUCCESS", "00"), PaymentStatus::Succeeded);
        assert_eq!(payment_status("DEEMED", "RB"), PaymentStatus::Deemed);
        assert_eq!(payment_status("PENDING", "01"), PaymentStatus::Pending);
        assert_eq!(payment_status("FAILURE", "U69"), PaymentStatus::Expired);
        assert_eq!(payment_status("FAILURE", "Z9"), PaymentStatus::Failed);
        // A success word with a non-00 code is not money.
        assert_eq!(payment_status("SUCCESS", "ZA"), PaymentStatus::Failed);
        // Issue 12 item 12: SUCCESS without a code is not a failure.
        assert_eq!(payment_status("SUCCESS", ""), PaymentStatus::Succeeded);
    }

    #[test]
    fn tpv_failure_is_flagged() {
        let body = br#"{"amount":"1.00","gatewayResponseCode":"00","gatewayResponseStatus":"SUCCESS","gatewayTransactionId":"AXI1","merchantRequestId":"pay_1","tpvValidationStatus":"FAILURE","type":"MERCHANT_CREDITED_VIA_PAY"}"#;
        let cd = parse(body).unwrap();
        assert!(cd.tpv_failed);
        assert_eq!(cd.status, Some(PaymentStatus::Succeeded));
        assert_eq!(cd.amount, Some(Paise(100)));
    }

    /// Issue 12 item 4: `"amount":"x"` is refused, never left for the intent's amount.
    #[test]
    fn bad_amounts_are_refused() {
        for bad in [r#""x""#, r#""-1.00""#, r#""1.001""#, "1e2"] {
            let body = format!(
                r#"{{"amount":{bad},"gatewayResponseCode":"00","gatewayResponseStatus":"SUCCESS","gatewayTransactionId":"AXI1","merchantRequestId":"pay_1","type":"MERCHANT_CREDITED_VIA_PAY"}}"#
            );
            assert!(parse(body.as_bytes()).is_err(), "{bad}");
        }
    }
}
