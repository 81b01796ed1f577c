//! PayU's refund commands as the sandbox answers them, on the postservice route
//! beside `verify_payment` (`POST /merchant/postservice.php?form=2`):
//! `cancel_refund_transaction` (`var1` mihpayid, `var2` token, `var3` rupees) and
//! `check_action_status` (`var1` mihpayid, `var2=payuid`: every action on it).
//!
//! Checked as PayU does: the parameters present, the `key|command|var1|SALT` hash
//! (when the sandbox knows the salt), the amount as a rupee decimal above zero, a
//! known mihpayid, a fresh token (a used one is refused, `Token already exists.`).
//! Every answer is HTTP 200 (`status: 1` accepted, `status: 0` refused), as PayU's.
//! A refund is always only queued in the answer; its outcome is in the status
//! answer. PayU posts its (unsigned) refund callback only to a `var5` URL, which
//! switchyard never sends: this twin sends no refund webhooks.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::dialects::{hold, json_resp, take};
use super::{SbxRefund, SbxRefundStatus, Taken};
use crate::connectors::form::Form;
use crate::connectors::{amount, payu};
use crate::model::Paise;
use crate::sandbox::state::Shared;

fn answer(v: Value) -> Response {
    json_resp(StatusCode::OK, v)
}

fn refused(msg: &str, code: Option<u32>, mihpayid: &str) -> Response {
    answer(json!({"status": 0, "msg": msg, "error_code": code, "mihpayid": mihpayid}))
}

/// The refund command answer, or `None` for the other commands.
pub(crate) async fn postservice(s: &Arc<Shared>, f: &Form) -> Option<Response> {
    let command = f.get("command");
    if command != payu::REFUND_COMMAND && command != payu::STATUS_COMMAND {
        return None;
    }
    let var1 = f.get("var1");
    if var1.is_empty() || f.raw("hash").is_none() {
        return Some(answer(json!({"status": 0, "msg": "Parameter missing"})));
    }
    if let (Some(salt), Some(key)) = (
        s.cred(|c| c.key_secret.as_ref()),
        s.cred(|c| c.key_id.as_ref()),
    ) {
        let want = payu::command_hash(&key, command, var1, &salt);
        if f.get("key") != key || !payu::hash::matches(f.get("hash"), &want) {
            return Some(answer(json!({"status": 0, "msg": "Invalid Hash."})));
        }
    }
    Some(if command == payu::REFUND_COMMAND {
        refund(s, f).await
    } else {
        status(s, var1)
    })
}

async fn refund(s: &Arc<Shared>, f: &Form) -> Response {
    let (mihpayid, token) = (f.get("var1"), f.get("var2"));
    if token.is_empty() || f.raw("var3").is_none() {
        return answer(json!({"status": 0, "msg": "Parameter missing"}));
    }
    let paise = match amount::rupees_text(f.get("var3")) {
        Ok(p) if p.get() > 0 => p.get(),
        _ => return refused("Refund FAILURE - Invalid amount", Some(105), mihpayid),
    };
    let Some((txnid, rec)) = s.reference_of(mihpayid) else {
        return refused("Transaction not exists", Some(116), mihpayid);
    };
    let before = s.refunds.get(token).is_some();
    match take(
        s,
        "",
        token,
        mihpayid,
        Some(&txnid),
        paise,
        Some(rec.amount),
    ) {
        Taken::Refund(_) if before => refused("Token already exists.", Some(106), mihpayid),
        Taken::Refund(r) => answer(json!({"status": 1, "msg": "Refund Request Queued",
            "request_id": request_id(&r), "bank_ref_num": null, "mihpayid": mihpayid,
            "error_code": 102})),
        Taken::TooMuch => refused(
            "Refund FAILURE - Amount greater than refundable amount",
            Some(105),
            mihpayid,
        ),
        Taken::Hold => hold().await,
    }
}

/// PayU's request ids are numbers.
fn request_id(r: &SbxRefund) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(r.refund_id.as_bytes()) % 1_000_000_000;
    format!("1{h:09}")
}

fn action(r: &SbxRefund) -> Value {
    let (status, arn) = match r.status {
        SbxRefundStatus::Pending => ("queued", Value::Null),
        SbxRefundStatus::Processed => ("success", Value::from(r.arn.clone())),
        SbxRefundStatus::Failed => ("failure", Value::Null),
    };
    json!({"mihpayid": r.gateway_payment_id, "bank_ref_num": null, "request_id": request_id(r),
        "amt": Paise(r.amount).to_rupees_string(), "mode": "UPI", "action": "refund",
        "token": r.refund_id, "status": status, "bank_arn": arn, "settlement_id": null,
        "amount_settled": null, "UTR_no": null, "value_date": null, "refund_mode": "Back to Source"})
}

fn status(s: &Arc<Shared>, mihpayid: &str) -> Response {
    let actions: serde_json::Map<String, Value> = s
        .refunds
        .of_payment(mihpayid)
        .iter()
        .map(|r| (request_id(r), action(r)))
        .collect();
    if actions.is_empty() {
        return answer(
            json!({"status": 0, "msg": "0 out of 1 Transactions Fetched Successfully",
            "transaction_details": {mihpayid: "No action status found"}}),
        );
    }
    answer(
        json!({"status": 1, "msg": "1 out of 1 Transactions Fetched Successfully",
        "transaction_details": {mihpayid: actions}}),
    )
}
