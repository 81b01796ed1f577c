//! Every dialect's callback signature check and parser (all 10 in
//! `ConnectorKind::ALL`), then the normalization the ledger applies.
//!
//! Input: the first byte picks the dialect (`% 10`) and the mode (`/ 10 % 4`):
//! - 0 raw: header values are newline-separated lines before a NUL, the body after;
//! - 1 signed: the rest is the body, signed as the gateway would (form dialects
//!   re-encode the fields with their hash; Adyen signs every item; PhonePe v2);
//! - 2 signed, the other shape (PhonePe v1 `{response: base64}` + `X-VERIFY`,
//!   Paytm's JSON refund webhook `{head: {signature}, body}`);
//! - 3 signed, then one body byte flipped.
//!
//! Properties: no panic; a correctly signed body verifies; a flipped byte under a
//! whole-body signature does not; parsing is deterministic (event ids dedupe
//! redeliveries); what is parsed normalizes without a panic and the payer VPA is
//! masked.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use rsa::pss::BlindedSigningKey;
use serde_json::Value;
use sha2::Sha256;
use switchyard::connectors::form::Form;
use switchyard::connectors::{
    self, Connector, ConnectorKind, VerifyOptions, adyen, cashfree, ebanx, generic, juspay_ec,
    juspay_upi, paytm, payu, phonepe, razorpay,
};

use common::*;

const NAMES: [&str; 12] = [
    "x-switchyard-signature",
    "x-switchyard-timestamp",
    "x-razorpay-signature",
    "x-razorpay-event-id",
    "x-webhook-signature",
    "x-webhook-timestamp",
    "x-idempotency-key",
    "authorization",
    "x-verify",
    "x-merchant-payload-signature",
    "x-signaturecontent",
    "content-type",
];

fn connectors() -> &'static Vec<Arc<dyn Connector>> {
    static C: OnceLock<Vec<Arc<dyn Connector>>> = OnceLock::new();
    C.get_or_init(|| {
        ConnectorKind::ALL
            .iter()
            .map(|&k| connectors::build(&spec(k, "http://127.0.0.1:9")).expect("builds"))
            .collect()
    })
}

/// Juspay UPI's signer over the shared key.
fn juspay_signer() -> &'static BlindedSigningKey<Sha256> {
    static K: OnceLock<BlindedSigningKey<Sha256>> = OnceLock::new();
    K.get_or_init(|| BlindedSigningKey::new(rsa_key().clone()))
}

fn h(map: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        map.insert(HeaderName::from_static(name), v);
    }
}

/// Form fields without the one that carries the hash.
fn pairs_without(body: &[u8], hash: &str) -> Vec<(String, String)> {
    Form::parse(body)
        .0
        .into_iter()
        .filter(|(k, _)| k != hash)
        .collect()
}

