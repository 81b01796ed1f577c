//! EBANX notifications: a form-urlencoded POST
//! `operation=payment_status_change&notification_type=update|refund|chargeback&hash_codes=h1[,h2...]`
//! carrying identifiers only (developers.ebanx.com `integrations/notifications`).
//! EBANX signs the raw body with its private key, RSA PKCS#1 v1.5 with SHA-1, base64
//! in `X-SignatureContent` (its PHP sample reads `X-Signature-Content`: both are
//! accepted). The configured `webhook_secret` is EBANX's certificate in PEM (or the
//! bare public key).

use base64::Engine;
use http::HeaderMap;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use rsa::{RsaPrivateKey, RsaPublicKey};

use crate::connectors::sign::header;
use crate::connectors::{CallbackData, ParseError, SignatureError};

pub const SIGNATURE_HEADER: &str = "x-signaturecontent";
pub const SIGNATURE_HEADER_ALT: &str = "x-signature-content";
pub const SIGNATURE_TYPE_HEADER: &str = "x-signaturetype";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// DER `DigestInfo` prefix for SHA-1 (RFC 8017 section 9.2, note 1).
const SHA1_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

fn scheme() -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: Some(20),
        prefix: Box::new(SHA1_PREFIX),
    }
}

fn sha1(body: &[u8]) -> [u8; 20] {
    sha1_smol::Sha1::from(body).digest().bytes()
}

/// One DER TLV: (tag, contents, whole element, rest).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn tlv(b: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header_len = b.len() - rest.len();
    Some((tag, &rest[..len], &b[..header_len + len], &rest[len..]))
}

/// The `subjectPublicKeyInfo` of an X.509 certificate (DER): the seventh field of
/// `tbsCertificate` counting the optional `[0]` version.
fn spki_of_cert(der: &[u8]) -> Option<&[u8]> {
    let (0x30, cert, _, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.3;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = tlv(rest)?.3;
    }
    let (tag, _, whole, _) = tlv(rest)?;
    (tag == 0x30).then_some(whole)
}

/// EBANX's public key from its PEM certificate (or a PEM public key).
pub fn public_key(pem: &str) -> Result<RsaPublicKey, String> {
    let pem = pem.trim();
    if pem.contains("BEGIN PUBLIC KEY") {
        return RsaPublicKey::from_public_key_pem(pem).map_err(|e| e.to_string());
    }
    let (label, der) =
        rsa::pkcs8::der::pem::decode_vec(pem.as_bytes()).map_err(|e| e.to_string())?;
    if label != "CERTIFICATE" {
        return Err(format!(
            "expected a CERTIFICATE or PUBLIC KEY PEM, got {label}"
        ));
    }
    let spki = spki_of_cert(&der).ok_or("certificate has no subjectPublicKeyInfo")?;
    RsaPublicKey::from_public_key_der(spki).map_err(|e| e.to_string())
}

pub(super) fn verify(
    key: &RsaPublicKey,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), SignatureError> {
    let given = header(headers, SIGNATURE_HEADER)
        .or_else(|| header(headers, SIGNATURE_HEADER_ALT))
        .ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let sig = B64
        .decode(given.trim())
        .map_err(|_| SignatureError::Mismatch)?;
    key.verify(scheme(), &sha1(body), &sig)
        .map_err(|_| SignatureError::Mismatch)
}

/// Signs a notification body as EBANX does (base64 RSA-SHA1, PKCS#1 v1.5), with a
/// PKCS#8 PEM private key: for the sandbox and tests.
pub fn sign_notification(private_key_pem: &str, body: &[u8]) -> Result<String, String> {
    use rsa::pkcs8::DecodePrivateKey;
    let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem.trim()).map_err(|e| e.to_string())?;
    sign_notification_with(&key, body)
}

/// [`sign_notification`] with the key already parsed (parsing costs more than signing).
pub fn sign_notification_with(key: &RsaPrivateKey, body: &[u8]) -> Result<String, String> {
    let sig = key.sign(scheme(), &sha1(body)).map_err(|e| e.to_string())?;
    Ok(B64.encode(sig))
}

/// The notification's `notification_type` and hashes.
pub fn form(body: &[u8]) -> Result<(String, Vec<String>), ParseError> {
    let mut typ = None;
    let mut op = None;
    let mut hashes = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "notification_type" => typ = Some(v.into_owned()),
            "operation" => op = Some(v.into_owned()),
            "hash_codes" | "hash" => hashes.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    if op.as_deref() != Some("payment_status_change") {
        return Err(ParseError::Malformed(
            "operation is not payment_status_change".into(),
        ));
    }
    if hashes.is_empty() {
        return Err(ParseError::Malformed("no hash_codes".into()));
    }
    Ok((typ.unwrap_or_else(|| "update".into()), hashes))
}

/// One unresolved event per hash: it names the payment and asks for a status query
/// ([`super::Ebanx`]'s `resolve_callback`); `status` is `None` until then.
pub(super) fn parse_all(body: &[u8]) -> Result<Vec<CallbackData>, ParseError> {
    let (typ, hashes) = form(body)?;
    Ok(hashes
        .into_iter()
        .map(|h| CallbackData {
            gateway_event_id: format!("notification:{typ}:{h}"),
            kind: Some(if typ == "refund" { "refund" } else { "payment" }),
            gateway_payment_id: Some(h),
            raw_status: format!("notification:{typ}"),
            ..Default::default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../../sandbox/keys/ebanx_sandbox_private.pem");
    const CERT: &str = include_str!("../../sandbox/keys/ebanx_sandbox_cert.pem");

    #[test]
    fn certificate_key_verifies_rsa_sha1() {
        let key = public_key(CERT).unwrap();
        let body = b"operation=payment_status_change&notification_type=update&hash_codes=h1,h2";
        let sig = sign_notification(PRIVATE, body).unwrap();
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER_ALT, sig.parse().unwrap());
        assert_eq!(verify(&key, &h, body), Ok(()));
        assert_eq!(
            verify(
                &key,
                &h,
                b"operation=payment_status_change&notification_type=update&hash_codes=h3"
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&key, &HeaderMap::new(), body),
            Err(SignatureError::Missing(SIGNATURE_HEADER))
        );
        assert!(
            public_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err()
        );
    }

    #[test]
    fn forms() {
        let all = parse_all(
            b"operation=payment_status_change&notification_type=update&hash_codes=a1%2Cb2",
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].gateway_payment_id.as_deref(), Some("b2"));
        assert_eq!(all[0].status, None);
        assert!(parse_all(b"operation=x&hash_codes=a").is_err());
        assert!(parse_all(b"operation=payment_status_change").is_err());
        let r = parse_all(b"operation=payment_status_change&notification_type=refund&hash_codes=a")
            .unwrap();
        assert_eq!(r[0].kind, Some("refund"));
    }
}
