//! The `juspay_ec` dialect: Juspay Express Checkout. UPI: create the order (`POST
//! /orders`), then the transaction (`POST /txns`: `UPI_COLLECT` with the VPA, or
//! `UPI_PAY` with `sdk_params` for intent and QR). Card and netbanking: the order's
//! hosted payment page (`payment_links.web`). Status: `GET /orders/{order_id}`.
//! Auth: HTTP Basic with the API key (`key_secret`) as username and an empty
//! password, plus `x-merchantid` (`key_id`). Juspay keeps one order per `order_id`
//! (ours): dedupe on our reference. Amounts are rupee decimals. Webhooks: Basic auth
//! ([`webhook`]), or "JWT webhooks" when the gateway has JWT keys ([`jwt`]: a JWE to
//! the merchant's key around a JWS by Juspay's; then only those are accepted, and
//! Basic auth is checked as well when a `webhook_secret` is configured). Refunds: `POST /orders/{order_id}/refunds` with a
//! `unique_request_id` below 21 characters, status from the order's `refunds[]`
//! ([`refund`]). (Juspay's UPI Merchant Stack Pay Callback is `juspay_upi`.)

pub mod jwt;
mod refund;
mod request;
mod response;
pub mod webhook;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::classify;
use super::sign;
use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, RefundLookup, RefundOutcome,
    RefundQuery, RefundReport, RefundRequest, SignatureError, StatusReport, VerifyOptions,
};
use crate::connectors::upstream::{Upstream, UpstreamError};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::Method;

pub use refund::{
    DUPLICATE_CALL, UNIQUE_REQUEST_ID_MAX, find_refund, refund_form, refund_path, unique_request_id,
};
pub use request::{order_body, txn_body};
pub use response::{NOT_FOUND, STATUSES, order_report, order_status};
use response::{decline_info, order_redirect, status_answer, txn_created};
pub use webhook::{basic_auth, refund_status};

pub const MERCHANT_HEADER: &str = "x-merchantid";
pub const VERSION_HEADER: &str = "version";
pub const API_VERSION: &str = "2023-06-30";
const FORM: &str = "application/x-www-form-urlencoded";

type Opened = ([u8; 32], std::time::Instant, Arc<[u8]>);

/// Webhooks opened by `verify_callback`, kept for the `parse_callbacks` (and the
/// second verification) of the same body: one RSA decryption per webhook, not three.
/// A minute at most, so a token that expires is not accepted from here for long.
const OPENED: usize = 16;
const OPENED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

pub struct JuspayEc {
    upstream: Upstream,
    credentials: Credentials,
    /// JWT mode: the keys, parsed once. `None`: Basic-auth webhooks.
    jwt: Option<jwt::JwtKeys>,
    /// SHA-256 of a verified JWT body → its webhook JSON.
    opened: Mutex<VecDeque<Opened>>,
}

impl JuspayEc {
    /// Parses the JWT keys when configured. A key that does not parse is a config
    /// error, reported when the config is compiled.
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Result<Self, UpstreamError> {
        let c = &spec.credentials;
        let jwt = match (&c.jwt_private_key, &c.jwt_public_key) {
            (Some(private), Some(public)) => Some(
                jwt::JwtKeys::from_pem(private.expose(), public.expose()).map_err(|e| {
                    UpstreamError::Build(format!("juspay_ec JWT webhook keys: {e}"))
                })?,
            ),
            (None, None) => None,
            _ => {
                return Err(UpstreamError::Build(
                    "juspay_ec JWT webhooks need both jwt_private_key and jwt_public_key".into(),
                ));
            }
        };
        Ok(JuspayEc {
            upstream,
            credentials: spec.credentials.clone(),
            jwt,
            opened: Mutex::new(VecDeque::with_capacity(OPENED)),
        })
    }

