//! Request building (amount units) and callback signature checks for each dialect.

use std::collections::BTreeMap;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

use super::sign;
use super::{InitiateRequest, SignatureError, VerifyOptions, build};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::Secret;
use crate::model::{Currency, Customer, Method, Paise, PaymentRequest, Vpa};

pub(crate) fn spec(kind: ConnectorKind) -> GatewaySpec {
    GatewaySpec {
        name: "t".into(),
        kind,
        base_url: "http://127.0.0.1:9".into(),
        credentials: Credentials {
            webhook_secret: Some(Secret::new("whsec")),
            ..Default::default()
        },
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        pool_size: 1,
        idempotent: false,
    }
}

pub(crate) fn req(amount: i64, method: Method) -> PaymentRequest {
    PaymentRequest {
        order_id: "ord_9".into(),
        amount: Paise(amount),
        currency: Currency::Inr,
        method,
        vpa: Some(Vpa::parse("asha.k@okaxis").unwrap()),
        customer: Customer::default(),
        description: None,
        tags: BTreeMap::new(),
        metadata: None,
    }
}

pub(crate) fn ir(r: &PaymentRequest) -> InitiateRequest<'_> {
    InitiateRequest {
        payment_id: "sy_X",
        idempotency_key: "k",
        request: r,
        callback_url: None,
    }
}

