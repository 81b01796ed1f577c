//! JWT webhooks: tokens built here from the test keys in `src/sandbox/keys/`
//! (generated with openssl for these tests) and a key generated in the test, plus the
//! published vectors of RFC 7515 appendix A.2 (RS256) and RFC 7516 appendix A.1
//! (A256GCM content decryption).

use std::sync::OnceLock;

use rsa::{RsaPrivateKey, RsaPublicKey};
use time::OffsetDateTime;

use super::*;

const JUSPAY_PRIVATE: &str = include_str!("../../sandbox/keys/juspay_ec_sandbox_private.pem");
const JUSPAY_PUBLIC: &str = include_str!("../../sandbox/keys/juspay_ec_sandbox_public.pem");
const MERCHANT_PRIVATE: &str = include_str!("../../sandbox/keys/juspay_ec_merchant_private.pem");

struct Keys {
    juspay: RsaPrivateKey,
    merchant: RsaPrivateKey,
    /// Generated here: neither party's.
    other: RsaPrivateKey,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| Keys {
        juspay: private_key(JUSPAY_PRIVATE).unwrap(),
        merchant: private_key(MERCHANT_PRIVATE).unwrap(),
        other: RsaPrivateKey::new(&mut OsRng, 2048).unwrap(),
    })
}

fn opener() -> JwtKeys {
    JwtKeys::from_pem(MERCHANT_PRIVATE, JUSPAY_PUBLIC).unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_348_000).unwrap()
}

const WEBHOOK: &[u8] = br#"{"id":"evt_V2_1","date_created":"2026-01-02T10:00:00Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"id":"ordeh_1","order_id":"sy_1","status":"CHARGED","amount":299.5,"currency":"INR"}}}"#;

const JWS_HEADER: &str = r#"{"alg":"RS256","kid":"key_1"}"#;
const JWE_HEADER: &str = r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"key_1","cty":"JWT"}"#;

/// `{"JWT": jwe}` with the given headers, signer and recipient.
fn body(jwe_header: &str, jws: &str, to: &RsaPublicKey) -> Vec<u8> {
    let jwe = encrypt_jwe(to, jwe_header, jws.as_bytes()).unwrap();
    serde_json::to_vec(&serde_json::json!({ "JWT": jwe })).unwrap()
}

fn merchant_pub() -> RsaPublicKey {
    keys().merchant.to_public_key()
}

fn signed(header: &str, payload: &[u8]) -> String {
    sign_jws(&keys().juspay, header, payload).unwrap()
}

/// Replaces part `i` of the body's compact JWE.
fn with_part(body: &[u8], i: usize, f: impl Fn(&str) -> String) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let mut parts: Vec<String> = v["JWT"]
        .as_str()
        .unwrap()
        .split('.')
        .map(String::from)
        .collect();
    parts[i] = f(&parts[i]);
    serde_json::to_vec(&serde_json::json!({ "JWT": parts.join(".") })).unwrap()
}

/// Flips one bit of a base64url part's bytes.
fn flip(part: &str) -> String {
    let mut b = B64.decode(part).unwrap();
    b[0] ^= 1;
    B64.encode(b)
}

#[test]
fn a_sealed_webhook_opens_to_its_json() {
    let b = seal(WEBHOOK, &keys().juspay, &merchant_pub(), "key_1").unwrap();
    assert!(is_jwt_body(&b));
    assert_eq!(opener().open(&b, now()).unwrap(), WEBHOOK);
    // The header carries the documented values (juspay.io jwt-webhook sample header).
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let h = v["JWT"].as_str().unwrap().split('.').next().unwrap();
    let h: serde_json::Value = serde_json::from_slice(&B64.decode(h).unwrap()).unwrap();
    assert_eq!(
        (h["alg"].as_str(), h["enc"].as_str()),
        (Some(JWE_ALG), Some(JWE_ENC))
    );
}

