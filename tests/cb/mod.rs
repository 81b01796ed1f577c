//! Callback test helpers: a server with one gateway per implemented connector
//! (generic `gen`, Razorpay `rzp`, Cashfree `cf`, Juspay UPI `jus`), and signed
//! payloads built from the documented formats (GATEWAYS.md section 3).
#![allow(dead_code)]

use std::net::SocketAddr;

use serde_json::{Value, json};
use switchyard::connectors::{generic, juspay_upi, sign};

use crate::common::TestServer;

/// Every `*_env` secret in the test config resolves to this.
pub const SECRET: &str = "test-secret";
pub const JUSPAY_PRIVATE: &str = include_str!("../keys/juspay_test_private.pem");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Success,
    Failure,
    Pending,
    Refund,
}

pub const GATEWAYS: [&str; 4] = ["gen", "rzp", "cf", "jus"];

/// The gateways block; `gen` initiates against `gen_addr`. `extra` is appended.
pub fn config(gen_addr: SocketAddr, extra: &str) -> String {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/juspay_test_public.pem"
    );
    format!(
        "[[gateway]]\nname = \"gen\"\nconnector = \"generic\"\nbase_url = \"http://{gen_addr}\"\n\
         webhook_secret_env = \"HOOK\"\ntimeout = \"2s\"\n\n\
         [[gateway]]\nname = \"rzp\"\nconnector = \"razorpay\"\nbase_url = \"http://127.0.0.1:9\"\n\
         key_id_env = \"K\"\nkey_secret_env = \"S\"\nwebhook_secret_env = \"HOOK\"\n\n\
         [[gateway]]\nname = \"cf\"\nconnector = \"cashfree\"\nbase_url = \"http://127.0.0.1:9\"\n\
         key_id_env = \"K\"\nkey_secret_env = \"S\"\nwebhook_secret_env = \"HOOK\"\n\n\
         [[gateway]]\nname = \"jus\"\nconnector = \"juspay_upi\"\nbase_url = \"http://127.0.0.1:9\"\n\
         webhook_secret_file = {key:?}\n\n\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"gen\", weight = 100 }}]\n\n{extra}"
    )
}

pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Signature headers for `body` on `gateway`, with `secret` (Juspay: always the test key).
pub fn headers(gateway: &str, body: &[u8], secret: &str, ts_secs: i64) -> Vec<(String, String)> {
    let h = |k: &str, v: String| (k.to_string(), v);
    match gateway {
        "gen" => vec![
            h(
                generic::SIGNATURE_HEADER,
                generic::sign_callback(secret, ts_secs, body),
            ),
            h(generic::TIMESTAMP_HEADER, ts_secs.to_string()),
        ],
        "rzp" => vec![h(
            "x-razorpay-signature",
            sign::hmac_sha256_hex(secret.as_bytes(), &[body]),
        )],
        "cf" => {
            let ts = (ts_secs * 1000).to_string();
            vec![
                h(
                    "x-webhook-signature",
                    sign::hmac_sha256_base64(secret.as_bytes(), &[ts.as_bytes(), body]),
                ),
                h("x-webhook-timestamp", ts),
            ]
        }
        "jus" => vec![h(
            juspay_upi::SIGNATURE_HEADER,
            juspay_upi::sign_callback(JUSPAY_PRIVATE, body).unwrap(),
        )],
        other => panic!("unknown gateway {other}"),
    }
}

/// A documented-format callback for payment `pid` (gateway id `gpid`), amount ₹499.
/// Refunds are ₹100 (partial). `tag` makes distinct events of the same kind.
pub fn payload(gateway: &str, kind: Kind, pid: &str, gpid: &str, tag: &str) -> Vec<u8> {
    let v = match gateway {
        "gen" => generic_body(kind, pid, gpid, tag),
        "rzp" => razorpay_body(kind, pid, gpid),
        "cf" => cashfree_body(kind, pid, gpid),
        "jus" => juspay_body(kind, pid, gpid),
        other => panic!("unknown gateway {other}"),
    };
    serde_json::to_vec(&v).unwrap()
}

