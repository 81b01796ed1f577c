//! Adyen standard webhooks: `{live, notificationItems:[{NotificationRequestItem}]}`,
//! one POST may carry several items. Each item is signed on its own: base64
//! HMAC-SHA256, keyed with the hex-decoded HMAC key, over
//! `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`
//! (absent fields are empty, the values are NOT escaped), carried in
//! `additionalData.hmacSignature` (docs.adyen.com `development-resources/webhooks/
//! secure-webhooks/verify-hmac-signatures`; Adyen's python/java/node/ruby libraries).

use base64::Engine;
use serde_json::Value;

use super::response::{minor_units, refusal_reason};
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::sign;
use crate::connectors::time_fmt;
use crate::connectors::{CallbackData, ParseError, RefundStatus, SignatureError};
use crate::model::{PaymentStatus, Reason};

/// The acknowledgement body Adyen documents for standard webhooks.
pub const ACK: &str = "[accepted]";

fn field(item: &Value, k: &str) -> String {
    item.get(k).and_then(id_str).unwrap_or_default()
}

/// `amount.value` as it appears in the signed string: the integer's text (a string
/// value is taken as is).
fn value_text(item: &Value) -> String {
    match item.pointer("/amount/value") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The colon-joined string an item's HMAC covers.
pub fn signing_string(item: &Value) -> String {
    [
        field(item, "pspReference"),
        field(item, "originalReference"),
        field(item, "merchantAccountCode"),
        field(item, "merchantReference"),
        value_text(item),
        item.pointer("/amount/currency")
            .and_then(id_str)
            .unwrap_or_default(),
        field(item, "eventCode"),
        field(item, "success"),
    ]
    .join(":")
}

/// The items of a notification body.
pub fn items(v: &Value) -> Vec<&Value> {
    v.get("notificationItems")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|i| i.get("NotificationRequestItem"))
                .collect()
        })
        .unwrap_or_default()
}

fn hmac_key(hex_key: &str) -> Result<Vec<u8>, SignatureError> {
    hex::decode(hex_key.trim()).map_err(|_| SignatureError::NoSecret)
}

/// The `hmacSignature` Adyen would put on `item` (for the sandbox and tests).
pub fn sign_item(hex_key: &str, item: &Value) -> Result<String, SignatureError> {
    let key = hmac_key(hex_key)?;
    Ok(sign::hmac_sha256_base64(
        &key,
        &[signing_string(item).as_bytes()],
    ))
}

/// Every item of the batch must carry a valid signature (Adyen redelivers the whole
/// batch, so one bad item refuses it).
pub(super) fn verify(hex_key: &str, body: &[u8]) -> Result<(), SignatureError> {
    let key = hmac_key(hex_key)?;
    let v: Value = serde_json::from_slice(body).map_err(|_| SignatureError::Mismatch)?;
    let items = items(&v);
    if items.is_empty() {
        return Err(SignatureError::Missing("additionalData.hmacSignature"));
    }
    for item in items {
        let given = item
            .pointer("/additionalData/hmacSignature")
            .and_then(Value::as_str)
            .ok_or(SignatureError::Missing("additionalData.hmacSignature"))?;
        let mac = sign::hmac_sha256(&key, &[signing_string(item).as_bytes()]);
        let ok = base64::engine::general_purpose::STANDARD
            .decode(given.trim())
            .is_ok_and(|b| sign::ct_eq(&b, &mac));
        if !ok {
            return Err(SignatureError::Mismatch);
        }
    }
    Ok(())
}

fn is_upi(item: &Value) -> bool {
    item.get("paymentMethod")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("upi"))
}