#[test]
fn the_sdks_json_form_of_the_inner_jws_is_accepted() {
    let jws = signed(JWS_HEADER, WEBHOOK);
    let p: Vec<&str> = jws.split('.').collect();
    let obj = format!(
        r#"{{"header":"{}","payload":"{}","signature":"{}"}}"#,
        p[0], p[1], p[2]
    );
    assert_eq!(
        opener()
            .open(&body(JWE_HEADER, &obj, &merchant_pub()), now())
            .unwrap(),
        WEBHOOK
    );
}

#[test]
fn tampering_with_any_part_is_refused() {
    let b = body(JWE_HEADER, &signed(JWS_HEADER, WEBHOOK), &merchant_pub());
    let o = opener();
    // Encrypted key, ciphertext, tag: all end as the same failed decryption.
    for i in [1, 3, 4] {
        assert_eq!(
            o.open(&with_part(&b, i, flip), now()),
            Err(JwtError::Decrypt),
            "part {i}"
        );
    }
    // The IV and the protected header (the AAD) are authenticated too.
    assert_eq!(
        o.open(&with_part(&b, 2, flip), now()),
        Err(JwtError::Decrypt)
    );
    let same_alg_other_bytes = B64.encode(r#"{"enc":"A256GCM","alg":"RSA-OAEP-256"}"#);
    assert_eq!(
        o.open(&with_part(&b, 0, |_| same_alg_other_bytes.clone()), now()),
        Err(JwtError::Decrypt)
    );
    // A truncated tag or IV is not a token at all.
    assert_eq!(
        o.open(&with_part(&b, 4, |t| t[..10].into()), now()),
        Err(JwtError::Garbled)
    );
    // A forged inner signature (payload swapped after signing).
    let jws = signed(JWS_HEADER, WEBHOOK);
    let p: Vec<&str> = jws.split('.').collect();
    let forged = format!("{}.{}.{}", p[0], B64.encode(br#"{"id":"evt_V2_2"}"#), p[2]);
    assert_eq!(
        o.open(&body(JWE_HEADER, &forged, &merchant_pub()), now()),
        Err(JwtError::Signature)
    );
}

#[test]
fn the_wrong_keys_are_refused() {
    let o = opener();
    let jws = signed(JWS_HEADER, WEBHOOK);
    // Encrypted to another key than the merchant's.
    let to_other = body(JWE_HEADER, &jws, &keys().other.to_public_key());
    assert_eq!(o.open(&to_other, now()), Err(JwtError::Decrypt));
    // Signed by another key than Juspay's (the merchant's own, and a stranger's).
    for k in [&keys().merchant, &keys().other] {
        let jws = sign_jws(k, JWS_HEADER, WEBHOOK).unwrap();
        assert_eq!(
            o.open(&body(JWE_HEADER, &jws, &merchant_pub()), now()),
            Err(JwtError::Signature)
        );
    }
    // Keys below 2048 bits, or not keys at all, are config errors.
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let small = RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
    let small_private = small.to_pkcs8_pem(LineEnding::LF).unwrap();
    let small_public = small
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    assert!(JwtKeys::from_pem(&small_private, JUSPAY_PUBLIC).is_err());
    assert!(JwtKeys::from_pem(MERCHANT_PRIVATE, &small_public).is_err());
    assert!(JwtKeys::from_pem(JUSPAY_PUBLIC, JUSPAY_PUBLIC).is_err());
    assert!(JwtKeys::from_pem(MERCHANT_PRIVATE, "not a key").is_err());
}

#[test]
fn headers_other_than_the_pinned_ones_are_refused() {
    let o = opener();
    let jws = signed(JWS_HEADER, WEBHOOK);
    let m = merchant_pub();
    for (h, why) in [
        (r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#, "alg"),
        (r#"{"alg":"RSA1_5","enc":"A256GCM"}"#, "alg"),
        (r#"{"alg":"dir","enc":"A256GCM"}"#, "alg"),
        (r#"{"enc":"A256GCM"}"#, "alg"),
        (r#"{"alg":"RSA-OAEP-256","enc":"A128GCM"}"#, "enc"),
        (r#"{"alg":"RSA-OAEP-256","enc":"A256CBC-HS512"}"#, "enc"),
        (
            r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}"#,
            "zip",
        ),
        (
            r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","crit":["exp"],"exp":1}"#,
            "crit",
        ),
    ] {
        assert_eq!(
            o.open(&body(h, &jws, &m), now()),
            Err(JwtError::Header(why)),
            "{h}"
        );
    }
    // The inner JWS: `none` (empty signature), HS256 keyed with Juspay's public key
    // (alg confusion), PS256, and an unencoded payload.
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none"}"#),
        B64.encode(WEBHOOK)
    );
    assert_eq!(
        o.open(&body(JWE_HEADER, &none, &m), now()),
        Err(JwtError::Header("alg"))
    );
    let hs_input = format!(
        "{}.{}",
        B64.encode(r#"{"alg":"HS256"}"#),
        B64.encode(WEBHOOK)
    );
    let mac =
        crate::connectors::sign::hmac_sha256(JUSPAY_PUBLIC.as_bytes(), &[hs_input.as_bytes()]);
    let hs = format!("{hs_input}.{}", B64.encode(mac));
    assert_eq!(
        o.open(&body(JWE_HEADER, &hs, &m), now()),
        Err(JwtError::Header("alg"))
    );
    for h in [
        r#"{"alg":"PS256"}"#,
        r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#,
    ] {
        let jws = sign_jws(&keys().juspay, h, WEBHOOK).unwrap();
        assert!(
            matches!(
                o.open(&body(JWE_HEADER, &jws, &m), now()),
                Err(JwtError::Header(_))
            ),
            "{h}"
        );
    }
}

#[test]
fn garbled_bodies_are_refused() {
    let o = opener();
    let good = body(JWE_HEADER, &signed(JWS_HEADER, WEBHOOK), &merchant_pub());
    let cases: &[(&[u8], JwtError)] = &[
        (b"", JwtError::NotJwt),
        (b"JWT", JwtError::NotJwt),
        (
            br#"{"id":"evt_V2_1","event_name":"ORDER_SUCCEEDED"}"#,
            JwtError::NotJwt,
        ),
        (br#"["JWT"]"#, JwtError::NotJwt),
        (br#"{"JWT":5}"#, JwtError::Garbled),
        (br#"{"JWT":{"header":"x"}}"#, JwtError::Garbled),
        (br#"{"JWT":""}"#, JwtError::Garbled),
        (br#"{"JWT":"a.b.c"}"#, JwtError::Garbled),
        (br#"{"JWT":"a.b.c.d.e.f"}"#, JwtError::Garbled),
        (br#"{"JWT":"!!.b.c.d.e"}"#, JwtError::Garbled),
    ];
    for (b, want) in cases {
        assert_eq!(
            o.open(b, now()),
            Err(*want),
            "{}",
            String::from_utf8_lossy(b)
        );
    }
    // Padded base64url is not canonical.
    assert_eq!(
        o.open(&with_part(&good, 2, |iv| format!("{iv}==")), now()),
        Err(JwtError::Garbled)
    );
    // A JWE whose plaintext is not a JWS, or whose JWS payload is not JSON.
    let m = merchant_pub();
    assert_eq!(
        o.open(&body(JWE_HEADER, "hello", &m), now()),
        Err(JwtError::Garbled)
    );
    let not_json = signed(JWS_HEADER, b"not json");
    assert_eq!(
        o.open(&body(JWE_HEADER, &not_json, &m), now()),
        Err(JwtError::Garbled)
    );
}

#[test]
fn exp_and_nbf_hold_when_present() {
    let o = opener();
    let m = merchant_pub();
    let t = now().unix_timestamp();
    let with = |claims: &str| {
        let payload = format!(r#"{{"id":"evt_V2_1",{claims}}}"#);
        body(JWE_HEADER, &signed(JWS_HEADER, payload.as_bytes()), &m)
    };
    assert!(
        o.open(&with(&format!(r#""exp":{}"#, t + 300)), now())
            .is_ok()
    );
    assert!(
        o.open(&with(&format!(r#""exp":{}"#, t - 30)), now())
            .is_ok(),
        "leeway"
    );
    assert_eq!(
        o.open(&with(&format!(r#""exp":{}"#, t - 61)), now()),
        Err(JwtError::Expired)
    );
    assert_eq!(
        o.open(&with(&format!(r#""nbf":{}"#, t + 600)), now()),
        Err(JwtError::Expired)
    );
    assert_eq!(
        o.open(&with(r#""exp":"tomorrow""#), now()),
        Err(JwtError::Expired)
    );
}

/// RFC 7515 appendix A.2: the RS256 JWS verifies with the published key; its `exp`
/// (1300819380, in 2011) refuses it today.
#[test]
fn rfc7515_a2_rs256_vector() {
    const N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    const JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    let n = rsa::BigUint::from_bytes_be(&B64.decode(N).unwrap());
    let key = RsaPublicKey::new(n, rsa::BigUint::from(65_537u32)).unwrap();
    let payload = verify(&key, JWS.as_bytes()).unwrap();
    assert!(payload.starts_with(b"{\"iss\":\"joe\",\r\n \"exp\":1300819380"));
    assert_eq!(check_times(&payload, now()), Err(JwtError::Expired));
    assert_eq!(
        check_times(
            &payload,
            OffsetDateTime::from_unix_timestamp(1_300_000_000).unwrap()
        ),
        Ok(())
    );
    // One changed signature bit, and another key.
    let bad = format!("{}A", &JWS[..JWS.len() - 1]);
    assert_eq!(verify(&key, bad.as_bytes()), Err(JwtError::Signature));
    assert_eq!(
        verify(&keys().juspay.to_public_key(), JWS.as_bytes()),
        Err(JwtError::Signature)
    );
}

/// RFC 7516 appendix A.1: its A256GCM content decryption (CEK A.1.2, IV A.1.4, AAD
/// A.1.5, ciphertext and tag A.1.6); the whole token is refused, its `alg` being
/// RSA-OAEP (SHA-1), not the pinned RSA-OAEP-256.
#[test]
fn rfc7516_a1_a256gcm_vector() {
    const H: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ";
    const CEK: [u8; 32] = [
        177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246, 138, 7, 110,
        91, 112, 46, 34, 105, 47, 130, 203, 46, 122, 234, 64, 252,
    ];
    const IV: &str = "48V1_ALb6US04U3b";
    const CT: &str =
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A";
    const TAG: &str = "XFBoMYUZodetZdvTiFvSkQ";
    let (iv, ct, tag) = (
        B64.decode(IV).unwrap(),
        B64.decode(CT).unwrap(),
        B64.decode(TAG).unwrap(),
    );
    let pt = gcm_open(&CEK, &iv, H.as_bytes(), &ct, &tag).unwrap();
    assert_eq!(
        pt,
        b"The true sign of intelligence is not knowledge but imagination."
    );
    let mut bad_tag = tag.clone();
    bad_tag[15] ^= 0x80;
    assert_eq!(
        gcm_open(&CEK, &iv, H.as_bytes(), &ct, &bad_tag),
        Err(JwtError::Decrypt)
    );
    assert_eq!(
        gcm_open(&CEK, &iv, b"eyJ", &ct, &tag),
        Err(JwtError::Decrypt)
    );
    let token = format!("{H}.{}.{IV}.{CT}.{TAG}", B64.encode([0u8; 256]));
    let b = serde_json::to_vec(&serde_json::json!({ "JWT": token })).unwrap();
    assert_eq!(opener().open(&b, now()), Err(JwtError::Header("alg")));
}
