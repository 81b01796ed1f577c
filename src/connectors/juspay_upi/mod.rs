//! Juspay UPI Merchant Stack (the PSP stack behind Axis, YES, Kotak, RBL and AU
//! merchant UPI): the **Pay Callback** (`type = MERCHANT_CREDITED_VIA_PAY`) and the
//! refund callback, signed with Juspay's RSA key (GATEWAYS.md section 3.8).
//!
//! The stack's initiation and status APIs are JWS/JWE-wrapped bank APIs that the
//! docs do not publish in full, so this connector is callback-only: `initiate`
//! answers `NotSent` (safe to fail over: nothing was sent) and `status` answers
//! [`UpstreamError::NotSupported`]; the watchdog then ends such a payment `stale`
//! for reconciliation by settlement file.
//!
//! The `webhook_secret` of such a gateway is Juspay's **public key** in PEM
//! (`-----BEGIN PUBLIC KEY-----`, SPKI) — not a secret, but configured the same way.

mod webhook;

use async_trait::async_trait;
use http::HeaderMap;
use rsa::RsaPublicKey;
use rsa::pkcs8::DecodePublicKey;

use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, SignatureError, StatusReport,
    VerifyOptions,
};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{ConnectorKind, GatewaySpec};

pub use webhook::{SIGNATURE_HEADER, sign_callback, sign_callback_with};

pub struct JuspayUpi {
    /// Juspay's public key, parsed once; `None` when none is configured (every
    /// callback is then refused).
    key: Option<RsaPublicKey>,
}

impl JuspayUpi {
    /// Parses the configured public key (PEM, SPKI). A key that does not parse is a
    /// config error, reported when the config is compiled.
    pub fn new(spec: &GatewaySpec) -> Result<Self, UpstreamError> {
        let key = match &spec.credentials.webhook_secret {
            None => None,
            Some(pem) => Some(
                RsaPublicKey::from_public_key_pem(pem.expose().trim()).map_err(|e| {
                    UpstreamError::Build(format!("juspay_upi public key is not a PEM RSA key: {e}"))
                })?,
            ),
        };
        Ok(JuspayUpi { key })
    }
}

#[async_trait]
impl Connector for JuspayUpi {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::JuspayUpi
    }

    async fn initiate(&self, _req: InitiateRequest<'_>) -> Outcome {
        Outcome::NotSent {
            detail: "juspay_upi is callback-only: payments are initiated in the customer's UPI app"
                .into(),
        }
    }

    async fn status(
        &self,
        _payment_id: &str,
        _gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        Err(UpstreamError::NotSupported(
            "juspay_upi has no documented status API".into(),
        ))
    }

    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        // No signed timestamp: replay protection is the event-id dedupe.
        let key = self.key.as_ref().ok_or(SignatureError::NoSecret)?;
        webhook::verify(key, headers, body)
    }

    fn parse_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackData, ParseError> {
        webhook::parse(body)
    }
}
