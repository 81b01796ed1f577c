//! Juspay EC's JWT webhooks end to end: the twin seals each webhook (a JWS by its
//! Juspay key inside a JWE to the merchant's key, src/sandbox/keys/README.md) and
//! switchyard opens it; each mode refuses the other's bodies.

use switchyard::connectors::ConnectorKind;

use super::{Env, env, env_with, paid_and_called_back};

/// A Juspay EC gateway in JWT webhook mode: the merchant's key and the twin's
/// Juspay public key (src/sandbox/keys/README.md).
const JWT_KEYS: &str = concat!(
    "jwt_private_key_file = \"",
    env!("CARGO_MANIFEST_DIR"),
    "/src/sandbox/keys/juspay_ec_merchant_private.pem\"\njwt_public_key_file = \"",
    env!("CARGO_MANIFEST_DIR"),
    "/src/sandbox/keys/juspay_ec_sandbox_public.pem\""
);

#[tokio::test]
async fn a_basic_auth_gateway_refuses_jwt_webhooks() {
    let e = env(ConnectorKind::JuspayEc).await;
    let sealed = {
        use switchyard::connectors::juspay_ec::jwt::{private_key, seal};
        let juspay = private_key(JUSPAY_EC_JUSPAY).unwrap();
        let merchant = private_key(JUSPAY_EC_MERCHANT).unwrap().to_public_key();
        seal(b"{}", &juspay, &merchant, "k").unwrap()
    };
    assert_eq!(
        post_callback(&e, "Basic dGVzdC1zZWNyZXQ=", sealed).await,
        (400, "malformed".into())
    );
}

const JUSPAY_EC_MERCHANT: &str =
    include_str!("../../src/sandbox/keys/juspay_ec_merchant_private.pem");
const JUSPAY_EC_JUSPAY: &str = include_str!("../../src/sandbox/keys/juspay_ec_sandbox_private.pem");

/// `POST /v1/callbacks/juspay_ec` with Basic auth `basic`: status and error code.
async fn post_callback(e: &Env, basic: &str, body: Vec<u8>) -> (u16, String) {
    let r = e
        .server
        .client
        .post(e.server.url("/v1/callbacks/juspay_ec"))
        .header("authorization", basic)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

/// Juspay's JWT webhooks: the twin seals each one (a JWS by its Juspay key inside a
/// JWE to the merchant's key), switchyard opens it; a plain webhook is refused.
#[tokio::test]
async fn juspay_ec_jwt_webhooks_end_to_end() {
    let e = env_with(ConnectorKind::JuspayEc, Some(JWT_KEYS)).await;
    for (i, m) in ["upi_collect", "upi_qr"].into_iter().enumerate() {
        paid_and_called_back(&e, &format!("jwt_{i}"), m).await;
    }
    let plain = br#"{"id":"evt_V2_x","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"jwt_0","status":"CHARGED","amount":299.5}}}"#;
    let basic = "Basic dGVzdC1zZWNyZXQ=";
    assert_eq!(
        post_callback(&e, basic, plain.to_vec()).await,
        (401, "invalid_signature".into())
    );
}
