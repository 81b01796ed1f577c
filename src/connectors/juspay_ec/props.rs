//! Properties: paise ↔ Juspay EC rupee amounts round-trip exactly (the order body's
//! text, the order's JSON number read by the strict parser); no parser (nor the JWT
//! webhook opener) panics on arbitrary bytes.

use proptest::prelude::*;

use super::response::{order_redirect, status_answer, txn_created};
use super::webhook::{parse, verify};
use crate::model::Paise;

proptest! {
    #[test]
    fn paise_round_trip_through_rupees(p in 0i64..(i64::MAX / 100)) {
        let text = Paise(p).to_rupees_string();
        // The order body's `amount` field, form-decoded.
        let body = format!("order_id=pay_1&amount={text}");
        let sent: std::collections::HashMap<String, String> =
            form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        prop_assert_eq!(Paise::from_rupees_str(&sent["amount"]).unwrap(), Paise(p));
        // The order as Juspay answers it: `amount` a JSON number in rupees.
        let ans = format!(r#"{{"id":"o","order_id":"pay_1","status":"CHARGED","amount":{text}}}"#);
        prop_assert_eq!(status_answer(200, ans.as_bytes()).unwrap().amount, Some(Paise(p)));
        let hook = format!(r#"{{"id":"e","event_name":"ORDER_SUCCEEDED","content":{{"order":{ans}}}}}"#);
        prop_assert_eq!(parse(hook.as_bytes()).unwrap().amount, Some(Paise(p)));
    }

    #[test]
    fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&body);
        let _ = status_answer(200, &body);
        let _ = status_answer(404, &body);
        let _ = txn_created(&body, "o", true);
        let _ = order_redirect(&body);
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(&body) {
            h.insert("authorization", v);
        }
        let _ = verify("u:p", &h);
    }
}

fn jwt_keys() -> &'static super::jwt::JwtKeys {
    static K: std::sync::OnceLock<super::jwt::JwtKeys> = std::sync::OnceLock::new();
    K.get_or_init(|| {
        super::jwt::JwtKeys::from_pem(
            include_str!("../../sandbox/keys/juspay_ec_merchant_private.pem"),
            include_str!("../../sandbox/keys/juspay_ec_sandbox_public.pem"),
        )
        .unwrap()
    })
}

proptest! {
    // Each case may take an RSA private-key operation: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The JWT opener refuses, never panics: on any bytes, and on tokens with the
    /// pinned header and a key-sized encrypted key around arbitrary parts (a 12-byte
    /// IV when the ciphertext is long enough: the RSA and GCM steps then run).
    #[test]
    fn the_jwt_opener_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        ek in proptest::collection::vec(any::<u8>(), 256..=256),
        ct in proptest::collection::vec(any::<u8>(), 0..64),
        rest in "[A-Za-z0-9_.-]{0,40}",
    ) {
        use base64::Engine;
        let now = time::OffsetDateTime::now_utc();
        prop_assert!(jwt_keys().open(&body, now).is_err());
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let h = b64.encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#);
        let (iv, tag) = (b64.encode(&ct[..ct.len().min(12)]), b64.encode([7u8; 16]));
        for token in [
            format!("{h}.{}.{rest}", b64.encode(&ek)),
            format!("{h}.{}.{iv}.{}.{tag}", b64.encode(&ek), b64.encode(&ct)),
        ] {
            let body = serde_json::to_vec(&serde_json::json!({ "JWT": token })).unwrap();
            prop_assert!(jwt_keys().open(&body, now).is_err());
        }
    }
}