    /// The webhook JSON of a JWT-mode body: from the verified ones, or opened now.
    fn open(
        &self,
        keys: &jwt::JwtKeys,
        body: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<Arc<[u8]>, jwt::JwtError> {
        let h: [u8; 32] = Sha256::digest(body).into();
        if let Some(hit) = self.opened.lock().ok().and_then(|q| {
            q.iter()
                .find(|(k, at, _)| at.elapsed() < OPENED_FOR && sign::ct_eq(k, &h))
                .map(|(_, _, v)| Arc::clone(v))
        }) {
            return Ok(hit);
        }
        let inner: Arc<[u8]> = keys.open(body, now)?.into();
        if let Ok(mut q) = self.opened.lock() {
            if q.len() >= OPENED {
                q.pop_front();
            }
            q.push_back((h, std::time::Instant::now(), Arc::clone(&inner)));
        }
        Ok(inner)
    }

    fn merchant_id(&self) -> &str {
        self.credentials.key_id.as_ref().map_or("", |s| s.expose())
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let rb = rb
            .header(MERCHANT_HEADER, self.merchant_id())
            .header(VERSION_HEADER, API_VERSION);
        match &self.credentials.key_secret {
            Some(k) => rb.basic_auth(k.expose(), Some("")),
            None => rb,
        }
    }

    fn post_form(&self, path: &str, body: String) -> reqwest::RequestBuilder {
        self.auth(
            self.upstream
                .client()
                .post(self.upstream.url(path))
                .header(http::header::CONTENT_TYPE, FORM)
                .body(body),
        )
    }
}

#[async_trait]
impl Connector for JuspayEc {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::JuspayEc
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        let rb = self.post_form("/orders", order_body(&req));
        let Some(txn) = txn_body(&req, self.merchant_id()) else {
            // Card / netbanking: the order's hosted page.
            return classify::outcome(self.upstream.send(rb).await, order_redirect, decline_info);
        };
        // Step 1: the order. Nothing can be paid before the transaction exists.
        let order_uuid =
            match classify::order_step(self.upstream.send(rb).await, "id", decline_info) {
                Ok(id) => id,
                Err(outcome) => return outcome,
            };
        let qr = req.request.method == Method::UpiQr;
        let rb = self.post_form("/txns", txn);
        classify::outcome(
            self.upstream.send(rb).await,
            |b| txn_created(b, &order_uuid, qr),
            decline_info,
        )
    }

    async fn status(
        &self,
        payment_id: &str,
        _gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let rb = self.auth(
            self.upstream
                .client()
                .get(self.upstream.url(&format!("/orders/{payment_id}"))),
        );
        let r = self.upstream.send(rb).await?;
        status_answer(r.status, &r.body)
    }

    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        let basic = self.credentials.webhook_secret.as_ref();
        let Some(keys) = &self.jwt else {
            // Basic auth covers the sender, not the body (GATEWAYS.md section 6.1).
            return webhook::verify(basic.ok_or(SignatureError::NoSecret)?.expose(), headers);
        };
        if let Some(up) = basic {
            webhook::verify(up.expose(), headers)?;
        }
        // JWT mode: only a JWT body that decrypts and verifies (a plain body is
        // unsigned, whatever its headers say).
        self.open(keys, body, opts.now)
            .map(|_| ())
            .map_err(|e| match e {
                jwt::JwtError::NotJwt => SignatureError::Missing(jwt::FIELD),
                jwt::JwtError::Expired => SignatureError::Stale,
                _ => SignatureError::Mismatch,
            })
    }

    /// JWT mode with no Basic credentials beside it: every body, forged or not,
    /// costs an RSA decryption before it is refused. (With Basic auth configured,
    /// Basic is checked first and a forged body costs nothing.)
    fn verify_is_costly(&self) -> bool {
        self.jwt.is_some() && self.credentials.webhook_secret.is_none()
    }

    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        self.parse_callbacks(headers, body)?
            .pop()
            .ok_or_else(|| ParseError::Malformed("no event".into()))
    }

    /// A refund webhook carries the whole order: one event per refund. In JWT mode
    /// the events come from the webhook JSON inside the token.
    fn parse_callbacks(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<CallbackData>, ParseError> {
        match &self.jwt {
            None => webhook::parse_all(body),
            Some(keys) => {
                let inner = self
                    .open(keys, body, time::OffsetDateTime::now_utc())
                    .map_err(|e| ParseError::Malformed(e.to_string()))?;
                webhook::parse_all(&inner)
            }
        }
    }

    /// Every method: the refund names the order, which is our payment id for UPI
    /// and the hosted page alike.
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

#[cfg(test)]
mod jwt_mode_tests;
#[cfg(test)]
mod props;
