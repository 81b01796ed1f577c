//! Shared callback-verification helpers: HMAC-SHA256 over several byte slices,
//! constant-time comparison, case-insensitive header access.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenation of `parts`, keyed with `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Lowercase hex HMAC-SHA256.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

/// Standard base64 (with padding) HMAC-SHA256.
pub fn hmac_sha256_base64(key: &[u8], parts: &[&[u8]]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key, parts))
}

/// Constant-time equality (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Compares a hex signature from a header with the expected MAC, in constant time.
/// Accepts either case of hex digits.
pub fn hex_matches(given: &str, expected: &[u8; 32]) -> bool {
    match hex::decode(given.trim()) {
        Ok(bytes) => ct_eq(&bytes, expected),
        Err(_) => false,
    }
}

/// Compares a base64 signature from a header with the expected MAC, in constant time.
pub fn base64_matches(given: &str, expected: &[u8; 32]) -> bool {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(given.trim()) {
        Ok(bytes) => ct_eq(&bytes, expected),
        Err(_) => false,
    }
}

/// A header's value as text (`HeaderMap` lookups are case-insensitive).
pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // razorpay-node / razorpay-java test vector.
        let sig = hmac_sha256_hex(b"123456", &[br#"{"a":1,"b":2,"c":{"d":3}}"#]);
        assert_eq!(
            sig,
            "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc"
        );
        let mac = hmac_sha256(b"123456", &[br#"{"a":1,"b":2,"c":"#, br#"{"d":3}}"#]);
        assert!(hex_matches(&sig.to_uppercase(), &mac));
        assert!(!hex_matches("zz", &mac));
        assert!(base64_matches(
            &hmac_sha256_base64(b"123456", &[b"x"]),
            &hmac_sha256(b"123456", &[b"x"])
        ));
    }
}
