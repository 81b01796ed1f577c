//! Every connector's callback signature check and parser over fuzzed headers and
//! body. The first byte picks the connector, the next ones the headers.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use switchyard::connectors::{self, ConnectorKind, Credentials, GatewaySpec, VerifyOptions};
use switchyard::model::Secret;

const JUSPAY_PUBLIC: &str = include_str!("../../tests/keys/juspay_test_public.pem");
const NAMES: [&str; 6] = [
    "x-switchyard-signature",
    "x-switchyard-timestamp",
    "x-razorpay-signature",
    "x-webhook-signature",
    "x-webhook-timestamp",
    "signature",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let kind = ConnectorKind::ALL[pick as usize % ConnectorKind::ALL.len()];
    let secret = match kind {
        ConnectorKind::JuspayUpi => JUSPAY_PUBLIC,
        _ => "whsec",
    };
    let spec = GatewaySpec {
        name: "f".into(),
        kind,
        base_url: "http://127.0.0.1:9".into(),
        credentials: Credentials {
            key_id: Some(Secret::new("kid")),
            key_secret: Some(Secret::new("ks")),
            webhook_secret: Some(Secret::new(secret)),
        },
        connect_timeout: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        pool_size: 1,
        idempotent: false,
    };
    let Ok(c) = connectors::build(&spec) else { return };
    // Header values are newline-separated lines before a NUL; the body after it.
    let (head, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    let mut headers = http::HeaderMap::new();
    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
        if let Ok(v) = http::HeaderValue::from_bytes(line) {
            headers.append(NAMES[i % NAMES.len()], v);
        }
    }
    let opts = VerifyOptions {
        tolerance: Some(Duration::from_secs(300)),
        now: time::OffsetDateTime::now_utc(),
    };
    let _ = c.verify_callback(&headers, body, opts);
    let _ = c.parse_callback(&headers, body);
});
