//! Paytm's checksum (paytm/Paytm_Python_Checksum `PaytmChecksum.py`; the Node and
//! Java checksum libraries implement the same):
//! - the message is the form's values sorted by key (without `CHECKSUMHASH`), the
//!   literal `null` (any case) as empty, joined with `|`; or, for JSON APIs, the exact
//!   text of the `body` object;
//! - `hash = sha256_hex(message + "|" + salt) + salt` with a random 4-character salt;
//! - the checksum is base64(AES-CBC(hash)) keyed with the merchant key (16 bytes:
//!   AES-128; 24/32 also work), IV `@@@@&&&&####$$$$`, PKCS#7 padding.
//!
//! Verifying decrypts, takes the salt from the last 4 characters and recomputes.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::connectors::form::Form;
use crate::connectors::sign::ct_eq;

const IV: &[u8; 16] = b"@@@@&&&&####$$$$";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The `|`-joined message of a form's parameters.
pub fn form_message(f: &Form) -> String {
    let mut pairs: Vec<(&str, &str)> =
        f.0.iter()
            .filter(|(k, _)| k != "CHECKSUMHASH")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .map(|(_, v)| {
            if v.eq_ignore_ascii_case("null") {
                ""
            } else {
                v
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn salted_hash(message: &str, salt: &str) -> String {
    let h = Sha256::digest(format!("{message}|{salt}").as_bytes());
    format!("{}{salt}", hex::encode(h))
}

fn encrypt(plain: &str, key: &[u8]) -> Option<String> {
    let bytes = plain.as_bytes();
    let ct = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, IV)
            .ok()?
            .encrypt_padded_vec_mut::<Pkcs7>(bytes),
        24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, IV)
            .ok()?
            .encrypt_padded_vec_mut::<Pkcs7>(bytes),
        32 => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, IV)
            .ok()?
            .encrypt_padded_vec_mut::<Pkcs7>(bytes),
        _ => return None,
    };
    Some(B64.encode(ct))
}

fn decrypt(checksum: &str, key: &[u8]) -> Option<String> {
    let ct = B64.decode(checksum.trim()).ok()?;
    let pt = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, IV)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(&ct)
            .ok()?,
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, IV)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(&ct)
            .ok()?,
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, IV)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(&ct)
            .ok()?,
        _ => return None,
    };
    String::from_utf8(pt).ok()
}

fn random_salt() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..4)
        .map(|_| char::from(CHARS[rand::random_range(0..CHARS.len())]))
        .collect()
}

/// The checksum of `message` with `salt` (deterministic, for tests and vectors).
pub fn sign_with_salt(message: &str, key: &str, salt: &str) -> Option<String> {
    encrypt(&salted_hash(message, salt), key.as_bytes())
}

/// The checksum of `message` with a fresh random salt (`None`: the key is not
/// 16, 24 or 32 bytes).
pub fn sign(message: &str, key: &str) -> Option<String> {
    sign_with_salt(message, key, &random_salt())
}

/// Whether `checksum` is Paytm's checksum of `message` under `key`.
pub fn verify(message: &str, key: &str, checksum: &str) -> bool {
    let Some(plain) = decrypt(checksum, key.as_bytes()) else {
        return false;
    };
    if plain.len() < 4 || !plain.is_char_boundary(plain.len() - 4) {
        return false;
    }
    let salt = &plain[plain.len() - 4..];
    ct_eq(plain.as_bytes(), salted_hash(message, salt).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_values_with_null_as_empty() {
        let f = Form::parse(b"ORDERID=O1&MID=M&CHECKSUMHASH=x&BANKTXNID=null&AMT=1.00");
        // AMT, BANKTXNID, MID, ORDERID
        assert_eq!(form_message(&f), "1.00||M|O1");
    }

    #[test]
    fn round_trip_and_tamper() {
        let key = "Kx9mQ2vT7pL4wZ8n";
        let c = sign("a|b", key).unwrap();
        assert!(verify("a|b", key, &c));
        assert!(!verify("a|c", key, &c));
        assert!(!verify("a|b", "Kx9mQ2vT7pL4wZ8m", &c));
        assert!(!verify("a|b", key, "not-base64!"));
        assert_eq!(sign("x", "short"), None);
        // Deterministic with a fixed salt; the salt sits at the end of the plaintext.
        let a = sign_with_salt("m", key, "abcd").unwrap();
        assert_eq!(a, sign_with_salt("m", key, "abcd").unwrap());
        assert!(decrypt(&a, key.as_bytes()).unwrap().ends_with("abcd"));
    }
}
