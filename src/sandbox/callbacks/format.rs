//! Callback bodies and signature headers in each dialect's real format, signed with
//! the connectors' own signing functions so switchyard's verifiers accept them.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::offset;

use super::Accepted;
use crate::connectors::ConnectorKind;
use crate::connectors::{cashfree, generic, razorpay};
use crate::model::Paise;

/// Which event of a payment a callback reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The final outcome (success or failure, as the sandbox's status answer says).
    Final,
    /// An earlier, older event (pending / authorized / user dropped), one second before
    /// the final one: sent after it when the out-of-order knob picks the payment.
    Earlier,
    /// A failure two seconds before a success (ground-truth runs: "success after an
    /// earlier failure"), sent before the final event.
    FailedFirst,
}

/// One callback, ready to sign and send (the same bytes on every redelivery).
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    /// Stable across redeliveries and duplicates (the gateway's event id).
    pub event_id: String,
    pub body: Vec<u8>,
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::Null, Value::from)
}

fn rrn(a: &Accepted) -> String {
    format!(
        "{:012}",
        xxhash_rust::xxh3::xxh3_64_with_seed(a.gateway_payment_id.as_bytes(), 7)
            % 1_000_000_000_000
    )
}

fn event_id(a: &Accepted, phase: Phase) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(a.gateway_payment_id.as_bytes());
    let p = match phase {
        Phase::Final => "f",
        Phase::Earlier => "e",
        Phase::FailedFirst => "x",
    };
    format!("evt_sbx{h:016x}{p}")
}

/// Builds the callback body for `phase` of an accepted payment.
pub(crate) fn build(kind: ConnectorKind, a: &Accepted, phase: Phase) -> Callback {
    let at = match phase {
        Phase::Final => a.at,
        Phase::Earlier => a.at - time::Duration::seconds(1),
        Phase::FailedFirst => a.at - time::Duration::seconds(2),
    };
    let event_id = event_id(a, phase);
    let failed;
    let (a, phase) = if phase == Phase::FailedFirst {
        failed = Accepted {
            succeeded: false,
            ..a.clone()
        };
        (&failed, Phase::Final)
    } else {
        (a, phase)
    };
    let body = match kind {
        // The sandbox has no Juspay UPI initiation, so it never accepts such a
        // payment; should one appear, it speaks the generic format.
        ConnectorKind::Generic | ConnectorKind::JuspayUpi => generic_body(a, phase, at, &event_id),
        ConnectorKind::Razorpay => razorpay_body(a, phase, at),
        ConnectorKind::Cashfree => cashfree_body(a, phase, at),
    };
    Callback {
        event_id,
        body: body.into_bytes(),
    }
}

fn generic_body(a: &Accepted, phase: Phase, at: OffsetDateTime, event_id: &str) -> String {
    let (status, reason, npci, utr) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => ("pending", Value::Null, Value::Null, Value::Null),
        (_, true) => ("succeeded", Value::Null, Value::Null, s(&rrn(a))),
        (_, false) => ("failed", s("insufficient_funds"), s("Z9"), Value::Null),
    };
    format!(
        r#"{{"event_id":"{event_id}","type":"payment","payment":{{"id":{},"merchant_txn_id":{},"order_id":{},"status":"{status}","reason":{reason},"npci_code":{npci},"amount":{},"currency":"INR","utr":{utr},"rrn":{utr},"payer_vpa":null,"occurred_at":"{}"}}}}"#,
        s(&a.gateway_payment_id),
        s(&a.payment_id),
        opt(a.order_id.as_deref()),
        a.amount,
        crate::connectors::time_fmt::format_utc(at),
    )
}

