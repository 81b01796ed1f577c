//! PayU callbacks (form-urlencoded, the same fields as the browser response):
//! the reverse SHA-512 `hash` verified over the decoded fields, then parsed.
//! PayU's refund-status callback (JSON) carries no hash at all, so it can never
//! verify and is refused: refunds are learnt from the status API. It is still
//! parsed (as a refund event with its own ids) for tools that read it.

use http::HeaderMap;

use super::hash::{matches, reverse_hash};
use super::response::{reason_from_text, status_of};
use crate::connectors::form::Form;
use crate::connectors::{CallbackData, ParseError, SignatureError, amount, time_fmt};
use crate::model::PaymentStatus;

pub(super) fn verify(salt: &str, body: &[u8]) -> Result<(), SignatureError> {
    let f = Form::parse(body);
    let given = f.non_empty("hash").ok_or(SignatureError::Missing("hash"))?;
    if matches(&given, &reverse_hash(&f, salt)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs a callback form as PayU does: appends `hash` (the reverse hash) to `pairs`.
pub fn sign_callback(salt: &str, pairs: &[(String, String)]) -> String {
    let f = Form(pairs.to_vec());
    let mut all = pairs.to_vec();
    all.push(("hash".into(), reverse_hash(&f, salt)));
    crate::connectors::form::encode(&all)
}

pub(super) fn parse(_headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return parse_refund(body);
    }
    let f = Form::parse(body);
    let status = f.get("status");
    let unmapped = f.get("unmappedstatus");
    let Some(mihpayid) = f.non_empty("mihpayid") else {
        return Err(ParseError::Malformed(
            "PayU callback without mihpayid".into(),
        ));
    };
    let (st, table_reason) = status_of(status, unmapped);
    let amount = match f.raw("amount") {
        Some(a) => Some(
            amount::rupees_text(a).map_err(|e| ParseError::Malformed(format!("amount: {e}")))?,
        ),
        None => None,
    };
    let upi = f.get("mode").eq_ignore_ascii_case("UPI");
    let bank_ref = f.non_empty("bank_ref_num");
    let text = format!("{} {}", f.get("error_Message"), f.get("field9"));
    Ok(CallbackData {
        gateway_event_id: format!("payu:{mihpayid}:{status}:{unmapped}"),
        kind: Some("payment"),
        payment_id: f.non_empty("txnid"),
        merchant_order_id: f.non_empty("txnid"),
        gateway_payment_id: Some(mihpayid),
        status: Some(st),
        reason: (st == PaymentStatus::Failed).then(|| {
            table_reason
                .or_else(|| reason_from_text(&text))
                .unwrap_or(crate::model::Reason::Other)
        }),
        raw_status: format!("{status}/{unmapped}"),
        raw_code: f.non_empty("error"),
        amount,
        currency: Some("INR".into()),
        utr: bank_ref.clone().filter(|_| upi),
        rrn: bank_ref,
        payer_vpa: f.non_empty("field3").filter(|v| upi && v.contains('@')),
        occurred_at: time_fmt::parse_ist_naive(f.get("addedon")),
        ..Default::default()
    })
}

/// The refund-status callback: `{mihpayid, request_id, token, amt, status,
/// action: refund, bank_arn, merchantTxnId}` (`bank_arn` may be a number, ids may
/// carry spaces, as the docs' samples show).
fn parse_refund(body: &[u8]) -> Result<CallbackData, ParseError> {
    use crate::connectors::classify::id_str;
    use serde_json::Value;
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let s = |k: &str| v.get(k).and_then(id_str).map(|x| x.trim().to_string());
    let word = s("status").unwrap_or_default();
    let rs = super::refund::refund_state(&word);
    let amount = match v.get("amt") {
        Some(Value::String(a)) => {
            Some(amount::rupees_text(a).map_err(|e| ParseError::Malformed(format!("amt: {e}")))?)
        }
        _ => None,
    };
    Ok(CallbackData {
        gateway_event_id: format!("payu:refund:{}:{word}", s("request_id").unwrap_or_default()),
        kind: Some("refund"),
        payment_id: s("merchantTxnId"),
        merchant_order_id: s("merchantTxnId"),
        gateway_payment_id: s("mihpayid"),
        refund_id: s("request_id"),
        gateway_refund_id: s("request_id"),
        merchant_refund_id: s("token"),
        refund_status: Some(rs),
        status: (rs == crate::connectors::RefundStatus::Succeeded)
            .then_some(PaymentStatus::Refunded),
        raw_status: word,
        amount,
        currency: Some("INR".into()),
        utr: s("bank_arn"),
        ..Default::default()
    })
}
