//! Juspay's "JWT webhooks" (juspay.io `api-reference/docs/express-checkout/jwt-webhook`):
//! the body is `{"JWT": "<compact JWE>"}`. Signed, then encrypted: the plaintext of
//! the JWE (RFC 7516; `alg` RSA-OAEP-256, `enc` A256GCM, encrypted to the merchant's
//! public key) is a JWS (RFC 7515; `alg` RS256, signed with Juspay's private key)
//! whose payload is the usual webhook JSON. [`JwtKeys::open`] decrypts with the
//! merchant's private key, then verifies with Juspay's public key.
//!
//! Strict by construction: the header values are pinned (anything else, `none`
//! included, is refused before a key is used), `zip`, `crit` and `b64` are refused,
//! every part is canonical unpadded base64url, the key decryption failing is
//! indistinguishable from a failed tag (RFC 7516 section 11.5), the tag check is
//! `aes-gcm`'s constant-time one, and a JWS `exp`/`nbf` must hold. The inner JWS is
//! accepted compact (`h.p.s`) or as the `{header, payload, signature}` object that
//! Juspay's SDKs put inside their JWEs (expresscheckout-php-sdk `JuspayJWT.php`,
//! expresscheckout-dotnet-sdk `JuspayJWTRSA.cs`); the signature covers `h.p` either way.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::rand_core::{OsRng, RngCore};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The pinned header values.
pub const JWE_ALG: &str = "RSA-OAEP-256";
pub const JWE_ENC: &str = "A256GCM";
pub const JWS_ALG: &str = "RS256";
/// The body field that carries the token.
pub const FIELD: &str = "JWT";
/// Clock skew allowed on `exp` / `nbf`.
const LEEWAY_SECS: i64 = 60;
const MIN_KEY_BITS: usize = 2048;

pub(super) const B64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a JWT webhook was refused (each a 401 at the edge: nothing in it can be
/// trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the body carries no JWT")]
    NotJwt,
    #[error("the token is not a well-formed compact JWE / JWS")]
    Garbled,
    #[error("refused JOSE header: {0}")]
    Header(&'static str),
    #[error("the token does not decrypt with the merchant key")]
    Decrypt,
    #[error("the signature does not verify with Juspay's key")]
    Signature,
    #[error("the token is expired or not yet valid")]
    Expired,
}

/// The two keys of JWT mode: the merchant's private key (decrypts) and Juspay's
/// public key (verifies).
#[derive(Clone)]
pub struct JwtKeys {
    merchant: RsaPrivateKey,
    juspay: RsaPublicKey,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    /// From PEM: the merchant's private key (PKCS#8 or PKCS#1) and Juspay's public
    /// key (SPKI or PKCS#1), each at least 2048 bits.
    pub fn from_pem(merchant_private: &str, juspay_public: &str) -> Result<Self, String> {
        let merchant = private_key(merchant_private)?;
        let juspay = public_key(juspay_public)?;
        for (what, bits) in [
            ("merchant private key", merchant.n().bits()),
            ("Juspay public key", juspay.n().bits()),
        ] {
            if bits < MIN_KEY_BITS {
                return Err(format!("the {what} has {bits} bits; at least 2048 needed"));
            }
        }
        Ok(JwtKeys { merchant, juspay })
    }

    pub fn new(merchant: RsaPrivateKey, juspay: RsaPublicKey) -> Self {
        JwtKeys { merchant, juspay }
    }

    /// The webhook JSON inside a `{"JWT": ...}` body, decrypted and verified.
    pub fn open(&self, body: &[u8], now: OffsetDateTime) -> Result<Vec<u8>, JwtError> {
        let token = token_of(body)?;
        let jws = decrypt(&self.merchant, &token)?;
        let payload = verify(&self.juspay, &jws)?;
        check_times(&payload, now)?;
        Ok(payload)
    }
}

pub fn private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())
    } else {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())
    }
}