fn razorpay_body(a: &Accepted, phase: Phase, at: OffsetDateTime) -> String {
    let (event, status, captured, err_code, err_reason, rrn) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => (
            "payment.authorized",
            "authorized",
            false,
            Value::Null,
            Value::Null,
            s(&rrn(a)),
        ),
        (_, true) => (
            "payment.captured",
            "captured",
            true,
            Value::Null,
            Value::Null,
            s(&rrn(a)),
        ),
        (_, false) => (
            "payment.failed",
            "failed",
            false,
            s("BAD_REQUEST_ERROR"),
            s("insufficient_funds"),
            Value::Null,
        ),
    };
    let ts = at.unix_timestamp();
    format!(
        r#"{{"entity":"event","account_id":"acc_sandbox","event":"{event}","contains":["payment"],"payload":{{"payment":{{"entity":{{"id":{},"entity":"payment","amount":{},"currency":"INR","status":"{status}","order_id":{},"method":"upi","captured":{captured},"error_code":{err_code},"error_reason":{err_reason},"acquirer_data":{{"rrn":{rrn}}},"notes":{{"{}":{}}},"created_at":{ts}}}}}}},"created_at":{ts}}}"#,
        s(&a.gateway_payment_id),
        a.amount,
        opt(a.order_id.as_deref()),
        razorpay::NOTE_PAYMENT_ID,
        s(&a.payment_id),
    )
}

fn ist(t: OffsetDateTime) -> String {
    t.to_offset(offset!(+5:30))
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn cashfree_body(a: &Accepted, phase: Phase, at: OffsetDateTime) -> String {
    let rupees = Paise(a.amount).to_rupees_string();
    let (typ, status, message, bank_ref, errors) = match (phase, a.succeeded) {
        (Phase::Earlier, _) => (
            "PAYMENT_USER_DROPPED_WEBHOOK",
            "USER_DROPPED",
            "User dropped and did not complete the payment",
            Value::Null,
            "null".to_string(),
        ),
        (_, true) => (
            "PAYMENT_SUCCESS_WEBHOOK",
            "SUCCESS",
            "00::Transaction success",
            s(&rrn(a)),
            "null".to_string(),
        ),
        (_, false) => (
            "PAYMENT_FAILED_WEBHOOK",
            "FAILED",
            "Z9::Insufficient funds",
            Value::Null,
            r#"{"error_code":"TRANSACTION_DECLINED","error_description":"insufficient balance","error_reason":"insufficient_funds","error_source":"customer","error_code_raw":"Z9","error_description_raw":"INSUFFICIENT FUNDS"}"#.to_string(),
        ),
    };
    let pid = s(&a.payment_id);
    format!(
        r#"{{"data":{{"order":{{"order_id":{pid},"order_amount":{rupees},"order_currency":"INR","order_tags":null}},"payment":{{"cf_payment_id":{},"payment_status":"{status}","payment_amount":{rupees},"payment_currency":"INR","payment_message":"{message}","payment_time":"{t}","bank_reference":{bank_ref},"auth_id":null,"payment_method":{{"upi":{{"channel":"collect","upi_id":null}}}},"payment_group":"upi"}},"customer_details":{{"customer_id":{pid}}},"error_details":{errors}}},"event_time":"{t}","type":"{typ}"}}"#,
        s(&a.gateway_payment_id),
        t = ist(at),
    )
}

/// The signature (and companion) headers for one delivery attempt, signed now.
pub(crate) fn headers(
    kind: ConnectorKind,
    secret: &str,
    cb: &Callback,
    attempt: u32,
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    match kind {
        ConnectorKind::Generic | ConnectorKind::JuspayUpi => {
            let ts = now.unix_timestamp();
            vec![
                (generic::TIMESTAMP_HEADER, ts.to_string()),
                (
                    generic::SIGNATURE_HEADER,
                    generic::sign_callback(secret, ts, &cb.body),
                ),
            ]
        }
        ConnectorKind::Razorpay => vec![
            (
                razorpay::SIGNATURE_HEADER,
                razorpay::sign_callback(secret, &cb.body),
            ),
            (razorpay::EVENT_ID_HEADER, cb.event_id.clone()),
        ],
        ConnectorKind::Cashfree => {
            let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
            vec![
                (cashfree::TIMESTAMP_HEADER, ms.to_string()),
                (
                    cashfree::SIGNATURE_HEADER,
                    cashfree::sign_callback(secret, ms, &cb.body),
                ),
                ("x-webhook-version", "2025-01-01".to_string()),
                ("x-webhook-attempt", attempt.to_string()),
                (cashfree::IDEMPOTENCY_HEADER, cb.event_id.clone()),
            ]
        }
    }
}
