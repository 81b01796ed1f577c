//! What the targets share: one gateway spec per dialect, with credentials each
//! dialect accepts (an AES-sized Paytm key, a hex Adyen HMAC key, an RSA key for
//! Juspay UPI and EBANX), and the keys to sign callbacks with.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

use switchyard::connectors::{ConnectorKind, Credentials, GatewaySpec};
use switchyard::model::Secret;

/// Juspay UPI's and EBANX's RSA key: made once per process, 640 bits (enough for
/// PSS-SHA256). The repository's 2048-bit test keys cost ~35 ms a signature in this
/// build (debug assertions reach the bignum code), which held `callbacks` to 90
/// executions a second.
pub fn rsa_key() -> &'static RsaPrivateKey {
    static K: OnceLock<RsaPrivateKey> = OnceLock::new();
    K.get_or_init(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 640).expect("rsa key"))
}

fn rsa_public_pem() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| {
        RsaPublicKey::from(rsa_key())
            .to_public_key_pem(LineEnding::LF)
            .expect("pem")
    })
}

/// The secret each dialect verifies callbacks with (as configured in `webhook_secret`,
/// or `key_secret` where the dialect signs with it).
pub const WEBHOOK: &str = "whsec_fuzz";
pub const PAYTM_KEY: &str = "0123456789abcdef";
pub const ADYEN_HMAC_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
pub const USER_PASS: &str = "fuzz_user:fuzz_pass";
pub const PAYU_SALT: &str = "payu_salt";
pub const PHONEPE_SALT: &str = "phonepe_salt_key";

fn secret(s: &str) -> Option<Secret> {
    Some(Secret::new(s))
}

/// A spec for `kind` at `base_url` with credentials that build and verify.
pub fn spec(kind: ConnectorKind, base_url: &str) -> GatewaySpec {
    let (key_id, key_secret, webhook) = match kind {
        ConnectorKind::Generic | ConnectorKind::Razorpay | ConnectorKind::Cashfree => {
            ("kid", "ks", WEBHOOK)
        }
        ConnectorKind::JuspayUpi => ("kid", "ks", rsa_public_pem()),
        ConnectorKind::Payu => ("payu_key", PAYU_SALT, PAYU_SALT),
        ConnectorKind::Phonepe => ("client_id", PHONEPE_SALT, USER_PASS),
        ConnectorKind::Paytm => ("MID12345", PAYTM_KEY, PAYTM_KEY),
        ConnectorKind::Adyen => ("MerchantAccount", "api_key", ADYEN_HMAC_HEX),
        ConnectorKind::Ebanx => ("kid", "integration_key", rsa_public_pem()),
        ConnectorKind::JuspayEc => ("merchant", "api_key", USER_PASS),
    };
    GatewaySpec {
        name: format!("fz_{}", kind.as_str()),
        kind,
        base_url: base_url.into(),
        credentials: Credentials {
            key_id: secret(key_id),
            key_secret: secret(key_secret),
            webhook_secret: secret(webhook),
            previous_webhook_secret: None,
            ..Default::default()
        },
        connect_timeout: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        pool_size: 1,
        idempotent: false,
    }
}

/// Text that `model::scrub` leaves as is (what may be logged).
pub fn is_scrubbed(s: &str) -> bool {
    switchyard::model::scrub(s) == s
}