pub fn public_key(pem: &str) -> Result<RsaPublicKey, String> {
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PUBLIC KEY") {
        RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())
    } else {
        RsaPublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())
    }
}

/// Whether `body` is a JWT-mode webhook (a JSON object with a `JWT` member).
pub fn is_jwt_body(body: &[u8]) -> bool {
    serde_json::from_slice::<Map<String, Value>>(body).is_ok_and(|m| m.contains_key(FIELD))
}

fn token_of(body: &[u8]) -> Result<String, JwtError> {
    let m: Map<String, Value> = serde_json::from_slice(body).map_err(|_| JwtError::NotJwt)?;
    match m.get(FIELD) {
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(JwtError::Garbled),
        None => Err(JwtError::NotJwt),
    }
}

fn b64(part: &str) -> Result<Vec<u8>, JwtError> {
    B64.decode(part).map_err(|_| JwtError::Garbled)
}

/// A protected header: a JSON object with `alg` (and `enc` for a JWE) pinned and
/// no member switchyard does not implement.
fn header(part: &str, alg: &str, enc: Option<&str>) -> Result<(), JwtError> {
    let h: Map<String, Value> =
        serde_json::from_slice(&b64(part)?).map_err(|_| JwtError::Garbled)?;
    if h.get("alg").and_then(Value::as_str) != Some(alg) {
        return Err(JwtError::Header("alg"));
    }
    if let Some(enc) = enc
        && h.get("enc").and_then(Value::as_str) != Some(enc)
    {
        return Err(JwtError::Header("enc"));
    }
    for k in ["zip", "crit", "b64", "jku", "jwk", "x5u"] {
        if h.contains_key(k) {
            return Err(JwtError::Header(k));
        }
    }
    Ok(())
}

/// RFC 7516 section 5.2 for RSA-OAEP-256 + A256GCM: the JWS inside.
fn decrypt(key: &RsaPrivateKey, token: &str) -> Result<Vec<u8>, JwtError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, ek, iv, ct, tag] = parts[..] else {
        return Err(JwtError::Garbled);
    };
    header(h, JWE_ALG, Some(JWE_ENC))?;
    let (ek, iv, ct, tag) = (b64(ek)?, b64(iv)?, b64(ct)?, b64(tag)?);
    if iv.len() != 12 || tag.len() != 16 || ek.len() != key.size() {
        return Err(JwtError::Garbled);
    }
    // A key that does not decrypt goes on as a random one, so the answer (a failed
    // tag) is the same as for a forged ciphertext: no padding oracle.
    let mut cek = [0u8; 32];
    OsRng.fill_bytes(&mut cek);
    if let Ok(k) = key.decrypt_blinded(&mut OsRng, Oaep::new::<Sha256>(), &ek)
        && k.len() == cek.len()
    {
        cek.copy_from_slice(&k);
    }
    gcm_open(&cek, &iv, h.as_bytes(), &ct, &tag)
}

/// A256GCM with the encoded protected header as the additional data.
pub(crate) fn gcm_open(
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, JwtError> {
    let cipher = Aes256Gcm::new_from_slice(cek).map_err(|_| JwtError::Decrypt)?;
    let mut msg = Vec::with_capacity(ct.len() + tag.len());
    msg.extend_from_slice(ct);
    msg.extend_from_slice(tag);
    cipher
        .decrypt(Nonce::from_slice(iv), Payload { msg: &msg, aad })
        .map_err(|_| JwtError::Decrypt)
}

/// The payload of an RS256 JWS, compact or as the SDKs' JSON object.
fn verify(key: &RsaPublicKey, jws: &[u8]) -> Result<Vec<u8>, JwtError> {
    let s = std::str::from_utf8(jws)
        .map_err(|_| JwtError::Garbled)?
        .trim();
    let (h, p, sig) = if s.starts_with('{') {
        let m: Map<String, Value> = serde_json::from_str(s).map_err(|_| JwtError::Garbled)?;
        let part = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or(JwtError::Garbled)
        };
        (part("header")?, part("payload")?, part("signature")?)
    } else {
        let parts: Vec<&str> = s.split('.').collect();
        let [h, p, sig] = parts[..] else {
            return Err(JwtError::Garbled);
        };
        (h.to_string(), p.to_string(), sig.to_string())
    };
    header(&h, JWS_ALG, None)?;
    let sig = b64(&sig)?;
    let payload = b64(&p)?;
    let digest = Sha256::digest(format!("{h}.{p}").as_bytes());
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig)
        .map_err(|_| JwtError::Signature)?;
    Ok(payload)
}