/// The body and headers the gateway would send for `body`; `None` when this
/// dialect cannot sign such a body (e.g. Adyen without items).
fn signed(kind: ConnectorKind, other: bool, body: &[u8], now: i64) -> Option<(HeaderMap, Vec<u8>)> {
    let mut hm = HeaderMap::new();
    let body = match kind {
        ConnectorKind::Generic => {
            h(
                &mut hm,
                generic::SIGNATURE_HEADER,
                &generic::sign_callback(WEBHOOK, now, body),
            );
            h(&mut hm, generic::TIMESTAMP_HEADER, &now.to_string());
            body.to_vec()
        }
        ConnectorKind::Razorpay => {
            h(
                &mut hm,
                "x-razorpay-signature",
                &razorpay::sign_callback(WEBHOOK, body),
            );
            body.to_vec()
        }
        ConnectorKind::Cashfree => {
            let ms = now * 1000;
            h(
                &mut hm,
                "x-webhook-signature",
                &cashfree::sign_callback(WEBHOOK, ms, body),
            );
            h(&mut hm, "x-webhook-timestamp", &ms.to_string());
            body.to_vec()
        }
        ConnectorKind::JuspayUpi => {
            let sig = juspay_upi::sign_callback_with(juspay_signer(), body);
            h(&mut hm, juspay_upi::SIGNATURE_HEADER, &sig);
            body.to_vec()
        }
        ConnectorKind::Payu => {
            // Its JSON refund callback carries no hash at all: it never verifies.
            payu::sign_callback(PAYU_SALT, &pairs_without(body, "hash")).into_bytes()
        }
        ConnectorKind::Phonepe if other => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(body);
            h(
                &mut hm,
                phonepe::X_VERIFY,
                &phonepe::x_verify(&b64, PHONEPE_SALT, "1"),
            );
            serde_json::to_vec(&serde_json::json!({ "response": b64 })).ok()?
        }
        ConnectorKind::Phonepe => {
            h(
                &mut hm,
                phonepe::AUTHORIZATION,
                &phonepe::v2_authorization(USER_PASS),
            );
            body.to_vec()
        }
        ConnectorKind::Paytm if other => {
            let inner = std::str::from_utf8(body).ok()?.trim();
            serde_json::from_str::<Value>(inner).ok()?;
            let sig = paytm::checksum::sign(inner, PAYTM_KEY)?;
            format!(
                r#"{{"head":{{"signature":{}}},"body":{inner}}}"#,
                Value::String(sig)
            )
            .into_bytes()
        }
        ConnectorKind::Paytm => {
            paytm::sign_callback(PAYTM_KEY, &pairs_without(body, "CHECKSUMHASH"))?.into_bytes()
        }
        ConnectorKind::Adyen => {
            let mut v: Value = serde_json::from_slice(body).ok()?;
            let items = v.get_mut("notificationItems")?.as_array_mut()?;
            // Nothing to sign: the body can never verify (Adyen refuses it).
            if !items
                .iter()
                .any(|it| it.get("NotificationRequestItem").is_some())
            {
                return None;
            }
            for it in items.iter_mut() {
                let Some(item) = it.get_mut("NotificationRequestItem") else {
                    continue;
                };
                let sig = adyen::sign_item(ADYEN_HMAC_HEX, item).ok()?;
                let obj = item.as_object_mut()?;
                let extra = obj
                    .entry("additionalData")
                    .or_insert_with(|| serde_json::json!({}));
                if !extra.is_object() {
                    *extra = serde_json::json!({});
                }
                extra["hmacSignature"] = Value::String(sig);
            }
            serde_json::to_vec(&v).ok()?
        }
        ConnectorKind::Ebanx => {
            let sig = ebanx::sign_notification_with(rsa_key(), body).ok()?;
            h(&mut hm, ebanx::SIGNATURE_HEADER, &sig);
            body.to_vec()
        }
        ConnectorKind::JuspayEc => {
            h(&mut hm, "authorization", &juspay_ec::basic_auth(USER_PASS));
            body.to_vec()
        }
    };
    Some((hm, body))
}

/// Dialects whose signature covers every byte of the body.
fn whole_body(kind: ConnectorKind) -> bool {
    matches!(
        kind,
        ConnectorKind::Generic
            | ConnectorKind::Razorpay
            | ConnectorKind::Cashfree
            | ConnectorKind::Ebanx
            | ConnectorKind::JuspayUpi
    )
}

fn raw(rest: &[u8]) -> (HeaderMap, Vec<u8>) {
    let (head, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    let mut headers = HeaderMap::new();
    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(NAMES[i % NAMES.len()], v);
        }
    }
    (headers, body.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let n = ConnectorKind::ALL.len();
    let kind = ConnectorKind::ALL[pick as usize % n];
    let mode = (pick as usize / n) % 4;
    let c = &connectors()[pick as usize % n];
    let now = time::OffsetDateTime::now_utc();
    let opts = VerifyOptions {
        tolerance: Some(Duration::from_secs(300)),
        now,
    };

    let (headers, body) = if mode == 0 {
        raw(rest)
    } else {
        let Some((hm, mut body)) = signed(kind, mode == 2, rest, now.unix_timestamp()) else {
            return;
        };
        let verified = c.verify_callback(&hm, &body, opts);
        assert!(
            verified.is_ok(),
            "{kind:?}: a signed body must verify: {verified:?}"
        );
        if mode == 3 && !body.is_empty() && whole_body(kind) {
            let i = rest.len() % body.len();
            let before = body.clone();
            body[i] ^= 0x01;
            // Juspay also accepts the sorted compact form of the same JSON value.
            let same_value = kind == ConnectorKind::JuspayUpi
                && serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| serde_json::to_vec(&v).ok())
                    .is_some_and(|s| s == before);
            if !same_value {
                assert!(
                    c.verify_callback(&hm, &body, opts).is_err(),
                    "{kind:?}: a tampered body verified"
                );
            }
        }
        (hm, body)
    };
    let _ = c.verify_callback(&headers, &body, opts);

    let first = c.parse_callbacks(&headers, &body);
    let again = c.parse_callbacks(&headers, &body);
    assert_eq!(first, again, "{kind:?}: parsing is not deterministic");
    let _ = c.parse_callback(&headers, &body);
    if let Ok(events) = first {
        for cd in &events {
            if let Some(inc) =
                switchyard::callbacks::normalize::from_callback(kind.as_str(), cd, now)
            {
                if let Some(m) = &inc.payer_vpa_masked {
                    assert!(m == "***" || m.contains("***@"), "VPA not masked: {m}");
                }
            }
        }
    }
});