#[test]
fn amounts_in_each_gateways_unit() {
    let r = req(123_456_729, Method::UpiCollect);
    // Razorpay and generic: integer paise.
    assert_eq!(super::razorpay::order_body(&ir(&r))["amount"], 123_456_729);
    let p = super::razorpay::upi_payment_body(&ir(&r), "order_1");
    assert_eq!(p["amount"], 123_456_729);
    assert_eq!(p["upi"]["flow"], "collect");
    assert_eq!(p["upi"]["vpa"], "asha.k@okaxis");
    assert_eq!(
        super::generic::initiate_body(&ir(&r))["amount"],
        123_456_729
    );
    // Cashfree: exact rupee text with two decimals, no float on the way.
    let body = String::from_utf8(super::cashfree::order_body(&ir(&r)).unwrap()).unwrap();
    assert!(body.contains(r#""order_amount":1234567.29"#), "{body}");
    let r = req(17_000, Method::Card);
    let body = String::from_utf8(super::cashfree::order_body(&ir(&r)).unwrap()).unwrap();
    assert!(body.contains(r#""order_amount":170.00"#), "{body}");
    let body = String::from_utf8(super::cashfree::link_body(&ir(&r)).unwrap()).unwrap();
    assert!(body.contains(r#""link_amount":170.00"#), "{body}");
    let r = req(5, Method::UpiIntent);
    let body = String::from_utf8(super::cashfree::order_body(&ir(&r)).unwrap()).unwrap();
    assert!(body.contains(r#""order_amount":0.05"#), "{body}");
    assert_eq!(
        super::cashfree::pay_body(&ir(&r), "s")["payment_method"]["upi"]["channel"],
        "link"
    );
    // Intent never sends the VPA.
    assert!(
        super::razorpay::upi_payment_body(&ir(&r), "o")["upi"]
            .get("vpa")
            .is_none()
    );
}

fn opts(tolerance: Option<Duration>, now: OffsetDateTime) -> VerifyOptions {
    VerifyOptions { tolerance, now }
}

fn hm(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn razorpay_signatures() {
    let c = build(&spec(ConnectorKind::Razorpay)).unwrap();
    let body = br#"{"entity":"event","event":"payment.captured"}"#;
    let sig = sign::hmac_sha256_hex(b"whsec", &[body]);
    let now = OffsetDateTime::now_utc();
    let o = opts(Some(Duration::from_secs(300)), now);
    // Header names are case-insensitive.
    assert_eq!(
        c.verify_callback(&hm(&[("X-Razorpay-Signature", sig.clone())]), body, o),
        Ok(())
    );
    let tampered = br#"{"entity":"event","event":"payment.failed"}"#;
    assert_eq!(
        c.verify_callback(&hm(&[("x-razorpay-signature", sig)]), tampered, o),
        Err(SignatureError::Mismatch)
    );
    let wrong = sign::hmac_sha256_hex(b"other", &[body]);
    assert_eq!(
        c.verify_callback(&hm(&[("x-razorpay-signature", wrong)]), body, o),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        c.verify_callback(&HeaderMap::new(), body, o),
        Err(SignatureError::Missing(_))
    ));
    let mut no_secret = spec(ConnectorKind::Razorpay);
    no_secret.credentials.webhook_secret = None;
    let c = build(&no_secret).unwrap();
    assert_eq!(
        c.verify_callback(&hm(&[("x-razorpay-signature", "00".into())]), body, o),
        Err(SignatureError::NoSecret)
    );
}

#[test]
fn cashfree_signatures_and_replay_window() {
    let c = build(&spec(ConnectorKind::Cashfree)).unwrap();
    let body = br#"{"data":{},"type":"PAYMENT_SUCCESS_WEBHOOK"}"#;
    let now = OffsetDateTime::from_unix_timestamp(1_738_586_052).unwrap();
    let ts = "1738586052712".to_string();
    let sig = sign::hmac_sha256_base64(b"whsec", &[ts.as_bytes(), body]);
    let h = hm(&[
        ("x-webhook-signature", sig.clone()),
        ("x-webhook-timestamp", ts.clone()),
    ]);
    let tol = Some(Duration::from_secs(300));
    assert_eq!(c.verify_callback(&h, body, opts(tol, now)), Ok(()));
    // Stale: ten minutes later.
    let later = now + Duration::from_secs(600);
    assert_eq!(
        c.verify_callback(&h, body, opts(tol, later)),
        Err(SignatureError::Stale)
    );
    // Window disabled.
    assert_eq!(c.verify_callback(&h, body, opts(None, later)), Ok(()));
    // The timestamp is signed: changing it breaks the signature.
    let h2 = hm(&[
        ("x-webhook-signature", sig.clone()),
        ("x-webhook-timestamp", "1738586052713".into()),
    ]);
    assert_eq!(
        c.verify_callback(&h2, body, opts(None, now)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        c.verify_callback(&h, b"{}", opts(None, now)),
        Err(SignatureError::Mismatch)
    );
    let h3 = hm(&[("x-webhook-signature", sig)]);
    assert_eq!(
        c.verify_callback(&h3, body, opts(None, now)),
        Err(SignatureError::Missing("x-webhook-timestamp"))
    );
}

#[test]
fn generic_signatures() {
    let c = build(&spec(ConnectorKind::Generic)).unwrap();
    let body =
        br#"{"event_id":"e1","type":"payment","payment":{"status":"succeeded","amount":100}}"#;
    let now = OffsetDateTime::now_utc();
    let ts = now.unix_timestamp();
    let sig = super::generic::sign_callback("whsec", ts, body);
    let h = hm(&[
        ("X-Switchyard-Signature", sig.clone()),
        ("X-Switchyard-Timestamp", ts.to_string()),
    ]);
    let tol = Some(Duration::from_secs(300));
    assert_eq!(c.verify_callback(&h, body, opts(tol, now)), Ok(()));
    assert_eq!(
        c.verify_callback(&h, body, opts(tol, now + Duration::from_secs(301))),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        c.verify_callback(&h, b"{}", opts(tol, now)),
        Err(SignatureError::Mismatch)
    );
    let wrong = super::generic::sign_callback("nope", ts, body);
    let hw = hm(&[
        ("X-Switchyard-Signature", wrong),
        ("X-Switchyard-Timestamp", ts.to_string()),
    ]);
    assert_eq!(
        c.verify_callback(&hw, body, opts(tol, now)),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        c.verify_callback(&HeaderMap::new(), body, opts(tol, now)),
        Err(SignatureError::Missing(_))
    ));
    let cd = c.parse_callback(&h, body).unwrap();
    assert_eq!(cd.kind, Some("payment"));
    assert_eq!(cd.amount, Some(Paise(100)));
    assert_eq!(cd.status, Some(crate::model::PaymentStatus::Succeeded));
}
