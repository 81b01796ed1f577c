//! PayU's SHA-512 hashes (lowercase hex), as docs.payu.in "Generate Hash" and
//! payu-sdk-node `lib/payu/hasher.js` define them:
//! - request: `key|txnid|amount|productinfo|firstname|email|udf1|…|udf10|SALT`
//!   (udf6..udf10 are always empty here), checked against payu-sdk-node's vector;
//! - response ("reverse hash"): `[additional_charges|]SALT|status||||||udf5|…|udf1|email|firstname|productinfo|amount|txnid|key`;
//! - general APIs (`verify_payment`): `key|command|var1|SALT`.
//!
//! Values are hashed exactly as posted (after form decoding).

use sha2::{Digest, Sha512};

use crate::connectors::form::Form;
use crate::connectors::sign::ct_eq;

fn sha512_hex(s: &str) -> String {
    hex::encode(Sha512::digest(s.as_bytes()))
}

/// The fields both hashes cover, by name.
const UDFS: [&str; 5] = ["udf1", "udf2", "udf3", "udf4", "udf5"];

/// The `_payment` request hash over the form's fields.
pub fn request_hash(f: &Form, salt: &str) -> String {
    let mut parts: Vec<&str> = [
        "key",
        "txnid",
        "amount",
        "productinfo",
        "firstname",
        "email",
    ]
    .iter()
    .map(|k| f.get(k))
    .collect();
    parts.extend(UDFS.iter().map(|k| f.get(k)));
    parts.extend(["", "", "", "", ""]);
    parts.push(salt);
    sha512_hex(&parts.join("|"))
}

/// The reverse hash PayU puts in a transaction response or callback.
pub fn reverse_hash(f: &Form, salt: &str) -> String {
    let mut parts: Vec<&str> = Vec::with_capacity(18);
    if let Some(ac) = f.raw("additional_charges").filter(|v| !v.is_empty()) {
        parts.push(ac);
    }
    parts.push(salt);
    parts.push(f.get("status"));
    parts.extend(["", "", "", "", ""]);
    parts.extend(UDFS.iter().rev().map(|k| f.get(k)));
    parts.extend(
        [
            "email",
            "firstname",
            "productinfo",
            "amount",
            "txnid",
            "key",
        ]
        .iter()
        .map(|k| f.get(k)),
    );
    sha512_hex(&parts.join("|"))
}

/// The hash of a general (postservice) API call.
pub fn command_hash(key: &str, command: &str, var1: &str, salt: &str) -> String {
    sha512_hex(&format!("{key}|{command}|{var1}|{salt}"))
}

/// Whether `given` (hex, either case) is `expected`, in constant time.
pub fn matches(given: &str, expected: &str) -> bool {
    ct_eq(
        given.trim().to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// payu-sdk-node@085548ca `tests/payu/hasher.test.js` "should validate hash and
    /// return true": key `bjg$121`, salt `vhgvs75`, status success.
    #[test]
    fn payu_sdk_node_reverse_hash_vector() {
        let f = Form::parse(
            b"key=bjg%24121&txnid=3123&amount=1000&productinfo=mobile&firstname=Jacob&email=test%40payu.in&status=success",
        );
        assert_eq!(
            reverse_hash(&f, "vhgvs75"),
            "687c82156a84271a7a6c63d0e8774d5ac567d9b894a334a47d72e47b72392a5167a1b2add5b253490b70731d9eb3e3a3b7225e0c5f26829befafbbee71977c4c"
        );
        assert!(!matches("00", &reverse_hash(&f, "other-salt")));
    }

    /// payu-sdk-node@085548ca `tests/payu/hasher.test.js` "should generateHash and
    /// return String" (`generateHash` in `lib/payu/hasher.js`): the request hash of
    /// key `bjg$121`, txnid `3123`, amount `1000`, productinfo `mobile`, firstname
    /// `Jacob`, email `test@payu.in`, salt `vhgvs75`, udf1..udf10 empty.
    #[test]
    fn payu_sdk_node_request_hash_vector() {
        let f = Form::parse(
            b"key=bjg%24121&txnid=3123&amount=1000&productinfo=mobile&firstname=Jacob&email=test%40payu.in",
        );
        assert_eq!(
            request_hash(&f, "vhgvs75"),
            "19d0822939b32b371847521c89aba3521de3a9bfeabeee5dab2d6f41962ff9fcdcee87067bb3a3de870acce488f9ff88a3511bb78c6143344a277b1b91ad38b8"
        );
        // Fields the hash does not cover (phone, surl, enforce_paymethod) change nothing.
        let more = Form::parse(
            b"key=bjg%24121&txnid=3123&amount=1000&productinfo=mobile&firstname=Jacob&email=test%40payu.in&phone=1&enforce_paymethod=netbanking",
        );
        assert_eq!(request_hash(&more, "vhgvs75"), request_hash(&f, "vhgvs75"));
    }

    #[test]
    fn request_hash_layout() {
        let f = Form::parse(b"key=K&txnid=T&amount=1.00&productinfo=P&firstname=F&email=E&udf1=U");
        assert_eq!(
            request_hash(&f, "S"),
            sha512_hex(&format!("K|T|1.00|P|F|E|U{}S", "|".repeat(10)))
        );
        assert_eq!(
            command_hash("K", "verify_payment", "T", "S"),
            sha512_hex("K|verify_payment|T|S")
        );
    }
}