/// One item → [`CallbackData`] (GATEWAYS.md section 4, Adyen rows).
pub fn parse_item(item: &Value) -> Result<CallbackData, ParseError> {
    let code = field(item, "eventCode");
    let success = field(item, "success").eq_ignore_ascii_case("true");
    let psp = item.get("pspReference").and_then(id_str);
    let original = item.get("originalReference").and_then(id_str);
    let reference = item.get("merchantReference").and_then(id_str);
    let amount = match item.pointer("/amount/value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(minor_units(v).ok_or_else(|| {
            ParseError::Malformed(format!("amount.value {v} is not minor units"))
        })?),
    };
    let mut out = CallbackData {
        gateway_event_id: format!(
            "{code}:{}:{}",
            psp.clone().unwrap_or_default(),
            field(item, "success")
        ),
        raw_status: format!("{code}:{}", field(item, "success")),
        raw_code: item.get("reason").and_then(str_of).map(str::to_string),
        payment_id: reference.clone(),
        merchant_order_id: reference,
        amount,
        currency: item.pointer("/amount/currency").and_then(id_str),
        occurred_at: item
            .get("eventDate")
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc),
        ..Default::default()
    };
    let payment = |out: &mut CallbackData, st: PaymentStatus, gid: Option<String>| {
        out.kind = Some("payment");
        out.status = Some(st);
        out.gateway_payment_id = gid;
    };
    // A refund item: `pspReference` is the refund's own, `originalReference` the
    // payment's, `merchantReference` the `reference` of our refund request.
    let refund = |out: &mut CallbackData, rs: RefundStatus| {
        out.kind = Some("refund");
        out.refund_status = Some(rs);
        out.refund_id = psp.clone();
        out.gateway_refund_id = psp.clone();
        out.merchant_refund_id = out.merchant_order_id.clone();
        out.gateway_payment_id = original.clone();
        out.status = (rs == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded);
    };
    match (code.as_str(), success) {
        ("AUTHORISATION", true) => {
            // UPI has no separate capture: the authorisation is the money.
            let st = if is_upi(item) {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Authorized
            };
            payment(&mut out, st, psp.clone());
        }
        ("AUTHORISATION", false) => {
            payment(&mut out, PaymentStatus::Failed, psp.clone());
            out.reason = Some(refusal_reason(None, item.get("reason").and_then(str_of)));
        }
        ("CAPTURE", true) => payment(&mut out, PaymentStatus::Succeeded, original.clone()),
        ("CANCELLATION", true) => payment(&mut out, PaymentStatus::Cancelled, original.clone()),
        ("OFFER_CLOSED", true) => {
            payment(&mut out, PaymentStatus::Failed, psp.clone());
            out.reason = Some(Reason::Expired);
        }
        ("REFUND", true) => refund(&mut out, RefundStatus::Succeeded),
        ("REFUND", false) | ("REFUND_FAILED" | "REFUNDED_REVERSED", _) => {
            refund(&mut out, RefundStatus::Failed)
        }
        ("CANCEL_OR_REFUND", true) => {
            let action = item
                .pointer("/additionalData/modification.action")
                .and_then(Value::as_str);
            if action == Some("cancel") {
                payment(&mut out, PaymentStatus::Cancelled, original.clone());
            } else {
                refund(&mut out, RefundStatus::Succeeded);
            }
        }
        // CAPTURE_FAILED, a refused cancellation, disputes, reports: acknowledged, ignored.
        _ => {}
    }
    Ok(out)
}

