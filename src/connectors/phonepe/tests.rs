//! PhonePe: pay bodies per flow (the SDK's request models: `PgPaymentRequest`,
//! `StandardCheckoutPayRequest`), the v2 `Authorization` SDK vector, v1 `X-VERIFY`,
//! callback and status normalization per class, amounts, no panics.

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

use super::*;
use crate::connectors::tests::{ir, req};
use crate::model::{Method, Paise, PaymentStatus, Reason};

fn headers(k: &'static str, v: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(k, HeaderValue::from_str(v).unwrap());
    h
}

#[test]
fn pay_bodies_per_flow() {
    let intent = pay_body(&ir(&req(29_900, Method::UpiIntent)));
    assert_eq!(
        intent,
        serde_json::json!({"merchantOrderId": "sy_X", "amount": 29900, "metaInfo": {"udf1": "ord_9"},
            "paymentFlow": {"type": "PG", "paymentMode": {"type": "UPI_INTENT"}}})
    );
    let collect = pay_body(&ir(&req(100, Method::UpiCollect)));
    assert_eq!(
        collect["paymentFlow"]["paymentMode"],
        serde_json::json!({"type": "UPI_COLLECT", "details": {"type": "VPA", "vpa": "asha.k@okaxis"}})
    );
    let qr = pay_body(&ir(&req(100, Method::UpiQr)));
    assert_eq!(qr["paymentFlow"]["paymentMode"]["type"], "UPI_QR");
    let card = pay_body(&ir(&req(100, Method::Card)));
    assert_eq!(card["paymentFlow"]["type"], "PG_CHECKOUT");
}

/// PhonePe/phonepe-pg-sdk-python@73d460ec tests/test_validate_callback.py:
/// `username`/`password` → `bc842c31…6e0e`.
#[test]
fn v2_authorization_sdk_vector() {
    assert_eq!(
        v2_authorization("username:password"),
        "bc842c31a9e54efe320d30d948be61291f3ceee4766e36ab25fa65243cd76e0e"
    );
    let body = br#"{"event":"pg.order.completed","payload":{"state":"COMPLETED"}}"#;
    let ok = headers("authorization", &v2_authorization("username:password"));
    assert_eq!(
        webhook::verify(&ok, body, Some("username:password"), None),
        Ok(())
    );
    assert_eq!(
        webhook::verify(&ok, body, Some("username:wrong"), None),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        webhook::verify(&HeaderMap::new(), body, Some("username:password"), None),
        Err(SignatureError::Missing(AUTHORIZATION))
    );
}

