//! PayU refunds, as docs.payu.in documents the postservice commands ("Refund
//! Transaction API", "Check Refund Status API with PayU ID"):
//! - `POST /merchant/postservice.php?form=2`, form `command=cancel_refund_transaction`,
//!   `var1` = the payment's `mihpayid`, `var2` = our refund id (PayU's merchant
//!   "token", unique per refund request), `var3` = the amount in rupees, `hash` =
//!   SHA-512 of `key|command|var1|SALT`. The answer is HTTP 200 either way:
//!   `{status: 1, msg: "Refund Request Queued", request_id, mihpayid, error_code: 102}`
//!   (accepted, pending) or `{status: 0, msg, error_code}` (refused). A resend on a
//!   token PayU already holds is refused ("Token already exists"): the refund exists,
//!   so it is answered from the status query, never sent under another token.
//! - status: `command=check_action_status`, `var1` = mihpayid, `var2=payuid`: every
//!   action on the payment, `transaction_details.{mihpayid}.{request_id}.{token,
//!   action, status, amt, bank_arn}`; ours is the `refund` action whose `token` is our
//!   refund id. "No action status found" / no such token: no such refund.
//! - Refund states: `success`, `failure`/`failed`, and pending ones (`queued`,
//!   `in progress`, `requested`, `pending`, `od_hit`), in either case.
//!
//! PayU's refund callback is unsigned (GATEWAYS.md 3.4), so refunds are settled by
//! this status query (the refund pass), never by the callback; switchyard sends no
//! `var5` callback URL.

use serde_json::Value;

use super::Payu;
use super::hash::command_hash;
use crate::connectors::RefundStatus;
use crate::connectors::classify::{id_str, str_of};
use crate::connectors::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{amount, classify};

pub const REFUND_COMMAND: &str = "cancel_refund_transaction";
pub const STATUS_COMMAND: &str = "check_action_status";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `cancel_refund_transaction` form.
pub fn refund_form(req: &RefundRequest<'_>, key: &str, salt: &str) -> Vec<(String, String)> {
    let var1 = req.gateway_payment_id;
    let hash = command_hash(key, REFUND_COMMAND, var1, salt);
    pairs(&[
        ("key", key),
        ("command", REFUND_COMMAND),
        ("var1", var1),
        ("var2", req.refund_id),
        ("var3", &req.amount.to_rupees_string()),
        ("hash", &hash),
    ])
}

/// The `check_action_status` form for every action on a payment (`var2=payuid`).
pub fn status_form(mihpayid: &str, key: &str, salt: &str) -> Vec<(String, String)> {
    let hash = command_hash(key, STATUS_COMMAND, mihpayid, salt);
    pairs(&[
        ("key", key),
        ("command", STATUS_COMMAND),
        ("var1", mihpayid),
        ("var2", "payuid"),
        ("hash", &hash),
    ])
}

/// A PayU refund status word → ours.
pub fn refund_state(word: &str) -> RefundStatus {
    match word.trim().to_ascii_lowercase().as_str() {
        "success" => RefundStatus::Succeeded,
        "failure" | "failed" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    }
}

/// One action entry of `check_action_status` (`None`: not a refund entry).
pub fn action_report(a: &Value) -> Option<RefundReport> {
    let raw = a.get("status").and_then(str_of)?.to_string();
    let amt = a.get("amt").and_then(|v| match v {
        Value::String(s) => amount::rupees_text(s).ok(),
        v => crate::model::Paise::from_rupees_json(v).ok(),
    });
    Some(RefundReport {
        gateway_refund_id: a.get("request_id").and_then(id_str),
        status: refund_state(&raw),
        arn: a
            .get("bank_arn")
            .and_then(id_str)
            .map(|s| s.trim().to_string()),
        raw_status: raw,
        amount: amt,
    })
}

/// Our refund in a `check_action_status` answer: the `refund` action with our token.
pub fn find_refund(v: &Value, mihpayid: &str, refund_id: &str) -> Option<RefundReport> {
    let actions = v
        .pointer("/transaction_details")?
        .get(mihpayid)?
        .as_object()?;
    actions
        .values()
        .filter(|a| {
            a.get("action")
                .and_then(Value::as_str)
                .is_none_or(|s| s.eq_ignore_ascii_case("refund"))
        })
        .find(|a| a.get("token").and_then(Value::as_str).map(str::trim) == Some(refund_id))
        .and_then(action_report)
}