fn generic_body(kind: Kind, pid: &str, gpid: &str, tag: &str) -> Value {
    let mut p = json!({"merchant_txn_id": pid, "id": gpid, "amount": 49900, "currency": "INR",
        "utr": "412345678901", "rrn": "412345678901", "payer_vpa": "alice@okaxis",
        "occurred_at": "2026-01-01T10:00:00+05:30"});
    let (typ, status) = match kind {
        Kind::Success => ("payment", "succeeded"),
        Kind::Failure => ("payment", "failed"),
        Kind::Pending => ("payment", "pending"),
        Kind::Refund => ("refund", "succeeded"),
    };
    if kind == Kind::Failure {
        p["npci_code"] = json!("Z9");
    }
    if kind != Kind::Refund {
        p["status"] = json!(status);
    }
    let mut v =
        json!({"event_id": format!("{pid}-{typ}-{status}{tag}"), "type": typ, "payment": p});
    if kind == Kind::Refund {
        v["refund"] = json!({"id": format!("rf_{pid}"), "status": "succeeded", "amount": 10000, "reference": "ARN1"});
    }
    v
}

fn razorpay_body(kind: Kind, pid: &str, gpid: &str) -> Value {
    let (event, status) = match kind {
        Kind::Success => ("payment.captured", "captured"),
        Kind::Failure => ("payment.failed", "failed"),
        Kind::Pending => ("payment.authorized", "created"),
        Kind::Refund => ("refund.processed", "captured"),
    };
    let mut pay = json!({"id": gpid, "entity": "payment", "amount": 49900, "currency": "INR",
        "status": status, "order_id": "order_T1", "method": "upi", "captured": status == "captured",
        "vpa": "alice@okaxis", "acquirer_data": {"rrn": "412345678901"},
        "notes": {"switchyard_payment_id": pid}});
    if kind == Kind::Failure {
        pay["error_code"] = json!("BAD_REQUEST_ERROR");
        pay["error_reason"] = json!("insufficient_funds");
    }
    let mut payload = json!({"payment": {"entity": pay}});
    if kind == Kind::Refund {
        payload["refund"] = json!({"entity": {"id": format!("rfnd_{pid}"), "entity": "refund",
            "amount": 10000, "currency": "INR", "payment_id": gpid, "status": "processed",
            "acquirer_data": {"arn": "ARN1"}}});
    }
    json!({"entity": "event", "account_id": "acc_T", "event": event, "contains": ["payment"],
        "payload": payload, "created_at": 1_767_241_800})
}

fn cashfree_body(kind: Kind, pid: &str, gpid: &str) -> Value {
    if kind == Kind::Refund {
        return json!({"data": {"refund": {"cf_payment_id": gpid, "cf_refund_id": "cfr1",
            "refund_id": format!("rf_{pid}"), "order_id": pid, "refund_amount": 100.00,
            "refund_currency": "INR", "refund_status": "SUCCESS", "refund_arn": "ARN1",
            "processed_at": "2026-01-01T11:00:00+05:30"}},
            "event_time": "2026-01-01T11:00:01+05:30", "type": "REFUND_STATUS_WEBHOOK"});
    }
    let (typ, status) = match kind {
        Kind::Success => ("PAYMENT_SUCCESS_WEBHOOK", "SUCCESS"),
        Kind::Failure => ("PAYMENT_FAILED_WEBHOOK", "FAILED"),
        _ => ("PAYMENT_SUCCESS_WEBHOOK", "PENDING"),
    };
    let errors = if kind == Kind::Failure {
        json!({"error_code": "TRANSACTION_DECLINED", "error_reason": "insufficient_funds", "error_code_raw": "Z9"})
    } else {
        Value::Null
    };
    json!({"data": {"order": {"order_id": pid, "order_amount": 499.00, "order_currency": "INR"},
        "payment": {"cf_payment_id": gpid, "payment_status": status, "payment_amount": 499.00,
            "payment_currency": "INR", "payment_time": "2026-01-01T10:00:00+05:30",
            "bank_reference": "412345678901", "payment_group": "upi",
            "payment_method": {"upi": {"channel": "collect", "upi_id": "alice@okaxis"}}},
        "error_details": errors},
        "event_time": "2026-01-01T10:00:01+05:30", "type": typ})
}

