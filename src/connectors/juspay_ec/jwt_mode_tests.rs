//! The connector in JWT mode (which bodies each configuration accepts), with
//! tokens sealed from the sandbox test keys (`src/sandbox/keys/`).

use http::HeaderMap;
use rsa::RsaPublicKey;
use time::OffsetDateTime;

use super::jwt::{B64, private_key, seal};
use super::webhook;
use crate::connectors::{Connector, ConnectorKind, SignatureError, VerifyOptions, build};
use crate::model::Secret;
use base64::Engine;

const JUSPAY_PRIVATE: &str = include_str!("../../sandbox/keys/juspay_ec_sandbox_private.pem");
const JUSPAY_PUBLIC: &str = include_str!("../../sandbox/keys/juspay_ec_sandbox_public.pem");
const MERCHANT_PRIVATE: &str = include_str!("../../sandbox/keys/juspay_ec_merchant_private.pem");

const WEBHOOK: &[u8] = br#"{"id":"evt_V2_1","date_created":"2026-01-02T10:00:00Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"id":"ordeh_1","order_id":"sy_1","status":"CHARGED","amount":299.5,"currency":"INR"}}}"#;

/// A JWT webhook as Juspay sends it to the merchant key.
fn sealed(webhook: &[u8]) -> Vec<u8> {
    let juspay = private_key(JUSPAY_PRIVATE).unwrap();
    let merchant: RsaPublicKey = private_key(MERCHANT_PRIVATE).unwrap().to_public_key();
    seal(webhook, &juspay, &merchant, "key_1").unwrap()
}

/// The ciphertext of a sealed body with one bit flipped.
fn tampered(body: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let mut parts: Vec<String> = v["JWT"]
        .as_str()
        .unwrap()
        .split('.')
        .map(String::from)
        .collect();
    let mut ct = B64.decode(&parts[3]).unwrap();
    ct[0] ^= 1;
    parts[3] = B64.encode(ct);
    serde_json::to_vec(&serde_json::json!({ "JWT": parts.join(".") })).unwrap()
}

fn connector(basic: Option<&str>) -> std::sync::Arc<dyn Connector> {
    let mut s = crate::connectors::tests::spec(ConnectorKind::JuspayEc);
    s.credentials.webhook_secret = basic.map(Secret::new);
    s.credentials.jwt_private_key = Some(Secret::new(MERCHANT_PRIVATE));
    s.credentials.jwt_public_key = Some(Secret::new(JUSPAY_PUBLIC));
    build(&s).unwrap()
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        tolerance: None,
        now: OffsetDateTime::now_utc(),
    }
}

#[test]
fn a_jwt_mode_gateway_takes_jwt_webhooks_only() {
    let c = connector(None);
    let jwt = sealed(WEBHOOK);
    let none = HeaderMap::new();
    assert_eq!(c.verify_callback(&none, &jwt, opts()), Ok(()));
    let cd = c.parse_callback(&none, &jwt).unwrap();
    assert_eq!(
        (cd.kind, cd.payment_id.as_deref()),
        (Some("payment"), Some("sy_1"))
    );
    assert_eq!(cd.amount, Some(crate::model::Paise(29_950)));
    // A plain webhook, even with Basic auth, is unsigned: refused.
    let mut h = HeaderMap::new();
    h.insert("authorization", webhook::basic_auth("u:p").parse().unwrap());
    assert_eq!(
        c.verify_callback(&h, WEBHOOK, opts()),
        Err(SignatureError::Missing("JWT"))
    );
    assert!(c.parse_callbacks(&h, WEBHOOK).is_err());
    // Tampered: refused by verification and by the parser alike.
    let bad = tampered(&jwt);
    assert_eq!(
        c.verify_callback(&none, &bad, opts()),
        Err(SignatureError::Mismatch)
    );
    assert!(c.parse_callbacks(&none, &bad).is_err());
    // Expired: stale.
    let exp = format!(
        r#"{{"id":"e","exp":{}}}"#,
        OffsetDateTime::now_utc().unix_timestamp() - 3600
    );
    let old = sealed(exp.as_bytes());
    assert_eq!(
        c.verify_callback(&none, &old, opts()),
        Err(SignatureError::Stale)
    );
}

#[test]
fn with_a_webhook_secret_too_both_are_checked() {
    let c = connector(Some("u:p"));
    let jwt = sealed(WEBHOOK);
    let mut h = HeaderMap::new();
    assert_eq!(
        c.verify_callback(&h, &jwt, opts()),
        Err(SignatureError::Missing("authorization"))
    );
    h.insert("authorization", webhook::basic_auth("u:p").parse().unwrap());
    assert_eq!(c.verify_callback(&h, &jwt, opts()), Ok(()));
    assert_eq!(
        c.verify_callback(&h, WEBHOOK, opts()),
        Err(SignatureError::Missing("JWT"))
    );
}

#[test]
fn a_basic_mode_gateway_refuses_jwt_webhooks() {
    let mut s = crate::connectors::tests::spec(ConnectorKind::JuspayEc);
    s.credentials.webhook_secret = Some(Secret::new("u:p"));
    let c = build(&s).unwrap();
    let jwt = sealed(WEBHOOK);
    let mut h = HeaderMap::new();
    h.insert("authorization", webhook::basic_auth("u:p").parse().unwrap());
    assert_eq!(
        c.verify_callback(&h, &jwt, opts()),
        Ok(()),
        "Basic auth covers the sender only"
    );
    assert!(
        c.parse_callbacks(&h, &jwt).is_err(),
        "but the body is refused as malformed"
    );
    // Only one of the two keys, or a key that does not parse: a config error.
    s.credentials.jwt_private_key = Some(Secret::new(MERCHANT_PRIVATE));
    assert!(build(&s).is_err());
    s.credentials.jwt_public_key = Some(Secret::new(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    ));
    assert!(build(&s).is_err());
}
