//! Reading PayU: the status table (`status` × `unmappedstatus` → unified), the
//! S2S `_payment` answer (`txn_s2s_flow=4`) and the `verify_payment` answer.

use serde_json::Value;

use crate::connectors::classify::{DeclineInfo, id_str, str_of};
use crate::connectors::{Created, Outcome, StatusReport, amount, npci};
use crate::model::{Method, NextAction, PaymentStatus, Reason};

/// `(status, unmappedstatus, unified, reason)`; `"*"` matches any unmappedstatus.
/// docs.payu.in "transaction status" and the webhook samples: `success/captured`,
/// `success/auth` (card authorised, not captured), `pending`, `failure` with
/// `failed` / `userCancelled` / `dropped` / `bounced` (customer never completed),
/// and `autoRefund` (PayU returned the money itself).
pub const STATUS_TABLE: &[(&str, &str, PaymentStatus, Option<Reason>)] = &[
    ("success", "captured", PaymentStatus::Succeeded, None),
    ("success", "auth", PaymentStatus::Authorized, None),
    ("success", "*", PaymentStatus::Succeeded, None),
    ("pending", "*", PaymentStatus::Pending, None),
    ("in progress", "*", PaymentStatus::Pending, None),
    ("initiated", "*", PaymentStatus::Initiated, None),
    (
        "failure",
        "userCancelled",
        PaymentStatus::Failed,
        Some(Reason::CustomerDropped),
    ),
    (
        "failure",
        "dropped",
        PaymentStatus::Failed,
        Some(Reason::CustomerDropped),
    ),
    (
        "failure",
        "bounced",
        PaymentStatus::Failed,
        Some(Reason::CustomerDropped),
    ),
    ("failure", "autoRefund", PaymentStatus::Reversed, None),
    ("failure", "*", PaymentStatus::Failed, None),
    ("failed", "*", PaymentStatus::Failed, None),
];

/// The unified status and (table) reason of a PayU status pair.
pub fn status_of(status: &str, unmapped: &str) -> (PaymentStatus, Option<Reason>) {
    let st = status.trim().to_ascii_lowercase();
    STATUS_TABLE
        .iter()
        .find(|(s, u, _, _)| *s == st && (*u == "*" || u.eq_ignore_ascii_case(unmapped.trim())))
        .map_or((PaymentStatus::Unknown, None), |(_, _, p, r)| (*p, *r))
}

/// A failure's reason from PayU's error text (`error_Message`, `field9` carry the
/// bank's words; an NPCI code sometimes appears as a word of its own).
pub fn reason_from_text(text: &str) -> Option<Reason> {
    let t = text.to_ascii_lowercase();
    let by_word = [
        ("insufficient", Reason::InsufficientFunds),
        ("pin", Reason::IncorrectPin),
        ("expired", Reason::Expired),
        ("timed out", Reason::Expired),
        ("vpa", Reason::InvalidVpa),
        ("declined by", Reason::DeclinedByCustomer),
        ("rejected by", Reason::DeclinedByCustomer),
        ("cancel", Reason::CustomerDropped),
        ("limit", Reason::LimitExceeded),
    ];
    by_word
        .iter()
        .find(|(w, _)| t.contains(w))
        .map(|(_, r)| *r)
        .or_else(|| {
            text.split(|c: char| !c.is_ascii_alphanumeric())
                .find_map(npci::reason)
        })
}