/// The answer to `cancel_refund_transaction` (HTTP 200): accepted (`status: 1`).
pub fn accepted(v: &Value) -> Option<RefundReport> {
    if v.get("status").and_then(id_str).as_deref() != Some("1") {
        return None;
    }
    Some(RefundReport {
        gateway_refund_id: v
            .get("request_id")
            .or_else(|| v.get("txn_update_id"))
            .and_then(id_str),
        status: RefundStatus::Pending,
        arn: None,
        raw_status: v
            .get("msg")
            .and_then(str_of)
            .unwrap_or("queued")
            .to_string(),
        amount: None,
    })
}

/// A refusal's (code, message): `error_code` and `msg`.
pub fn refusal(v: &Value) -> (String, String) {
    (
        v.get("error_code")
            .and_then(id_str)
            .unwrap_or_else(|| "refund_failed".into()),
        v.get("msg")
            .and_then(str_of)
            .unwrap_or_default()
            .to_string(),
    )
}

/// Whether a refusal says the token is already used (the refund exists).
pub fn is_duplicate_token(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("token already") || m.contains("already exists") || m.contains("duplicate")
}

impl Payu {
    pub(super) async fn create_refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let form = refund_form(&req, self.key(), self.salt());
        let result = self
            .post_form(&format!("{}?form=2", super::POSTSERVICE_PATH), &form)
            .await;
        // PayU refuses with HTTP 200 and `status: 0`.
        let refused = match &result {
            Ok(r) if (200..300).contains(&r.status) => {
                let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                (v.get("status").and_then(id_str).as_deref() == Some("0")).then(|| refusal(&v))
            }
            _ => None,
        };
        match refused {
            Some((_, msg)) if is_duplicate_token(&msg) => {
                match self.query_refund(req.into()).await {
                    Ok(rep) => RefundOutcome::Accepted(rep),
                    Err(e) => RefundOutcome::Unknown {
                        detail: format!("token already used, status query failed: {e}"),
                    },
                }
            }
            Some((code, message)) => RefundOutcome::Declined {
                code,
                message: crate::model::scrub(&message).into_owned(),
            },
            None => refund_outcome(result, accepted, refusal),
        }
    }

    pub(super) async fn query_refund(
        &self,
        q: RefundQuery<'_>,
    ) -> Result<RefundReport, RefundLookup> {
        let form = status_form(q.gateway_payment_id, self.key(), self.salt());
        let r = self
            .post_form(&format!("{}?form=2", super::POSTSERVICE_PATH), &form)
            .await?;
        if !(200..300).contains(&r.status) {
            return Err(RefundLookup::Upstream(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            }));
        }
        let v: Value = serde_json::from_slice(&r.body)
            .map_err(|e| UpstreamError::BadResponse(e.to_string()))?;
        find_refund(&v, q.gateway_payment_id, q.refund_id).ok_or(RefundLookup::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::connectors::form::Form;
    use crate::model::Paise;

    fn req(amount: i64) -> RefundRequest<'static> {
        RefundRequest {
            refund_id: "20201105secrettokenaturend",
            payment_id: "sy_1",
            gateway_payment_id: "403993715521937565",
            amount: Paise(amount),
            currency: "INR",
            reason: None,
        }
    }

    /// docs.payu.in "Refund Transaction API" sample request: key, command, var1
    /// (mihpayid), var2 (token), then var3 (amount) and the hash.
    #[test]
    fn refund_form_golden() {
        let f = refund_form(&req(1_000), "JPM7Fg", "SALT");
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["key", "command", "var1", "var2", "var3", "hash"]);
        let form = Form(f);
        assert_eq!(form.get("command"), "cancel_refund_transaction");
        assert_eq!(form.get("var1"), "403993715521937565");
        assert_eq!(form.get("var2"), "20201105secrettokenaturend");
        assert_eq!(form.get("var3"), "10.00");
        assert_eq!(
            form.get("hash"),
            command_hash(
                "JPM7Fg",
                "cancel_refund_transaction",
                "403993715521937565",
                "SALT"
            )
        );
        let st = Form(status_form("403993715521937565", "JPM7Fg", "SALT"));
        assert_eq!(
            (st.get("command"), st.get("var2")),
            ("check_action_status", "payuid")
        );
    }

    #[test]
    fn refund_answers() {
        // The docs' success answer for a captured transaction.
        let ok = json!({"status": 1, "msg": "Refund Request Queued", "request_id": "131278422",
            "bank_ref_num": null, "mihpayid": 403993715521937565_u64, "error_code": 102});
        let rep = accepted(&ok).unwrap();
        assert_eq!(rep.status, RefundStatus::Pending);
        assert_eq!(rep.gateway_refund_id.as_deref(), Some("131278422"));
        let bad = json!({"status": 0, "msg": "Refund FAILURE - Invalid amount", "error_code": 105});
        assert!(accepted(&bad).is_none());
        assert_eq!(
            refusal(&bad),
            ("105".into(), "Refund FAILURE - Invalid amount".into())
        );
        assert!(is_duplicate_token("Token already exists."));
        assert!(!is_duplicate_token("Refund FAILURE - Invalid amount"));
    }

    /// docs.payu.in "Check Refund Status API with PayU ID" samples.
    #[test]
    fn status_by_payu_id() {
        let v = json!({"status": 1, "msg": "1 out of 1 Transactions Fetched Successfully",
            "transaction_details": {"403993715521937565": {
                "131278418": {"mihpayid": "403993715521937565", "request_id": "131278418",
                    "amt": "100.00", "action": "capture", "token": "", "status": "SUCCESS"},
                "131278422": {"mihpayid": "403993715521937565", "request_id": "131278422",
                    "amt": "10.00", "mode": "CC", "action": "refund", "token": "RefundToken1",
                    "status": "success", "bank_arn": null, "refund_mode": "Back to Source"}}}});
        let r = find_refund(&v, "403993715521937565", "RefundToken1").unwrap();
        assert_eq!(r.status, RefundStatus::Succeeded);
        assert_eq!(r.amount, Some(Paise(1_000)));
        assert_eq!(r.gateway_refund_id.as_deref(), Some("131278422"));
        assert_eq!(r.arn, None);
        assert!(find_refund(&v, "403993715521937565", "other").is_none());
        let nf = json!({"status": 0, "msg": "0 out of 1 Transactions Fetched Successfully",
            "transaction_details": {"403993715521937565": "No action status found"}});
        assert!(find_refund(&nf, "403993715521937565", "RefundToken1").is_none());
        for (w, s) in [
            ("QUEUED", RefundStatus::Pending),
            ("IN PROGRESS", RefundStatus::Pending),
            ("od_hit", RefundStatus::Pending),
            ("FAILURE", RefundStatus::Failed),
            ("success", RefundStatus::Succeeded),
        ] {
            assert_eq!(refund_state(w), s, "{w}");
        }
    }

    /// The unsigned refund callback (docs samples: a padded mihpayid, a numeric
    /// bank_arn): parsed with the refund's own ids, and never verified.
    #[test]
    fn refund_callback_parses_but_never_verifies() {
        let body = br#"{"mihpayid":" 403993715521937565 ","request_id":"131278422","merchantTxnId":"sy_1","amt":"10.00","status":"success","action":"refund","bank_arn":74332745,"token":"rf_1","key":"JPM7Fg"}"#;
        let cd = super::super::webhook::parse(&http::HeaderMap::new(), body).unwrap();
        assert_eq!(cd.kind, Some("refund"));
        assert_eq!(cd.merchant_refund_id.as_deref(), Some("rf_1"));
        assert_eq!(cd.gateway_refund_id.as_deref(), Some("131278422"));
        assert_eq!(cd.gateway_payment_id.as_deref(), Some("403993715521937565"));
        assert_eq!(cd.refund_status, Some(RefundStatus::Succeeded));
        assert_eq!(cd.amount, Some(Paise(1_000)));
        assert_eq!(cd.utr.as_deref(), Some("74332745"));
        assert!(super::super::webhook::verify("SALT", body).is_err());
    }
}