/// Every item of a notification body.
pub(super) fn parse_all(body: &[u8]) -> Result<Vec<CallbackData>, ParseError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let items = items(&v);
    if items.is_empty() {
        return Err(ParseError::Malformed("no notificationItems".into()));
    }
    items.into_iter().map(parse_item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adyen's published example (docs.adyen.com verify-hmac-signatures; also
    /// adyen-python-api-library test/UtilTest.py and adyen-ruby-api-library
    /// spec/utils/hmac_validator_spec.rb).
    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

    fn doc_item() -> Value {
        serde_json::json!({
            "additionalData": {"hmacSignature": "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},
            "amount": {"currency": "EUR", "value": 1130},
            "eventCode": "AUTHORISATION",
            "merchantAccountCode": "TestMerchant",
            "merchantReference": "TestPayment-1407325143704",
            "paymentMethod": "visa",
            "pspReference": "7914073381342284",
            "success": "true"
        })
    }

    #[test]
    fn published_vector_signs_and_verifies() {
        let item = doc_item();
        assert_eq!(
            signing_string(&item),
            "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
        );
        assert_eq!(
            sign_item(KEY, &item).unwrap(),
            "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
        );
        let body = serde_json::json!({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]});
        let bytes = serde_json::to_vec(&body).unwrap();
        assert_eq!(verify(KEY, &bytes), Ok(()));
        // One tampered item in a batch refuses the batch.
        let mut bad = doc_item();
        bad["amount"]["value"] = 1131.into();
        let batch = serde_json::json!({"live": "false", "notificationItems": [
            {"NotificationRequestItem": doc_item()}, {"NotificationRequestItem": bad}]});
        assert_eq!(
            verify(KEY, &serde_json::to_vec(&batch).unwrap()),
            Err(SignatureError::Mismatch)
        );
        assert!(verify(KEY, b"{}").is_err());
        assert!(verify("not hex", &bytes).is_err());
    }

    fn item(code: &str, success: &str, method: &str) -> Value {
        serde_json::json!({
            "amount": {"currency": "INR", "value": 29900},
            "eventCode": code, "success": success, "paymentMethod": method,
            "merchantAccountCode": "M", "merchantReference": "pay_1",
            "pspReference": "PSP2", "originalReference": "PSP1",
            "reason": "Not enough balance", "eventDate": "2026-01-02T10:00:00+05:30"
        })
    }

    #[test]
    fn event_codes() {
        let cd = parse_item(&item("AUTHORISATION", "true", "upi_collect")).unwrap();
        assert_eq!(cd.status, Some(PaymentStatus::Succeeded));
        assert_eq!(cd.gateway_payment_id.as_deref(), Some("PSP2"));
        assert_eq!(cd.payment_id.as_deref(), Some("pay_1"));
        let cd = parse_item(&item("AUTHORISATION", "true", "visa")).unwrap();
        assert_eq!(cd.status, Some(PaymentStatus::Authorized));
        let cd = parse_item(&item("AUTHORISATION", "false", "upi_collect")).unwrap();
        assert_eq!(
            (cd.status, cd.reason),
            (Some(PaymentStatus::Failed), Some(Reason::InsufficientFunds))
        );
        let cd = parse_item(&item("CANCELLATION", "true", "visa")).unwrap();
        assert_eq!(
            (cd.status, cd.gateway_payment_id.as_deref()),
            (Some(PaymentStatus::Cancelled), Some("PSP1"))
        );
        let cd = parse_item(&item("OFFER_CLOSED", "true", "upi_collect")).unwrap();
        assert_eq!(
            (cd.status, cd.reason),
            (Some(PaymentStatus::Failed), Some(Reason::Expired))
        );
        let cd = parse_item(&item("REFUND", "true", "upi_collect")).unwrap();
        assert_eq!(cd.kind, Some("refund"));
        assert_eq!(
            (cd.refund_status, cd.status),
            (Some(RefundStatus::Succeeded), Some(PaymentStatus::Refunded))
        );
        assert_eq!(
            (cd.refund_id.as_deref(), cd.gateway_payment_id.as_deref()),
            (Some("PSP2"), Some("PSP1"))
        );
        for (c, s) in [("REFUND", "false"), ("REFUND_FAILED", "true")] {
            let cd = parse_item(&item(c, s, "upi_collect")).unwrap();
            assert_eq!(
                (cd.refund_status, cd.status),
                (Some(RefundStatus::Failed), None)
            );
        }
        let cd = parse_item(&item("REPORT_AVAILABLE", "true", "")).unwrap();
        assert_eq!(cd.kind, None);
        let cd = parse_item(&item("CAPTURE_FAILED", "true", "visa")).unwrap();
        assert_eq!(cd.kind, None);
    }

    #[test]
    fn batches_parse_every_item() {
        let body = serde_json::json!({"live": "false", "notificationItems": [
            {"NotificationRequestItem": item("AUTHORISATION", "true", "upi_qr")},
            {"NotificationRequestItem": item("REFUND", "true", "upi_qr")}]});
        let all = parse_all(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].kind, Some("refund"));
        assert!(parse_all(b"[]").is_err());
    }
}
