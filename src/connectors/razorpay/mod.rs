//! The `razorpay` dialect: Orders API + S2S UPI (`POST /v1/orders`, then
//! `POST /v1/payments/create/upi`), Payment Links for card and netbanking (the
//! customer is redirected to Razorpay's hosted page; switchyard never touches card
//! data), `GET /v1/payments/{id}` for status. HTTP Basic auth `key_id:key_secret`.
//! Amounts are integer paise. Webhooks: `X-Razorpay-Signature` = hex
//! HMAC-SHA256(raw body, webhook secret).

mod refund;
mod request;
mod response;
mod webhook;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::Value;

use super::classify::{self, id_str};
use super::refund::{RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest};
use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, SignatureError, StatusReport,
    VerifyOptions,
};
use crate::connectors::upstream::{Upstream, UpstreamError};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::{Method, PaymentStatus};

pub use refund::{IDEMPOTENCY_HEADER as REFUND_IDEMPOTENCY_HEADER, refund_report};
pub use request::{link_body, order_body, upi_payment_body};
use response::{decline_info, link_created, link_report, payment_report, rank, upi_created};
pub use webhook::sign_callback;

pub const SIGNATURE_HEADER: &str = "x-razorpay-signature";
pub const EVENT_ID_HEADER: &str = "x-razorpay-event-id";
/// The note key carrying switchyard's payment id on orders, payments and links.
pub const NOTE_PAYMENT_ID: &str = "switchyard_payment_id";

pub struct Razorpay {
    upstream: Upstream,
    credentials: Credentials,
}

impl Razorpay {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        Razorpay {
            upstream,
            credentials: spec.credentials.clone(),
        }
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match (&self.credentials.key_id, &self.credentials.key_secret) {
            (Some(id), secret) => rb.basic_auth(id.expose(), secret.as_ref().map(|s| s.expose())),
            _ => rb,
        }
    }

    async fn get_json(&self, path: &str) -> Result<Value, UpstreamError> {
        let rb = self.upstream.client().get(self.upstream.url(path));
        let r = self.upstream.send(self.auth(rb)).await?;
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        r.json()
    }

    async fn initiate_upi(&self, req: &InitiateRequest<'_>) -> Outcome {
        // Step 1: the order. No payment can exist at Razorpay until step 2 is sent, so
        // every failure here is safe to fail over (the order alone moves no money).
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url("/v1/orders"))
            .json(&order_body(req));
        let order_id =
            match classify::order_step(self.upstream.send(self.auth(rb)).await, "id", decline_info)
            {
                Ok(id) => id,
                Err(outcome) => return outcome,
            };
        // Step 2: the payment.
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url("/v1/payments/create/upi"))
            .json(&upi_payment_body(req, &order_id));
        classify::outcome(
            self.upstream.send(self.auth(rb)).await,
            |b| upi_created(b, req.request.method),
            decline_info,
        )
    }

    async fn initiate_link(&self, req: &InitiateRequest<'_>) -> Outcome {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url("/v1/payment_links"))
            .json(&link_body(req));
        classify::outcome(
            self.upstream.send(self.auth(rb)).await,
            link_created,
            decline_info,
        )
    }
}

#[async_trait]
impl Connector for Razorpay {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Razorpay
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        if req.request.method.is_upi() {
            self.initiate_upi(&req).await
        } else {
            self.initiate_link(&req).await
        }
    }

    /// By gateway id when known (`pay_…`: the payment; `plink_…`: the link); otherwise
    /// the order with our payment id as receipt, and its most advanced payment.
    async fn status(
        &self,
        payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        match gateway_payment_id {
            Some(g) if g.starts_with("plink_") => Ok(link_report(
                &self.get_json(&format!("/v1/payment_links/{g}")).await?,
            )),
            Some(g) if !g.starts_with("order_") => Ok(payment_report(
                &self.get_json(&format!("/v1/payments/{g}")).await?,
            )),
            _ => {
                let order_id = match gateway_payment_id {
                    Some(o) => o.to_string(),
                    None => {
                        let orders = self
                            .get_json(&format!("/v1/orders?receipt={payment_id}"))
                            .await?;
                        orders
                            .get("items")
                            .and_then(Value::as_array)
                            .and_then(|a| a.first())
                            .and_then(|o| o.get("id").and_then(id_str))
                            .ok_or(UpstreamError::Status {
                                status: 404,
                                body: "no order with this receipt".into(),
                            })?
                    }
                };
                let list = self
                    .get_json(&format!("/v1/orders/{order_id}/payments"))
                    .await?;
                let best = list
                    .get("items")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().max_by_key(|p| rank(p)));
                Ok(match best {
                    Some(p) => payment_report(p),
                    None => StatusReport {
                        tpv_failed: false,
                        status: PaymentStatus::Initiated,
                        reason: None,
                        gateway_payment_id: None,
                        utr: None,
                        rrn: None,
                        raw_status: "order_created".into(),
                        raw_code: None,
                        amount: None,
                    },
                })
            }
        }
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

    /// Razorpay refunds every method it takes (UPI, card, netbanking).
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
