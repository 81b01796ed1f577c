//! The `cashfree` dialect: Cashfree PG API version 2023-08-01. UPI: create the order
//! (`POST /pg/orders`), then pay it (`POST /pg/orders/sessions` with the
//! `payment_session_id`): channel `collect`, `link` (intent) or `qrcode`. Card and
//! netbanking: a payment link (`POST /pg/links`) the customer is redirected to.
//! Status: `GET /pg/orders/{order_id}/payments`. Auth headers `x-client-id`,
//! `x-client-secret`, `x-api-version`. Amounts are rupee decimals, written from paise
//! as exact text (`170.00`) and parsed back from text, never through `f64`.
//! Webhooks: `x-webhook-signature` = base64 HMAC-SHA256(x-webhook-timestamp + raw
//! body, client secret), timestamp in milliseconds.

mod refund;
mod request;
mod response;
mod webhook;

use async_trait::async_trait;
use http::HeaderMap;

use super::classify::{self, id_str, str_of};
use super::refund::{RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest};
use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, SignatureError, StatusReport,
    VerifyOptions,
};
use crate::connectors::upstream::{Upstream, UpstreamError};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::{Method, Paise, PaymentStatus, Reason};

pub use refund::refund_report;
pub use request::{link_body, order_body, pay_body};
use response::{decline_info, link_created, pay_created, payment_report, rank};
pub use webhook::sign_callback;

pub const API_VERSION: &str = "2023-08-01";
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";
pub const IDEMPOTENCY_HEADER: &str = "x-idempotency-key";

pub struct Cashfree {
    upstream: Upstream,
    credentials: Credentials,
}

impl Cashfree {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        Cashfree {
            upstream,
            credentials: spec.credentials.clone(),
        }
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut rb = rb.header("x-api-version", API_VERSION);
        if let Some(id) = &self.credentials.key_id {
            rb = rb.header("x-client-id", id.expose());
        }
        if let Some(s) = &self.credentials.key_secret {
            rb = rb.header("x-client-secret", s.expose());
        }
        rb
    }

    fn post(&self, path: &str, idem: &str) -> reqwest::RequestBuilder {
        self.auth(
            self.upstream
                .client()
                .post(self.upstream.url(path))
                .header(IDEMPOTENCY_HEADER, idem),
        )
    }

    async fn get(
        &self,
        path: &str,
    ) -> Result<crate::connectors::upstream::Response, UpstreamError> {
        let rb = self.auth(self.upstream.client().get(self.upstream.url(path)));
        self.upstream.send(rb).await
    }

    async fn initiate_upi(&self, req: &InitiateRequest<'_>) -> Outcome {
        let body = match order_body(req) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::NotSent {
                    detail: e.to_string(),
                };
            }
        };
        // Step 1: the order. Nothing can be paid before step 2, so every failure here
        // is safe to fail over.
        let rb = self
            .post("/pg/orders", req.idempotency_key)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        let session = match classify::order_step(
            self.upstream.send(rb).await,
            "payment_session_id",
            decline_info,
        ) {
            Ok(id) => id,
            Err(outcome) => return outcome,
        };
        // Step 2: pay.
        let rb = self
            .post("/pg/orders/sessions", req.idempotency_key)
            .json(&pay_body(req, &session));
        classify::outcome(
            self.upstream.send(rb).await,
            |b| pay_created(b, req.request.method),
            decline_info,
        )
    }

    async fn initiate_link(&self, req: &InitiateRequest<'_>) -> Outcome {
        let body = match link_body(req) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::NotSent {
                    detail: e.to_string(),
                };
            }
        };
        let rb = self
            .post("/pg/links", req.idempotency_key)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        classify::outcome(self.upstream.send(rb).await, link_created, decline_info)
    }
}

#[async_trait]
impl Connector for Cashfree {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Cashfree
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        if req.request.method.is_upi() {
            self.initiate_upi(&req).await
        } else {
            self.initiate_link(&req).await
        }
    }

    /// The order's payments (our payment id is the order id), most advanced first;
    /// an order Cashfree does not know is looked up as a payment link.
    async fn status(
        &self,
        payment_id: &str,
        _gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let r = self
            .get(&format!("/pg/orders/{payment_id}/payments"))
            .await?;
        if r.status == 404 {
            let l = self.get(&format!("/pg/links/{payment_id}")).await?;
            if !(200..300).contains(&l.status) {
                return Err(UpstreamError::Status {
                    status: l.status,
                    body: classify::body_detail(&l.body),
                });
            }
            let v = l.json()?;
            let raw = v
                .get("link_status")
                .and_then(str_of)
                .unwrap_or("")
                .to_string();
            let status = match raw.as_str() {
                "ACTIVE" => PaymentStatus::Initiated,
                "PARTIALLY_PAID" => PaymentStatus::Pending,
                "PAID" => PaymentStatus::Succeeded,
                "EXPIRED" => PaymentStatus::Expired,
                "CANCELLED" => PaymentStatus::Cancelled,
                _ => PaymentStatus::Unknown,
            };
            return Ok(StatusReport {
                tpv_failed: false,
                status,
                reason: (status == PaymentStatus::Expired).then_some(Reason::Expired),
                gateway_payment_id: v.get("cf_link_id").and_then(id_str),
                utr: None,
                rrn: None,
                raw_status: raw,
                raw_code: None,
                amount: v
                    .get("link_amount")
                    .and_then(|a| Paise::from_rupees_json(a).ok()),
            });
        }
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        let v = r.json()?;
        let best = v.as_array().and_then(|a| a.iter().max_by_key(|p| rank(p)));
        Ok(match best {
            Some(p) => payment_report(p),
            None => StatusReport {
                tpv_failed: false,
                status: PaymentStatus::Initiated,
                reason: None,
                gateway_payment_id: None,
                utr: None,
                rrn: None,
                raw_status: "ACTIVE".into(),
                raw_code: None,
                amount: None,
            },
        })
    }

    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        webhook::verify_callback(&self.credentials, headers, body, opts)
    }

    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        webhook::parse_callback(headers, body)
    }

    /// UPI payments (on our order id); link payments (card, netbanking) are not.
    fn refunds_method(&self, method: Method) -> bool {
        method.is_upi()
    }

    async fn refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        self.create_refund(req).await
    }

    async fn refund_status(&self, q: RefundQuery<'_>) -> Result<RefundReport, RefundLookup> {
        self.query_refund(q).await
    }
}