/// The S2S `_payment` answer: `{metaData: {txnStatus, unmappedStatus, message,
/// referenceId}, result: {paymentId, intentURIData, …}}`. PayU answers HTTP 200 for a
/// refused transaction too, with `txnStatus: failed`.
pub(super) fn payment_created(body: &[u8], method: Method) -> Outcome {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Outcome::SentUnknown {
            detail: "PayU answered 2xx with an unreadable body".into(),
        };
    };
    let meta = v.get("metaData").unwrap_or(&Value::Null);
    let txn_status = meta.get("txnStatus").and_then(str_of).unwrap_or("");
    if txn_status.eq_ignore_ascii_case("failed") || txn_status.eq_ignore_ascii_case("failure") {
        let d = decline_info(&v);
        return Outcome::Declined {
            code: d.code,
            reason: d.reason,
            message: d.message,
        };
    }
    let result = v.get("result").unwrap_or(&Value::Null);
    let Some(pid) = result
        .get("paymentId")
        .or_else(|| result.get("mihpayid"))
        .and_then(id_str)
    else {
        return Outcome::SentUnknown {
            detail: "PayU answered without result.paymentId".into(),
        };
    };
    let intent = result
        .get("intentURIData")
        .and_then(str_of)
        .map(|d| format!("upi://pay?{}", d.trim_start_matches("upi://pay?")));
    let (status, next_action) = match (method, intent) {
        (Method::UpiCollect, _) => (PaymentStatus::Pending, NextAction::AwaitCustomer),
        (Method::UpiQr, Some(u)) => (
            PaymentStatus::Initiated,
            NextAction::UpiQr { qr_payload: u },
        ),
        (_, Some(u)) => (PaymentStatus::Initiated, NextAction::UpiIntent { uri: u }),
        (_, None) => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(pid),
        status,
        next_action,
        raw_status: if txn_status.is_empty() {
            "pending"
        } else {
            txn_status
        }
        .to_string(),
    })
}

/// A refusal: `metaData.message` (or `error` / `msg` on validation errors).
pub(super) fn decline_info(v: &Value) -> DeclineInfo {
    let meta = v.get("metaData").unwrap_or(&Value::Null);
    let message = meta
        .get("message")
        .or_else(|| v.get("error"))
        .or_else(|| v.get("msg"))
        .and_then(str_of)
        .unwrap_or("transaction failed")
        .to_string();
    let code = if is_duplicate(&message) {
        DUPLICATE.to_string()
    } else {
        meta.get("statusCode")
            .and_then(id_str)
            .unwrap_or_else(|| "failed".into())
    };
    DeclineInfo {
        code,
        reason: reason_from_text(&message).unwrap_or(Reason::Other),
        message,
    }
}

/// The code a refusal of a reused `txnid` is reported under (PayU keeps `txnid`
/// unique per merchant: that is its dedupe on our reference).
pub const DUPLICATE: &str = "duplicate_txnid";

fn is_duplicate(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("duplicate") || m.contains("already exists")
}

/// `verify_payment`: `{status: 1, transaction_details: {<txnid>: {…}}}`; an unknown
/// txnid comes back as `{mihpayid: "Not Found", status: "Not Found"}` (`Ok(None)`).
pub(super) fn verify_report(body: &str, txnid: &str) -> Result<Option<StatusReport>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let t = v
        .pointer("/transaction_details")
        .and_then(|d| d.get(txnid))
        .ok_or_else(|| "verify_payment answer without transaction_details".to_string())?;
    let status = t.get("status").and_then(str_of).unwrap_or("");
    if status.eq_ignore_ascii_case("not found") {
        return Ok(None);
    }
    let unmapped = t.get("unmappedstatus").and_then(str_of).unwrap_or("");
    let (st, table_reason) = status_of(status, unmapped);
    let text = format!(
        "{} {}",
        t.get("error_Message").and_then(str_of).unwrap_or(""),
        t.get("field9").and_then(str_of).unwrap_or("")
    );
    let at = |k: &str| amount::rupees_at(body, &["transaction_details", txnid, k]);
    let amt = match at("amt").map_err(|e| e.to_string())? {
        Some(a) => Some(a),
        None => at("transaction_amount").map_err(|e| e.to_string())?,
    };
    let bank_ref = t.get("bank_ref_num").and_then(id_str);
    Ok(Some(StatusReport {
        tpv_failed: false,
        status: st,
        reason: (st == PaymentStatus::Failed).then(|| {
            table_reason
                .or_else(|| reason_from_text(&text))
                .unwrap_or(Reason::Other)
        }),
        gateway_payment_id: t.get("mihpayid").and_then(id_str),
        utr: bank_ref.clone().filter(|_| is_upi(t)),
        rrn: bank_ref,
        raw_status: format!("{status}/{unmapped}"),
        raw_code: t.get("error_code").and_then(id_str),
        amount: amt,
    }))
}