fn juspay_body(kind: Kind, pid: &str, gpid: &str) -> Value {
    if kind == Kind::Refund {
        return json!({"gatewayResponseCode": "00", "gatewayResponseStatus": "SUCCESS",
            "merchantChannelId": "APP", "merchantId": "M", "originalMerchantRequestId": pid,
            "refundAmount": "100.00", "refundRequestId": format!("rf_{pid}"),
            "refundTimestamp": "2026-01-01T11:00:00+05:30", "refundType": "UDIR"});
    }
    let (status, code) = match kind {
        Kind::Success => ("SUCCESS", "00"),
        Kind::Failure => ("FAILURE", "Z9"),
        _ => ("PENDING", "01"),
    };
    json!({"amount": "499.00", "gatewayReferenceId": "412345678901", "gatewayResponseCode": code,
        "gatewayResponseMessage": "m", "gatewayResponseStatus": status,
        "gatewayTransactionId": gpid, "merchantChannelId": "APP", "merchantId": "M",
        "merchantRequestId": pid, "payeeVpa": "shop@axisbank", "payerVpa": "alice@okaxis",
        "transactionTimestamp": "2026-01-01T10:00:00+05:30", "type": "MERCHANT_CREDITED_VIA_PAY"})
}

/// POSTs a callback; returns the status and JSON body.
pub async fn send(
    srv: &TestServer,
    gateway: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rb = srv
        .client
        .post(srv.url(&format!("/v1/callbacks/{gateway}")))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// A correctly signed callback.
pub async fn deliver(srv: &TestServer, gateway: &str, body: Vec<u8>) -> (u16, Value) {
    let h = headers(gateway, &body, SECRET, now_secs());
    send(srv, gateway, &h, body).await
}

/// A new payment through the API: (payment_id, gateway_payment_id).
pub async fn new_payment(srv: &TestServer, order: &str) -> (String, String) {
    let (status, v, _) = srv
        .pay(&format!("k-{order}"), crate::common::payment(order))
        .await;
    assert_eq!(status, 201, "{v}");
    (
        v["payment_id"].as_str().unwrap().to_string(),
        v["gateway_payment_id"].as_str().unwrap().to_string(),
    )
}

/// A new payment through the API (made at `gen`), then recorded as made at
/// `gateway`, as if its attempt had gone there: a callback verified with a gateway's
/// secret may move only that gateway's payments (docs/MONEY.md, item 0).
pub async fn new_payment_on(srv: &TestServer, order: &str, gateway: &str) -> (String, String) {
    let (pid, gpid) = new_payment(srv, order).await;
    let (p, g) = (pid.clone(), gateway.to_string());
    srv.state
        .ledger
        .write(move |c| {
            c.execute(
                "UPDATE payments SET gateway = ?2 WHERE payment_id = ?1",
                [&p, &g],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    (pid, gpid)
}

/// The outbox body of `event_id`, if queued.
pub async fn outbox_event(srv: &TestServer, event_id: &str) -> Option<Value> {
    let id = event_id.to_string();
    srv.state
        .ledger
        .query(move |c| {
            use rusqlite::OptionalExtension;
            Ok(
                c.query_row("SELECT body FROM outbox WHERE event_id = ?1", [&id], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?,
            )
        })
        .await
        .unwrap()
        .map(|s| serde_json::from_str(&s).unwrap())
}

/// Outbox rows of a payment.
pub async fn outbox_count(srv: &TestServer, payment_id: &str) -> i64 {
    let id = payment_id.to_string();
    srv.state
        .ledger
        .query(move |c| {
            Ok(c.query_row(
                // The initiation's own event (initiated -> pending) is not a callback's.
                "SELECT count(*) FROM outbox WHERE payment_id = ?1
                 AND json_extract(body, '$.source') <> 'initiation'",
                [&id],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

pub async fn payment_status(srv: &TestServer, pid: &str) -> String {
    let v: Value = srv
        .client
        .get(srv.url(&format!("/v1/payments/{pid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["status"].as_str().unwrap_or_default().to_string()
}
