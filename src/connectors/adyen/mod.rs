//! The `adyen` dialect: Checkout API v71. UPI through `POST /v71/payments` with
//! `paymentMethod.type` `upi_collect` (+ `virtualPaymentAddress`), `upi_intent` or
//! `upi_qr`; card and netbanking through a hosted payment link (`POST
//! /v71/paymentLinks`, the customer is redirected). Auth: the `X-API-Key` header
//! (`key_secret`); the merchant account is `key_id`. Adyen honours an
//! `Idempotency-Key` header. Amounts are integer minor units. Status: payment links
//! are queried (`GET /v71/paymentLinks/{id}`); Adyen publishes no status query for a
//! `/payments` payment (webhooks are the source of truth), so that answers
//! `NotSupported`. Webhooks: per-item HMAC ([`webhook`]), batches, answered with
//! `[accepted]`. Refunds: `POST /v71/payments/{pspReference}/refunds`, settled by the
//! `REFUND` / `REFUND_FAILED` webhook ([`refund`]).

mod refund;
mod request;
mod response;
pub mod webhook;

use async_trait::async_trait;
use http::HeaderMap;

use super::classify;
use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, RefundLookup, RefundOutcome,
    RefundQuery, RefundReport, RefundRequest, SignatureError, StatusReport, VerifyOptions,
};
use crate::connectors::upstream::{Upstream, UpstreamError};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::Method;

pub use refund::{REPLAY_WINDOW, refund_body, refund_path, refund_report};
pub use request::{link_body, payment_body};
pub use response::{REFUSALS, link_status, minor_units, refusal_reason, result_status};
use response::{decline_info, link_created, link_report, payment_created};
pub use webhook::{ACK, sign_item, signing_string};

pub const API_KEY_HEADER: &str = "x-api-key";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const API_VERSION: &str = "v71";

pub struct Adyen {
    upstream: Upstream,
    credentials: Credentials,
}

impl Adyen {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        Adyen {
            upstream,
            credentials: spec.credentials.clone(),
        }
    }

    fn merchant_account(&self) -> &str {
        self.credentials.key_id.as_ref().map_or("", |s| s.expose())
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credentials.key_secret {
            Some(k) => rb.header(API_KEY_HEADER, k.expose()),
            None => rb,
        }
    }

    fn post(&self, path: &str, idem: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.auth(
            self.upstream
                .client()
                .post(self.upstream.url(&format!("/{API_VERSION}{path}")))
                .header(IDEMPOTENCY_HEADER, idem)
                .json(body),
        )
    }
}

#[async_trait]
impl Connector for Adyen {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Adyen
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        let ma = self.merchant_account();
        match payment_body(&req, ma) {
            Some(body) => {
                let rb = self.post("/payments", req.idempotency_key, &body);
                classify::outcome(self.upstream.send(rb).await, payment_created, decline_info)
            }
            None => {
                let rb = self.post("/paymentLinks", req.idempotency_key, &link_body(&req, ma));
                classify::outcome(self.upstream.send(rb).await, link_created, decline_info)
            }
        }
    }

    async fn status(
        &self,
        _payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        match gateway_payment_id {
            Some(id) if id.starts_with("PL") => {
                let url = self
                    .upstream
                    .url(&format!("/{API_VERSION}/paymentLinks/{id}"));
                let r = self
                    .upstream
                    .send(self.auth(self.upstream.client().get(url)))
                    .await?;
                link_report(r.status, &r.body)
            }
            _ => Err(UpstreamError::NotSupported(
                "adyen publishes no status query for /payments payments; webhooks decide".into(),
            )),
        }
    }

    fn verify_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        // The signed fields carry no timestamp: replay protection is the event-id dedupe.
        let key = self
            .credentials
            .webhook_secret
            .as_ref()
            .ok_or(SignatureError::NoSecret)?;
        webhook::verify(key.expose(), body)
    }

    /// The first item (a batch is read whole by [`Connector::parse_callbacks`]).
    fn parse_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackData, ParseError> {
        webhook::parse_all(body)?
            .into_iter()
            .next()
            .ok_or_else(|| ParseError::Malformed("no notificationItems".into()))
    }

    fn parse_callbacks(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<CallbackData>, ParseError> {
        webhook::parse_all(body)
    }

    fn callback_ack(&self) -> Option<&'static str> {
        Some(ACK)
    }

    /// UPI only: a link payment's gateway id is the link's, not the payment's
    /// `pspReference` the refund call needs.
    fn refunds_method(&self, method: Method) -> bool {
        method.is_upi()
    }

    async fn refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        self.create_refund(req).await
    }

    /// An idempotent replay of the refund call (Adyen has no refund lookup).
    async fn refund_status(&self, q: RefundQuery<'_>) -> Result<RefundReport, RefundLookup> {
        self.query_refund(q).await
    }
}

#[cfg(test)]
mod props;
