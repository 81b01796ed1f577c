//! Adyen refunds as the sandbox answers them: `POST /v71/payments/{pspReference}/refunds`
//! (201 `status: received`, never the outcome) and the `REFUND` notification
//! (`success` `true`, or `false` with a reason), HMAC-signed per item like the
//! payment notifications.
//!
//! Checked as Adyen does: the `X-API-Key` header (401, `000`), a JSON body (400,
//! `702`), `merchantAccount` (422, `14_005`), `amount.value` an integer in minor
//! units above zero (422, `100`) with a currency (422, `101`), a known payment
//! `pspReference`, not more than what is left (422, `137` Invalid amount specified).
//! The twin's choice for an unknown payment is 422 `167` (Adyen's code list has no
//! single documented answer for it). Idempotency as Adyen documents it: the same
//! `Idempotency-Key` with the same body answers the first refund again (nothing is
//! refunded twice); with another body it is refused (422, `704`). Adyen does not
//! deduplicate on `reference`: without a key every call is a new refund.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::dialects::{hold, json_resp, take};
use super::{SbxRefund, SbxRefundStatus, Taken};
use crate::connectors::adyen::{self, API_KEY_HEADER, IDEMPOTENCY_HEADER};
use crate::sandbox::state::Shared;

type S = State<Arc<Shared>>;

pub(super) fn routes(r: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    r.route("/v71/payments/{psp}/refunds", post(refund))
}

fn error(status: StatusCode, code: &str, message: &str, typ: &str) -> Response {
    json_resp(
        status,
        json!({"status": status.as_u16(), "errorCode": code, "message": message, "errorType": typ}),
    )
}

fn invalid(code: &str, message: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        message,
        "validation",
    )
}

type Bodies = Mutex<HashMap<(std::net::SocketAddr, String), String>>;

/// The body first sent under each idempotency key (per twin).
fn bodies() -> &'static Bodies {
    static B: OnceLock<Bodies> = OnceLock::new();
    B.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `true` when the key is new or was used with the same body.
fn same_body(s: &Shared, key: &str, body: &str) -> bool {
    let Ok(mut m) = bodies().lock() else {
        return false;
    };
    if m.len() > 100_000 {
        m.clear();
    }
    m.entry((s.addr, key.to_string()))
        .or_insert_with(|| body.to_string())
        == body
}

async fn refund(State(s): S, h: HeaderMap, Path(psp): Path<String>, body: Bytes) -> Response {
    if h.get(API_KEY_HEADER).is_none_or(|k| k.is_empty()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "000",
            "HTTP Status Response - Unauthorized",
            "security",
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "702",
            "Unexpected input: \", expected: }",
            "validation",
        );
    };
    let Some(account) = v
        .get("merchantAccount")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    else {
        return invalid(
            "14_005",
            "Required field 'merchantAccount' is not provided.",
        );
    };
    let Some(value) = v
        .pointer("/amount/value")
        .filter(|x| x.is_u64())
        .and_then(Value::as_i64)
        .filter(|x| *x > 0)
    else {
        return invalid(
            "100",
            "Required field 'amount.value' is not provided or not an integer.",
        );
    };
    let Some(currency) = v
        .pointer("/amount/currency")
        .and_then(Value::as_str)
        .filter(|c| c.len() == 3)
    else {
        return invalid("101", "Required field 'amount.currency' is not provided.");
    };
    let Some((payment_ref, rec)) = s.reference_of(&psp) else {
        return invalid("167", "Original pspReference required for this operation");
    };
    let reference = v.get("reference").and_then(Value::as_str).unwrap_or("");
    let key = match h.get(IDEMPOTENCY_HEADER).and_then(|k| k.to_str().ok()) {
        Some(k) if !k.is_empty() => {
            if !same_body(&s, k, &String::from_utf8_lossy(&body)) {
                return invalid("704", "request already processed or in progress");
            }
            k.to_string()
        }
        // No key: a new refund every time (the reference is not unique at Adyen).
        _ => format!("{reference}#{}", s.next_seq()),
    };
    match take(
        &s,
        "SBXR",
        &key,
        &psp,
        Some(&payment_ref),
        value,
        Some(rec.amount),
    ) {
        Taken::Refund(r) => json_resp(
            StatusCode::CREATED,
            json!({"merchantAccount": account, "paymentPspReference": psp,
                   "reference": reference, "pspReference": r.gateway_refund_id,
                   "status": "received", "amount": {"currency": currency, "value": r.amount}}),
        ),
        Taken::TooMuch => invalid("137", "Invalid amount specified"),
        Taken::Hold => hold().await,
    }
}

/// The signed `REFUND` notification of a settled refund (`None` while pending).
pub(crate) fn webhook_body(r: &SbxRefund, hex_key: &str) -> Option<Vec<u8>> {
    let (success, reason) = match r.status {
        SbxRefundStatus::Processed => ("true", ""),
        SbxRefundStatus::Failed => ("false", "Insufficient balance on payment"),
        SbxRefundStatus::Pending => return None,
    };
    let mut item = json!({
        "amount": {"currency": "INR", "value": r.amount},
        "eventCode": "REFUND",
        "eventDate": crate::connectors::time_fmt::format_utc(OffsetDateTime::now_utc()),
        "merchantAccountCode": "SandboxMerchant",
        "merchantReference": r.refund_id,
        "originalReference": r.gateway_payment_id,
        "paymentMethod": "upi_collect",
        "pspReference": r.gateway_refund_id,
        "reason": reason,
        "success": success,
        "additionalData": {},
    });
    let sig = adyen::sign_item(hex_key, &item).ok()?;
    item["additionalData"]["hmacSignature"] = sig.into();
    Some(
        json!({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]})
            .to_string()
            .into_bytes(),
    )
}
