//! Juspay Express Checkout refunds as the sandbox answers them:
//! `POST /orders/{order_id}/refunds` (the order with its `refunds[]`, ours `PENDING`
//! with `sent_to_gateway: false` — never final in the answer), the order status
//! (`GET /orders/{order_id}`, in `sandbox/dialects/juspay_ec.rs`) listing the
//! order's refunds, and the `ORDER_REFUNDED` / `ORDER_REFUND_FAILED` webhooks with
//! the whole order and Basic auth.
//!
//! Checked as Juspay documents it: Basic auth and `x-merchantid`, `unique_request_id`
//! and `amount` present (400 "Mandatory fields are missing"), `unique_request_id`
//! below 21 characters without special characters, the amount a rupee decimal
//! above zero (`invalid amount`), a known order (`NOT_FOUND` / 40) that is
//! `CHARGED`, not more than what is left (`invalid.amount.exceeded`), a fresh
//! `unique_request_id` for the order and not the same amount again within 5
//! seconds (both `duplicate.call`). The error codes for a long id and an order that
//! is not charged are the twin's wording (the docs state the rules, not the
//! answers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
use crate::connectors::amount;
use crate::connectors::juspay_ec::{DUPLICATE_CALL, UNIQUE_REQUEST_ID_MAX};
use crate::model::Paise;
use crate::sandbox::dialects::juspay_ec::{amount_of, authorized, form, order, order_uuid};
use crate::sandbox::state::Shared;

type S = State<Arc<Shared>>;

/// Juspay refuses the same amount for an order again within this long.
const SAME_AMOUNT_WINDOW: Duration = Duration::from_secs(5);

pub(super) fn routes(r: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    r.route("/orders/{id}/refunds", post(refund))
}

fn rupees_value(paise: i64) -> Value {
    serde_json::from_str(&Paise(paise).to_rupees_string()).unwrap_or(Value::Null)
}

/// One entry of an order's `refunds[]`.
fn entry(r: &SbxRefund) -> Value {
    let (status, sent) = match r.status {
        SbxRefundStatus::Pending => ("PENDING", false),
        SbxRefundStatus::Processed => ("SUCCESS", true),
        SbxRefundStatus::Failed => ("FAILURE", true),
    };
    let mut v = json!({"id": r.gateway_refund_id, "unique_request_id": r.refund_id,
        "ref": format!("PG{}", r.gateway_refund_id), "amount": rupees_value(r.amount),
        "status": status, "sent_to_gateway": sent, "refund_type": "STANDARD",
        "refund_source": "SANDBOX", "initiated_by": "API",
        "created": crate::connectors::time_fmt::format_utc(OffsetDateTime::now_utc())});
    if let Some(o) = v.as_object_mut() {
        match r.status {
            SbxRefundStatus::Processed => {
                o.insert("refund_arn".into(), json!(r.arn));
            }
            SbxRefundStatus::Failed => {
                o.insert("error_code".into(), json!("REFUND_FAILED"));
                o.insert("error_message".into(), json!("Refund declined by the bank"));
            }
            SbxRefundStatus::Pending => {}
        }
    }
    v
}

/// Adds the order's refunds (and `amount_refunded`) to an order object.
pub(crate) fn with_refunds(order: &mut Value, refunds: &[SbxRefund]) {
    if refunds.is_empty() {
        return;
    }
    let refunded: i64 = refunds
        .iter()
        .filter(|r| r.status == SbxRefundStatus::Processed)
        .map(|r| r.amount)
        .sum();
    if let Some(o) = order.as_object_mut() {
        o.insert(
            "refunds".into(),
            Value::Array(refunds.iter().map(entry).collect()),
        );
        o.insert("amount_refunded".into(), rupees_value(refunded));
    }
}

