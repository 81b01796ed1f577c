//! The `phonepe` dialect (PhonePe PG v2, as PhonePe's backend SDKs speak it).
//! Auth: `POST /v1/oauth/token` (form: `client_id`, `client_version`,
//! `client_secret`, `grant_type=client_credentials`) → `access_token`, sent as
//! `Authorization: O-Bearer <token>`, cached until half its life has passed (as the
//! SDK does) and dropped on a 401. UPI server to server: `POST /payments/v2/pay`
//! with `paymentFlow: {type: PG, paymentMode: {type: UPI_INTENT | UPI_COLLECT (VPA) |
//! UPI_QR}}` → `intentUrl` / `qrData`; cards and netbanking: the hosted Standard
//! Checkout, `POST /checkout/v2/pay` (`PG_CHECKOUT`) → `redirectUrl`. Status:
//! `GET /payments/v2/order/{merchantOrderId}/status`; a 4xx `…NOT_FOUND` or 404 is
//! "no such payment". Amounts are integer paise.
//!
//! Credentials: `key_id` = client id (`client_id` or `client_id:client_version`,
//! version 1 by default), `key_secret` = client secret (and the v1 salt key for
//! legacy `X-VERIFY` callbacks), `webhook_secret` = the dashboard's
//! `username:password` for v2 callbacks. The production OAuth host differs from the
//! PG host (`…/apis/identity-manager` beside `…/apis/pg`); a `base_url` ending in
//! `/apis/pg` gets that sibling, any other (UAT, the sandbox) the same base.
//!
//! Idempotency: `merchantOrderId` (our payment id) is unique per merchant: a retry is
//! refused as a duplicate and answered from the order-status API.

mod refund;
mod response;
mod webhook;

use std::sync::Mutex;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::classify;
use super::upstream::{Upstream, UpstreamError};
use super::{
    CallbackData, Connector, ConnectorKind, Created, Credentials, GatewaySpec, InitiateRequest,
    Outcome, ParseError, RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest,
    SignatureError, StatusReport, VerifyOptions,
};
use crate::model::{Method, NextAction, PaymentStatus};

pub use refund::{REFUND_PATH, refund_body, refund_report, refund_state, refund_status_path};
pub use response::{ERROR_TABLE, STATE_TABLE, state_status};
pub use webhook::{AUTHORIZATION, X_VERIFY, v2_authorization, x_verify};

pub const TOKEN_PATH: &str = "/v1/oauth/token";
pub const PAY_PATH: &str = "/payments/v2/pay";
pub const CHECKOUT_PATH: &str = "/checkout/v2/pay";
pub const TOKEN_TYPE: &str = "O-Bearer";

/// `/payments/v2/order/{id}/status`.
pub fn status_path(merchant_order_id: &str) -> String {
    format!("/payments/v2/order/{merchant_order_id}/status")
}

/// The pay request body for `req` (UPI: `PG` flow; others: `PG_CHECKOUT`).
pub fn pay_body(req: &InitiateRequest<'_>) -> Value {
    let r = req.request;
    let mode = match (r.method, &r.vpa) {
        (Method::UpiCollect, Some(v)) => {
            json!({"type": "UPI_COLLECT", "details": {"type": "VPA", "vpa": v.expose()}})
        }
        (Method::UpiQr, _) => json!({"type": "UPI_QR"}),
        _ => json!({"type": "UPI_INTENT"}),
    };
    let flow = if r.method.is_upi() {
        json!({"type": "PG", "paymentMode": mode})
    } else {
        let mut f = json!({"type": "PG_CHECKOUT"});
        if let (Some(u), Some(o)) = (req.callback_url, f.as_object_mut()) {
            o.insert("merchantUrls".into(), json!({"redirectUrl": u}));
        }
        f
    };
    json!({
        "merchantOrderId": req.payment_id,
        "amount": r.amount.get(),
        "metaInfo": {"udf1": r.order_id},
        "paymentFlow": flow,
    })
}

struct Token {
    value: String,
    /// Refresh after this (half the token's life, as the SDK does).
    refresh_at: i64,
}

pub struct Phonepe {
    upstream: Upstream,
    credentials: Credentials,
    oauth_base: String,
    token: Mutex<Option<Token>>,
}