/// `exp` and `nbf` (NumericDate), when the payload carries them, hold at `now`.
fn check_times(payload: &[u8], now: OffsetDateTime) -> Result<(), JwtError> {
    let v: Map<String, Value> = serde_json::from_slice(payload).map_err(|_| JwtError::Garbled)?;
    let t = now.unix_timestamp();
    let num = |k: &str| match v.get(k) {
        None => Ok(None),
        Some(x) => x.as_f64().map(Some).ok_or(JwtError::Expired),
    };
    if num("exp")?.is_some_and(|exp| (t - LEEWAY_SECS) as f64 >= exp) {
        return Err(JwtError::Expired);
    }
    if num("nbf")?.is_some_and(|nbf| ((t + LEEWAY_SECS) as f64) < nbf) {
        return Err(JwtError::Expired);
    }
    Ok(())
}

/// A compact RS256 JWS of `payload` under `header_json` (the sandbox twin's and the
/// tests' side: Juspay signs with its private key).
pub fn sign_jws(key: &RsaPrivateKey, header_json: &str, payload: &[u8]) -> Result<String, String> {
    let input = format!("{}.{}", B64.encode(header_json), B64.encode(payload));
    let digest = Sha256::digest(input.as_bytes());
    let sig = key
        .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
        .map_err(|e| e.to_string())?;
    Ok(format!("{input}.{}", B64.encode(sig)))
}

/// A compact RSA-OAEP-256 + A256GCM JWE of `plaintext` under `header_json`, to `key`.
pub fn encrypt_jwe(
    key: &RsaPublicKey,
    header_json: &str,
    plaintext: &[u8],
) -> Result<String, String> {
    let mut cek = [0u8; 32];
    let mut iv = [0u8; 12];
    OsRng.fill_bytes(&mut cek);
    OsRng.fill_bytes(&mut iv);
    let ek = key
        .encrypt(&mut OsRng, Oaep::new::<Sha256>(), &cek)
        .map_err(|e| e.to_string())?;
    let h = B64.encode(header_json);
    let cipher = Aes256Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
    let mut out = cipher
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad: h.as_bytes(),
            },
        )
        .map_err(|e| e.to_string())?;
    let tag = out.split_off(out.len() - 16);
    Ok(format!(
        "{h}.{}.{}.{}.{}",
        B64.encode(ek),
        B64.encode(iv),
        B64.encode(out),
        B64.encode(tag)
    ))
}

/// A JWT-mode webhook body as Juspay sends it: `webhook` signed with Juspay's key,
/// then encrypted to the merchant's, under the key id `kid`.
pub fn seal(
    webhook: &[u8],
    juspay_private: &RsaPrivateKey,
    merchant_public: &RsaPublicKey,
    kid: &str,
) -> Result<Vec<u8>, String> {
    let kid = Value::from(kid);
    let jws = sign_jws(
        juspay_private,
        &format!(r#"{{"alg":"{JWS_ALG}","kid":{kid}}}"#),
        webhook,
    )?;
    let jwe = encrypt_jwe(
        merchant_public,
        &format!(r#"{{"alg":"{JWE_ALG}","enc":"{JWE_ENC}","kid":{kid},"cty":"JWT"}}"#),
        jws.as_bytes(),
    )?;
    serde_json::to_vec(&serde_json::json!({ FIELD: jwe })).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