/// The webhook of a settled refund: the whole order with every refund.
pub(crate) fn webhook_body(r: &SbxRefund, all: &[SbxRefund], at: OffsetDateTime) -> Value {
    let event = match r.status {
        SbxRefundStatus::Failed => "ORDER_REFUND_FAILED",
        _ => "ORDER_REFUNDED",
    };
    let order_id = r.payment_id.clone().unwrap_or_default();
    let mut o = order(r.captured.unwrap_or(r.amount), &order_id, true);
    with_refunds(&mut o, all);
    let h = xxhash_rust::xxh3::xxh3_64(format!("{}{event}", r.gateway_refund_id).as_bytes());
    json!({"id": format!("evt_V2_sbx{h:016x}"), "date_created": crate::connectors::time_fmt::format_utc(at),
        "event_name": event, "content": {"order": o}})
}

fn error(code: &str, message: &str) -> Response {
    json_resp(
        StatusCode::BAD_REQUEST,
        json!({"status_id": -1, "status": "ERROR", "error_message": message, "error_code": code}),
    )
}

type Recent = Mutex<HashMap<(std::net::SocketAddr, String), Vec<(i64, Instant)>>>;

fn recent() -> &'static Recent {
    static R: OnceLock<Recent> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether a refund of the same amount was taken on the order within the window;
/// `record` notes one taken now.
fn same_amount(s: &Shared, order: &str, paise: i64, record: bool) -> bool {
    let Ok(mut m) = recent().lock() else {
        return false;
    };
    if m.len() > 100_000 {
        m.clear();
    }
    let now = Instant::now();
    let list = m.entry((s.addr, order.to_string())).or_default();
    list.retain(|(_, at)| now.duration_since(*at) < SAME_AMOUNT_WINDOW);
    if record {
        list.push((paise, now));
    }
    list.iter().any(|(a, _)| *a == paise)
}

async fn refund(State(s): S, h: HeaderMap, Path(order_id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = authorized(&h) {
        return *r;
    }
    let f = form(&body);
    let (Some(urid), Some(amt)) = (
        f.get("unique_request_id").filter(|u| !u.is_empty()),
        f.get("amount").filter(|a| !a.is_empty()),
    ) else {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"status": "Bad Request", "error_message": "Mandatory fields are missing",
                   "error_code": "Mandatory fields are missing"}),
        );
    };
    if urid.chars().count() > UNIQUE_REQUEST_ID_MAX
        || !urid.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return error(
            "invalid.unique_request_id",
            "unique_request_id should be less than 21 characters, without special characters",
        );
    }
    let paise = match amount::rupees_text(amt) {
        Ok(p) if p.get() > 0 => p.get(),
        _ => return error("invalid amount", "Amount is invalid."),
    };
    let Some(captured) = amount_of(s.addr, &order_id) else {
        return json_resp(
            StatusCode::NOT_FOUND,
            json!({"status_id": 40, "status": "NOT_FOUND", "order_id": order_id,
                   "error_message": "Order not found"}),
        );
    };
    if !s.would_settle_ok(&order_id) {
        return error(
            "invalid.order.status",
            "Refunds can be initiated only for CHARGED orders",
        );
    }
    let uuid = order_uuid(&order_id);
    if s.refunds
        .get(urid)
        .is_some_and(|r| r.gateway_payment_id == uuid)
    {
        return error(
            DUPLICATE_CALL,
            "A refund call was already completed with this unique_request_id for the order.",
        );
    }
    if same_amount(&s, &order_id, paise, false) {
        return error(
            DUPLICATE_CALL,
            "A refund call was already processing with this amount for the order.",
        );
    }
    let taken = take(
        &s,
        "JRF",
        urid,
        &uuid,
        Some(&order_id),
        paise,
        Some(captured),
    );
    if s.refunds.get(urid).is_some() {
        same_amount(&s, &order_id, paise, true);
    }
    match taken {
        Taken::Refund(r) => {
            let mut o = order(captured, &order_id, true);
            let mut all = s.refunds.of_payment(&uuid);
            // Initial status is always PENDING, not yet sent to the gateway.
            if let Some(mine) = all.iter_mut().find(|x| x.refund_id == r.refund_id) {
                mine.status = SbxRefundStatus::Pending;
            }
            with_refunds(&mut o, &all);
            json_resp(StatusCode::OK, o)
        }
        Taken::TooMuch => error(
            "invalid.amount.exceeded",
            "Refund amount exceeds the refundable amount.",
        ),
        Taken::Hold => hold().await,
    }
}