#[test]
fn v1_x_verify_over_the_base64() {
    use base64::Engine;
    let inner = r#"{"success":true,"code":"PAYMENT_SUCCESS","data":{"merchantTransactionId":"sy_1","transactionId":"T1","amount":29900,"state":"COMPLETED","responseCode":"SUCCESS","paymentInstrument":{"type":"UPI","utr":"206850679072"}}}"#;
    let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
    let body = format!(r#"{{"response":"{b64}"}}"#);
    let xv = x_verify(&b64, "salt-key", "1");
    let h = headers("x-verify", &xv);
    assert_eq!(
        webhook::verify(&h, body.as_bytes(), None, Some("salt-key")),
        Ok(())
    );
    assert!(webhook::verify(&h, body.as_bytes(), None, Some("other")).is_err());
    let cd = webhook::parse(body.as_bytes()).unwrap();
    assert_eq!(cd.status, Some(PaymentStatus::Succeeded));
    assert_eq!(
        (cd.amount, cd.utr.as_deref()),
        (Some(Paise(29_900)), Some("206850679072"))
    );
}

fn order(state: &str, extra: &str) -> String {
    format!(
        r#"{{"event":"checkout.order.{}","payload":{{"orderId":"OMO1","merchantOrderId":"sy_1","state":"{state}","amount":49900{extra},"paymentDetails":[{{"transactionId":"OM1","state":"{state}","timestamp":1746265361000,"rail":{{"type":"UPI","utr":"411445977270","vpa":"asha.k@okaxis"}}}}]}}}}"#,
        if state == "COMPLETED" {
            "completed"
        } else {
            "failed"
        }
    )
}

#[test]
fn callbacks_normalize_per_class() {
    let ok = webhook::parse(order("COMPLETED", "").as_bytes()).unwrap();
    assert_eq!(ok.status, Some(PaymentStatus::Succeeded));
    assert_eq!(
        (ok.payment_id.as_deref(), ok.utr.as_deref()),
        (Some("sy_1"), Some("411445977270"))
    );
    let pin = webhook::parse(
        order(
            "FAILED",
            r#","errorCode":"AUTHORIZATION_ERROR","detailedErrorCode":"ZM""#,
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        (pin.status, pin.reason),
        (Some(PaymentStatus::Failed), Some(Reason::IncorrectPin))
    );
    let zh = webhook::parse(order("FAILED", r#","detailedErrorCode":"ZH""#).as_bytes()).unwrap();
    assert_eq!(zh.reason, Some(Reason::InvalidVpa));
    let expired = webhook::parse(order("EXPIRED", "").as_bytes()).unwrap();
    assert_eq!(
        (expired.status, expired.reason),
        (Some(PaymentStatus::Failed), Some(Reason::Expired))
    );
    let pending = webhook::parse(order("PENDING", "").as_bytes()).unwrap();
    assert_eq!(pending.status, Some(PaymentStatus::Pending));
    let refund = webhook::parse(br#"{"event":"pg.refund.accepted","payload":{"merchantRefundId":"R1","originalMerchantOrderId":"sy_1","amount":100,"state":"PENDING"}}"#).unwrap();
    assert_eq!(
        (refund.kind, refund.refund_status),
        (
            Some("refund"),
            Some(crate::connectors::RefundStatus::Pending)
        )
    );
    let bad = order("COMPLETED", "").replace("\"amount\":49900", "\"amount\":\"x\"");
    assert!(webhook::parse(bad.as_bytes()).is_err());
    let frac = order("COMPLETED", "").replace("\"amount\":49900", "\"amount\":499.5");
    assert!(webhook::parse(frac.as_bytes()).is_err());
}

#[test]
fn order_status_and_not_found() {
    let body = br#"{"orderId":"OMO2406121817536673671964","state":"FAILED","amount":600,"expireAt":1718196773639,"errorCode":"PAYMENT_ERROR","detailedErrorCode":"Z9","paymentDetails":[{"transactionId":"OM1","paymentMode":"UPI_INTENT","state":"FAILED"}]}"#;
    let r = response::order_report(body).unwrap();
    assert_eq!(
        (r.status, r.reason, r.amount),
        (
            PaymentStatus::Failed,
            Some(Reason::InsufficientFunds),
            Some(Paise(600))
        )
    );
    assert!(response::is_not_found(404, b"{}"));
    assert!(response::is_not_found(
        400,
        br#"{"code":"ORDER_NOT_FOUND"}"#
    ));
    assert!(!response::is_not_found(400, br#"{"code":"BAD_REQUEST"}"#));
}

proptest! {
    #[test]
    fn paise_round_trip_through_the_phonepe_body(p in 0i64..=i64::MAX) {
        let mut r = req(1, Method::UpiIntent);
        r.amount = Paise(p);
        let text = pay_body(&ir(&r)).to_string();
        prop_assert_eq!(crate::connectors::amount::minor_at(&text, &["amount"]), Ok(Some(Paise(p))));
    }

    #[test]
    fn parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = webhook::parse(&body);
        let _ = webhook::verify(&HeaderMap::new(), &body, Some("a:b"), Some("s"));
        let _ = response::order_report(&body);
        let _ = response::pay_created(&body, Method::UpiQr);
    }
}
