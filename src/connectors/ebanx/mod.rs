//! The `ebanx` dialect: EBANX Direct API for UPI in India (`POST /ws/direct`,
//! `payment_type_code` `upi-intent` or `upi-qrcode`; EBANX's Direct API offers no
//! UPI collect, which answers `NotSent` so the router may try another gateway), the
//! hosted payment page (`POST /ws/request`) for card and netbanking, and `POST
//! /ws/query` for status. Auth: the integration key (`key_secret`) in every body.
//! EBANX refuses a second payment with the same `merchant_payment_code` (`BP-DR-0`):
//! dedupe on our reference. Amounts are decimal major units.
//!
//! Notifications carry only hashes ([`webhook`]); each is answered with a status
//! query in [`Connector::resolve_callback`]. Refunds: `POST /ws/refund` with a
//! `merchant_refund_code` of at most 20 characters, status from the query's
//! `payment.refunds` ([`refund`]).

mod refund;
mod request;
mod response;
pub mod webhook;

use async_trait::async_trait;
use http::HeaderMap;
use rsa::RsaPublicKey;

use super::classify::{self, DeclineInfo};
use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, RefundLookup, RefundOutcome,
    RefundQuery, RefundReport, RefundRequest, SignatureError, StatusReport, VerifyOptions,
};
use crate::connectors::upstream::{Upstream, UpstreamError};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::{Method, Reason};

pub use refund::{
    MERCHANT_REFUND_CODE_MAX, REFUND_PATH, merchant_refund_code, refund_answer, refund_body,
};
pub use request::{decimal, direct_body, page_body, query_body, upi_type};
pub use response::{ERRORS, ErrorClass, error_class, payment_status, refund_status};
pub use webhook::{
    SIGNATURE_HEADER, SIGNATURE_HEADER_ALT, sign_notification, sign_notification_with,
};

pub struct Ebanx {
    upstream: Upstream,
    credentials: Credentials,
    /// EBANX's notification key, from the configured certificate.
    key: Option<RsaPublicKey>,
}

/// A non-2xx answer's body in EBANX's error shape.
fn decline_info(v: &serde_json::Value) -> DeclineInfo {
    let code = v
        .get("status_code")
        .and_then(classify::str_of)
        .unwrap_or("http_error");
    let message = v
        .get("status_message")
        .and_then(classify::str_of)
        .unwrap_or_default();
    DeclineInfo {
        code: code.to_string(),
        reason: match error_class(code, message) {
            ErrorClass::Decline(r) => r,
            _ => Reason::Other,
        },
        message: message.to_string(),
    }
}

/// An initiation answer → its outcome. `BP-DR-0` (a payment with this
/// `merchant_payment_code` exists) is `SentUnknown` in a 4xx as in a 2xx: it names
/// no payment hash, so the watchdog's status query resolves it; a decline would
/// leave a payment at EBANX that switchyard calls failed.
fn initiation_outcome(
    result: Result<super::upstream::Response, UpstreamError>,
    page: bool,
) -> Outcome {
    match classify::outcome(result, |b| response::created(b, page), decline_info) {
        Outcome::Declined { code, message, .. }
            if error_class(&code, &message) == ErrorClass::Exists =>
        {
            Outcome::SentUnknown {
                detail: format!("{code}: {message}"),
            }
        }
        o => o,
    }
}

impl Ebanx {
    /// Parses the configured certificate; one that does not parse is a config error.
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Result<Self, UpstreamError> {
        let key = match &spec.credentials.webhook_secret {
            None => None,
            Some(pem) => Some(webhook::public_key(pem.expose()).map_err(|e| {
                UpstreamError::Build(format!(
                    "ebanx certificate is not a PEM RSA certificate: {e}"
                ))
            })?),
        };
        Ok(Ebanx {
            upstream,
            credentials: spec.credentials.clone(),
            key,
        })
    }