impl Phonepe {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        let base = spec.base_url.trim_end_matches('/');
        let oauth_base = match base.strip_suffix("/apis/pg") {
            Some(host) => format!("{host}/apis/identity-manager"),
            None => base.to_string(),
        };
        Phonepe {
            upstream,
            credentials: spec.credentials.clone(),
            oauth_base,
            token: Mutex::new(None),
        }
    }

    fn client(&self) -> (String, String) {
        let id = self.credentials.key_id.as_ref().map_or("", |s| s.expose());
        match id.rsplit_once(':') {
            Some((c, v)) if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() => {
                (c.to_string(), v.to_string())
            }
            _ => (id.to_string(), "1".to_string()),
        }
    }

    fn cached(&self) -> Option<String> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let g = self.token.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .filter(|t| now < t.refresh_at)
            .map(|t| t.value.clone())
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// A valid `O-Bearer` token (no payment can exist before it is obtained).
    async fn token(&self) -> Result<String, UpstreamError> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let (client_id, version) = self.client();
        let secret = self
            .credentials
            .key_secret
            .as_ref()
            .map_or("", |s| s.expose());
        let body = super::form::encode(&[
            ("client_id", client_id.as_str()),
            ("client_version", version.as_str()),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
        ]);
        let rb = self
            .upstream
            .client()
            .post(format!("{}{TOKEN_PATH}", self.oauth_base))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let r = self.upstream.send(rb).await?;
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        let v = r.json()?;
        let value = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| UpstreamError::BadResponse("token answer without access_token".into()))?
            .to_string();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let issued = v.get("issued_at").and_then(Value::as_i64).unwrap_or(now);
        let expires = v
            .get("expires_at")
            .and_then(Value::as_i64)
            .unwrap_or(now + 600);
        let t = Token {
            value: value.clone(),
            refresh_at: issued + (expires - issued) / 2,
        };
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
        Ok(value)
    }

    fn auth(&self, rb: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
        rb.header(http::header::AUTHORIZATION, format!("{TOKEN_TYPE} {token}"))
    }

    async fn existing(&self, payment_id: &str) -> Outcome {
        match self.status(payment_id, None).await {
            Ok(rep) => Outcome::Created(Created {
                gateway_payment_id: rep.gateway_payment_id,
                status: match rep.status {
                    PaymentStatus::Unknown => PaymentStatus::Pending,
                    s => s,
                },
                next_action: NextAction::AwaitCustomer,
                raw_status: format!("replayed:{}", rep.raw_status),
            }),
            Err(e) => Outcome::SentUnknown {
                detail: format!("duplicate merchantOrderId, status query failed: {e}"),
            },
        }
    }
}

#[async_trait]
impl Connector for Phonepe {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Phonepe
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        let token = match self.token().await {
            Ok(t) => t,
            Err(e) => {
                // Nothing about the payment was sent: safe to fail over.
                return Outcome::NotSent {
                    detail: format!("phonepe token (no payment created): {e}"),
                };
            }
        };
        let path = if req.request.method.is_upi() {
            PAY_PATH
        } else {
            CHECKOUT_PATH
        };
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(path))
            .json(&pay_body(&req));
        let result = self.upstream.send(self.auth(rb, &token)).await;
        if matches!(&result, Ok(r) if r.status == 401) {
            self.forget_token();
        }
        let outcome = classify::outcome(
            result,
            |b| response::pay_created(b, req.request.method),
            response::decline_info,
        );
        match outcome {
            Outcome::Declined { code, message, .. } if response::is_duplicate(&code, &message) => {
                self.existing(req.payment_id).await
            }
            o => o,
        }
    }

    async fn status(
        &self,
        payment_id: &str,
        _gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let token = self.token().await?;
        let rb = self
            .upstream
            .client()
            .get(self.upstream.url(&status_path(payment_id)));
        let r = self.upstream.send(self.auth(rb, &token)).await?;
        if r.status == 401 {
            self.forget_token();
        }
        if response::is_not_found(r.status, &r.body) {
            return Err(UpstreamError::not_found(format!(
                "phonepe order {payment_id}"
            )));
        }
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        response::order_report(&r.body).map_err(UpstreamError::BadResponse)
    }

    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        webhook::verify(
            headers,
            body,
            self.credentials.webhook_secret.as_ref().map(|s| s.expose()),
            self.credentials.key_secret.as_ref().map(|s| s.expose()),
        )
    }

    fn parse_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackData, ParseError> {
        webhook::parse(body)
    }

    /// Every method: the refund is keyed by our payment id (`merchantOrderId`) for
    /// the custom (UPI) and the standard (card, netbanking) checkout alike.
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
mod tests;
