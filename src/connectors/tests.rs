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

/// Issue 12 item 12: during a rotation the previous Razorpay webhook secret still
/// verifies (retried old events carry its signature); an unrelated one does not.
#[test]
fn razorpay_previous_secret_accepted_during_rotation() {
    let mut s = spec(ConnectorKind::Razorpay);
    s.credentials.previous_webhook_secret = Some(Secret::new("old-secret"));
    let c = build(&s).unwrap();
    let body = br#"{"entity":"event","event":"payment.captured"}"#;
    let o = opts(None, OffsetDateTime::now_utc());
    for (secret, ok) in [("whsec", true), ("old-secret", true), ("other", false)] {
        let sig = sign::hmac_sha256_hex(secret.as_bytes(), &[body]);
        assert_eq!(
            c.verify_callback(&hm(&[("x-razorpay-signature", sig)]), body, o)
                .is_ok(),
            ok,
            "{secret}"
        );
    }
    // Without a previous secret configured, the old one is refused.
    let c = build(&spec(ConnectorKind::Razorpay)).unwrap();
    let sig = sign::hmac_sha256_hex(b"old-secret", &[body]);
    assert!(
        c.verify_callback(&hm(&[("x-razorpay-signature", sig)]), body, o)
            .is_err()
    );
}

/// Issue 12 items 4 and 14: a present but non-numeric, negative or fractional amount
/// is refused by every existing parser (never replaced by the intent's amount).
#[test]
fn existing_parsers_refuse_bad_amounts() {
    let h = HeaderMap::new();
    let rzp = build(&spec(ConnectorKind::Razorpay)).unwrap();
    let cf = build(&spec(ConnectorKind::Cashfree)).unwrap();
    let generic = build(&spec(ConnectorKind::Generic)).unwrap();
    for bad in [r#""x""#, "-100", "100.5", "1e3"] {
        let r = format!(
            r#"{{"entity":"event","event":"payment.captured","payload":{{"payment":{{"entity":{{"id":"pay_1","amount":{bad},"currency":"INR","status":"captured","method":"upi"}}}}}}}}"#
        );
        assert!(
            rzp.parse_callback(&h, r.as_bytes()).is_err(),
            "razorpay {bad}"
        );
        let g = format!(
            r#"{{"event_id":"e1","type":"payment","payment":{{"status":"succeeded","amount":{bad}}}}}"#
        );
        assert!(
            generic.parse_callback(&h, g.as_bytes()).is_err(),
            "generic {bad}"
        );
    }
    for bad in [r#""x""#, "-1.00", "1.001", "1e3"] {
        let c = format!(
            r#"{{"data":{{"order":{{"order_id":"sy_1"}},"payment":{{"cf_payment_id":"1","payment_status":"SUCCESS","payment_amount":{bad},"payment_currency":"INR"}}}},"type":"PAYMENT_SUCCESS_WEBHOOK"}}"#
        );
        assert!(
            cf.parse_callback(&h, c.as_bytes()).is_err(),
            "cashfree {bad}"
        );
    }
    // Rupee decimals keep their text: 170.10 is 17010 paise exactly.
    let ok = r#"{"data":{"order":{"order_id":"sy_1"},"payment":{"cf_payment_id":"1","payment_status":"SUCCESS","payment_amount":90071992547409.93,"payment_currency":"INR"}},"type":"PAYMENT_SUCCESS_WEBHOOK"}"#;
    assert_eq!(
        cf.parse_callback(&h, ok.as_bytes()).unwrap().amount,
        Some(Paise(9_007_199_254_740_993))
    );
}

/// Issue 12 item 12: Razorpay's UTR is `acquirer_data.rrn` (GATEWAYS.md 3.1), not
/// `upi_transaction_id`; netbanking's reference is `bank_transaction_id`.
#[test]
fn razorpay_utr_comes_from_the_documented_field() {
    let h = HeaderMap::new();
    let rzp = build(&spec(ConnectorKind::Razorpay)).unwrap();
    let upi = br#"{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","amount":100,"currency":"INR","status":"captured","method":"upi","acquirer_data":{"rrn":"606311890458","upi_transaction_id":"AXL9f00ba"}}}}}"#;
    let cd = rzp.parse_callback(&h, upi).unwrap();
    assert_eq!(
        (cd.utr.as_deref(), cd.rrn.as_deref()),
        (Some("606311890458"), Some("606311890458"))
    );
    let nb = br#"{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_2","amount":100,"currency":"INR","status":"captured","method":"netbanking","acquirer_data":{"bank_transaction_id":"HDF123"}}}}}"#;
    assert_eq!(
        rzp.parse_callback(&h, nb).unwrap().utr.as_deref(),
        Some("HDF123")
    );
}

/// Every connector declares what it honours; `check` holds configs to it.
#[test]
fn every_connector_declares_its_idempotency() {
    use super::Idempotency;
    for kind in ConnectorKind::all() {
        let c = match build(&spec(kind)) {
            Ok(c) => c,
            Err(_) => continue, // Juspay UPI needs a PEM key
        };
        assert_eq!(c.idempotency(), kind.idempotency(), "{kind:?}");
    }
    assert_eq!(ConnectorKind::Razorpay.idempotency(), Idempotency::None);
    assert_eq!(
        ConnectorKind::Payu.idempotency(),
        Idempotency::MerchantReference
    );
}