    fn integration_key(&self) -> &str {
        self.credentials
            .key_secret
            .as_ref()
            .map_or("", |s| s.expose())
    }

    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<crate::connectors::upstream::Response, UpstreamError> {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(path))
            .json(body);
        self.upstream.send(rb).await
    }

    /// The queried payment.
    async fn query(
        &self,
        hash: Option<&str>,
        payment_id: &str,
    ) -> Result<response::Queried, UpstreamError> {
        let body = query_body(self.integration_key(), hash, payment_id);
        let r = self.post("/ws/query", &body).await?;
        response::query_payment(r.status, &r.body)
    }
}

#[async_trait]
impl Connector for Ebanx {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Ebanx
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        let m = req.request.method;
        let (path, body, page) = if m.is_upi() {
            let Some(typ) = upi_type(m) else {
                return Outcome::NotSent {
                    detail: format!("ebanx offers no {m} through its Direct API"),
                };
            };
            (
                "/ws/direct",
                direct_body(&req, self.integration_key(), typ),
                false,
            )
        } else {
            ("/ws/request", page_body(&req, self.integration_key()), true)
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                return Outcome::NotSent {
                    detail: e.to_string(),
                };
            }
        };
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(path))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        initiation_outcome(self.upstream.send(rb).await, page)
    }

    async fn status(
        &self,
        payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let p = self.query(gateway_payment_id, payment_id).await?;
        Ok(response::report(&p))
    }

    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        // No signed timestamp; the body holds no state, so a replay only causes a query.
        let key = self.key.as_ref().ok_or(SignatureError::NoSecret)?;
        webhook::verify(key, headers, body)
    }

    fn parse_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackData, ParseError> {
        webhook::parse_all(body)?
            .into_iter()
            .next()
            .ok_or_else(|| ParseError::Malformed("no hash_codes".into()))
    }

    fn parse_callbacks(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<CallbackData>, ParseError> {
        webhook::parse_all(body)
    }

    /// The notification named a payment; the query says what happened to it (for a
    /// refund notification: to each of its refunds).
    async fn resolve_callback(&self, cd: CallbackData) -> Result<Vec<CallbackData>, UpstreamError> {
        if cd.status.is_some() || cd.refund_status.is_some() {
            return Ok(vec![cd]);
        }
        let Some(hash) = cd.gateway_payment_id.as_deref() else {
            return Ok(vec![cd]);
        };
        let typ = cd
            .raw_status
            .strip_prefix("notification:")
            .unwrap_or("update");
        let p = self.query(Some(hash), "").await?;
        Ok(response::events(&p, typ))
    }

    /// Every method: the refund names the payment by its hash.
    fn refunds_method(&self, _method: Method) -> bool {
        true
    }

    async fn refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        self.create_refund(req).await
    }

    async fn refund_status(&self, q: RefundQuery<'_>) -> Result<RefundReport, RefundLookup> {
        self.query_refund(q).await
    }
}

/// The event an EBANX notification stands for, from the body of its follow-up
/// `/ws/query` answer (`notification_type` `update` or `refund`).
pub fn event_from_query(
    body: &[u8],
    notification_type: &str,
) -> Result<CallbackData, UpstreamError> {
    response::query_payment(200, body).map(|p| response::event(&p, notification_type))
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::upstream::Response;

    /// `BP-DR-0` says a payment with our `merchant_payment_code` exists: whatever
    /// the HTTP status, that is not a decline (a 4xx one was, issue 16).
    #[test]
    fn an_existing_payment_is_never_a_decline() {
        let dup = br#"{"status":"ERROR","status_code":"BP-DR-0","status_message":"Payment already exists"}"#;
        for status in [200, 400, 409, 422] {
            let r = Ok(Response {
                status,
                body: bytes::Bytes::from_static(dup),
            });
            let out = initiation_outcome(r, false);
            assert!(
                matches!(out, Outcome::SentUnknown { .. }),
                "{status}: {out:?}"
            );
        }
    }
}
