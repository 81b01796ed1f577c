//! The `juspay_ec` dialect: Juspay Express Checkout. UPI: create the order (`POST
//! /orders`), then the transaction (`POST /txns`: `UPI_COLLECT` with the VPA, or
//! `UPI_PAY` with `sdk_params` for intent and QR). Card and netbanking: the order's
//! hosted payment page (`payment_links.web`). Status: `GET /orders/{order_id}`.
//! Auth: HTTP Basic with the API key (`key_secret`) as username and an empty
//! password, plus `x-merchantid` (`key_id`). Juspay keeps one order per `order_id`
//! (ours): dedupe on our reference. Amounts are rupee decimals. Webhooks: Basic auth
//! ([`webhook`]). Refunds: `POST /orders/{order_id}/refunds` with a
//! `unique_request_id` below 21 characters, status from the order's `refunds[]`
//! ([`refund`]). (Juspay's UPI Merchant Stack Pay Callback is `juspay_upi`.)

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

pub struct JuspayEc {
    upstream: Upstream,
    credentials: Credentials,
}

impl JuspayEc {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        JuspayEc {
            upstream,
            credentials: spec.credentials.clone(),
        }
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
        _body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        // Basic auth covers the sender, not the body (GATEWAYS.md section 6.1).
        let up = self
            .credentials
            .webhook_secret
            .as_ref()
            .ok_or(SignatureError::NoSecret)?;
        webhook::verify(up.expose(), headers)
    }

    fn parse_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackData, ParseError> {
        webhook::parse(body)
    }

    /// A refund webhook carries the whole order: one event per refund.
    fn parse_callbacks(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<CallbackData>, ParseError> {
        webhook::parse_all(body)
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
mod props;