fn is_upi(t: &Value) -> bool {
    t.get("mode")
        .and_then(str_of)
        .is_some_and(|m| m.eq_ignore_ascii_case("UPI"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_pairs() {
        assert_eq!(status_of("success", "captured").0, PaymentStatus::Succeeded);
        assert_eq!(status_of("Success", "auth").0, PaymentStatus::Authorized);
        assert_eq!(status_of("pending", "pending").0, PaymentStatus::Pending);
        assert_eq!(
            status_of("failure", "userCancelled"),
            (PaymentStatus::Failed, Some(Reason::CustomerDropped))
        );
        assert_eq!(
            status_of("failure", "failed"),
            (PaymentStatus::Failed, None)
        );
        assert_eq!(
            status_of("failure", "autoRefund").0,
            PaymentStatus::Reversed
        );
        assert_eq!(status_of("weird", "").0, PaymentStatus::Unknown);
    }

    #[test]
    fn reasons_from_bank_text() {
        assert_eq!(
            reason_from_text("Insufficient funds in customer account"),
            Some(Reason::InsufficientFunds)
        );
        assert_eq!(reason_from_text("NPCI code ZH"), Some(Reason::InvalidVpa));
        assert_eq!(reason_from_text("No Error"), None);
    }

    #[test]
    fn verify_payment_found_and_not_found() {
        let v = r#"{"status":1,"msg":"1 out of 1 Transactions Fetched Successfully","transaction_details":{"T1":{"mihpayid":"403993715524","txnid":"T1","mode":"UPI","status":"success","unmappedstatus":"captured","amt":"40.00","bank_ref_num":"606311890458","error_code":"E000","error_Message":"No Error"}}}"#;
        let r = verify_report(v, "T1").unwrap().unwrap();
        assert_eq!(r.status, PaymentStatus::Succeeded);
        assert_eq!(r.amount, Some(crate::model::Paise(4000)));
        assert_eq!(r.utr.as_deref(), Some("606311890458"));
        let nf = r#"{"status":0,"msg":"0 out of 1 Transactions Fetched Successfully","transaction_details":{"T2":{"mihpayid":"Not Found","status":"Not Found"}}}"#;
        assert_eq!(verify_report(nf, "T2"), Ok(None));
        let bad = r#"{"transaction_details":{"T3":{"status":"success","amt":"x"}}}"#;
        assert!(verify_report(bad, "T3").is_err());
    }

    #[test]
    fn s2s_answers() {
        let ok = br#"{"metaData":{"message":null,"referenceId":"r1","txnId":"T1","txnStatus":"pending","unmappedStatus":"pending"},"result":{"paymentId":"4039937","intentURIData":"pa=m@hdfc&pn=M&tr=4039937&am=1.00&cu=INR"}}"#;
        match payment_created(ok, Method::UpiIntent) {
            Outcome::Created(c) => {
                assert_eq!(c.gateway_payment_id.as_deref(), Some("4039937"));
                assert_eq!(
                    c.next_action,
                    NextAction::UpiIntent {
                        uri: "upi://pay?pa=m@hdfc&pn=M&tr=4039937&am=1.00&cu=INR".into()
                    }
                );
            }
            o => panic!("{o:?}"),
        }
        let dup = br#"{"metaData":{"message":"Duplicate transaction id","txnStatus":"failed"},"result":null}"#;
        assert!(
            matches!(payment_created(dup, Method::UpiIntent), Outcome::Declined { code, .. } if code == DUPLICATE)
        );
        assert!(matches!(
            payment_created(b"<html>", Method::UpiIntent),
            Outcome::SentUnknown { .. }
        ));
    }
}
