//! The `paytm` dialect (Paytm PG, the "Native" server-to-server APIs). UPI:
//! `POST /theia/api/v1/initiateTransaction?mid=&orderId=` (JSON `{body, head:
//! {signature}}`, the checksum over the exact `body` text) → `txnToken`, then
//! `POST /theia/api/v1/processTransaction?mid=&orderId=` with the token and
//! `paymentMode: UPI` + `payerAccount` (collect) or `UPI_INTENT` (intent and QR:
//! `deepLinkInfo.deepLink`). Status: `POST /v3/order/status` (signed body);
//! `resultCode 334` ("Invalid Order Id") is "no such payment". Callbacks: form
//! posts with `CHECKSUMHASH`, refund webhooks with `head.signature`. Amounts are
//! rupee strings (`"1.00"`). Credentials: `key_id` = MID, `key_secret` = merchant
//! key (the webhook key is `webhook_secret` when set, else the merchant key).
//!
//! Idempotency: Paytm keeps `orderId` (our payment id) unique: a second initiate
//! is refused (`resultCode 325`), answered from the status API. Cards and
//! netbanking go through Paytm's hosted page: initiateTransaction with
//! `enablePaymentMode` for the method, then `next_action: form_post` to
//! `showPaymentPage` with `mid`, `orderId`, `txnToken` ([`payment_page`]).

pub mod checksum;
mod refund;
mod response;
mod webhook;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};

use super::classify::{self, id_str};
use super::upstream::{Upstream, UpstreamError};
use super::{
    CallbackData, Connector, ConnectorKind, Created, Credentials, GatewaySpec, InitiateRequest,
    Outcome, ParseError, RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest,
    SignatureError, StatusReport, VerifyOptions,
};
use crate::model::{Method, NextAction, PaymentStatus};

pub use refund::{
    ALREADY_RAISED, NO_RECORD, REFUND_PATH, REFUND_STATUS_PATH, refund_body, refund_report,
    refund_state, refund_status_body,
};
pub use response::{DUPLICATE_ORDER, INVALID_ORDER, RESPCODE_TABLE, STATUS_TABLE};
pub use webhook::sign_callback;

pub const INITIATE_PATH: &str = "/theia/api/v1/initiateTransaction";
pub const PROCESS_PATH: &str = "/theia/api/v1/processTransaction";
pub const STATUS_PATH: &str = "/v3/order/status";
pub const SHOW_PAYMENT_PAGE_PATH: &str = "/theia/api/v1/showPaymentPage";

/// The `initiateTransaction` body (signed separately).
pub fn initiate_body(req: &InitiateRequest<'_>, mid: &str) -> Value {
    let r = req.request;
    let mut body = json!({
        "requestType": "Payment",
        "mid": mid,
        "websiteName": "DEFAULT",
        "orderId": req.payment_id,
        "txnAmount": {"value": r.amount.to_rupees_string(), "currency": r.currency.as_str()},
        "userInfo": {"custId": r.customer.id.clone().unwrap_or_else(|| r.order_id.clone())},
    });
    if let (Some(u), Some(o)) = (req.callback_url, body.as_object_mut()) {
        o.insert("callbackUrl".into(), json!(u));
    }
    if let (Some(modes), Some(o)) = (enabled_modes(r.method), body.as_object_mut()) {
        let modes: Vec<Value> = modes.iter().map(|m| json!({"mode": m})).collect();
        o.insert("enablePaymentMode".into(), Value::Array(modes));
    }
    body
}

/// `enablePaymentMode[].mode` of initiateTransaction for the hosted page
/// (developer.paytm.com initiateTransaction: `CREDIT_CARD`, `DEBIT_CARD`,
/// `NET_BANKING`, …): the page offers only the method asked for. `None` for UPI,
/// paid server to server through processTransaction.
pub fn enabled_modes(method: Method) -> Option<&'static [&'static str]> {
    match method {
        Method::Card => Some(&["CREDIT_CARD", "DEBIT_CARD"]),
        Method::Netbanking => Some(&["NET_BANKING"]),
        _ => None,
    }
}

/// The `showPaymentPage` form the browser posts to enter Paytm's hosted page with
/// the transaction token (developer.paytm.com "JS Checkout / redirection flow":
/// `POST /theia/api/v1/showPaymentPage?mid=&orderId=` with `mid`, `orderId`,
/// `txnToken`).
pub fn payment_page(base: &str, mid: &str, order_id: &str, token: &str) -> NextAction {
    NextAction::form_post(
        format!("{base}{SHOW_PAYMENT_PAGE_PATH}?mid={mid}&orderId={order_id}"),
        [("mid", mid), ("orderId", order_id), ("txnToken", token)],
    )
}

/// The `processTransaction` body for a UPI payment.
pub fn process_body(req: &InitiateRequest<'_>, mid: &str) -> Value {
    let r = req.request;
    match (r.method, &r.vpa) {
        (Method::UpiCollect, Some(v)) => json!({"requestType": "NATIVE", "mid": mid,
            "orderId": req.payment_id, "paymentMode": "UPI", "payerAccount": v.expose()}),
        _ => json!({"requestType": "NATIVE", "mid": mid, "orderId": req.payment_id,
            "paymentMode": "UPI_INTENT"}),
    }
}

/// `{"body": <body>, "head": {"signature": <checksum of the body text>}}`, with the
/// body serialized once so the signed text is the sent text.
pub fn signed(body: &Value, key: &str) -> Option<String> {
    let text = body.to_string();
    let sig = checksum::sign(&text, key)?;
    Some(format!(
        r#"{{"body":{text},"head":{{"signature":{}}}}}"#,
        json!(sig)
    ))
}

pub struct Paytm {
    upstream: Upstream,
    credentials: Credentials,
}

impl Paytm {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        Paytm {
            upstream,
            credentials: spec.credentials.clone(),
        }
    }

    fn mid(&self) -> &str {
        self.credentials.key_id.as_ref().map_or("", |s| s.expose())
    }

    fn key(&self) -> &str {
        self.credentials
            .key_secret
            .as_ref()
            .map_or("", |s| s.expose())
    }

    async fn post(
        &self,
        path: &str,
        text: String,
    ) -> Result<super::upstream::Response, UpstreamError> {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(path))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(text);
        self.upstream.send(rb).await
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
                detail: format!("duplicate orderId, status query failed: {e}"),
            },
        }
    }

    /// Step 1: the transaction token. No payment exists before step 2, so every
    /// failure here (but a duplicate order) is safe to fail over.
    async fn initiate_token(&self, req: &InitiateRequest<'_>, q: &str) -> Result<String, Outcome> {
        let Some(text) = signed(&initiate_body(req, self.mid()), self.key()) else {
            return Err(Outcome::NotSent {
                detail: "paytm: merchant key must be 16, 24 or 32 bytes".into(),
            });
        };
        let r = self
            .post(&format!("{INITIATE_PATH}{q}"), text)
            .await
            .map_err(|e| Outcome::NotSent {
                detail: format!("initiateTransaction (no payment created): {e}"),
            })?;
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let (status, code, msg) = response::result_info(&v);
        if code == DUPLICATE_ORDER {
            return Err(self.existing(req.payment_id).await);
        }
        if r.status >= 500 {
            return Err(Outcome::Error5xx {
                http_status: r.status,
                not_processed: true,
                detail: format!(
                    "initiateTransaction (no payment created): {}",
                    classify::body_detail(&r.body)
                ),
            });
        }
        match v.pointer("/body/txnToken").and_then(id_str) {
            Some(t) if status == "S" => Ok(t),
            _ => {
                let d = response::decline_info(&v);
                Err(classify::scrubbed(Outcome::Declined {
                    code: if code.is_empty() {
                        format!("http_{}", r.status)
                    } else {
                        d.code
                    },
                    reason: d.reason,
                    message: if msg.is_empty() {
                        classify::body_detail(&r.body)
                    } else {
                        msg
                    },
                }))
            }
        }
    }
}

#[async_trait]
impl Connector for Paytm {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Paytm
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        let q = format!("?mid={}&orderId={}", self.mid(), req.payment_id);
        let token = match self.initiate_token(&req, &q).await {
            Ok(t) => t,
            Err(o) => return o,
        };
        if !req.request.method.is_upi() {
            // Cards and netbanking: the browser enters Paytm's hosted page with the
            // token. The documented success of initiateTransaction (resultStatus "S"
            // with a txnToken) proves the order exists, keyed by our ORDERID
            // (`classify::outcome_on_reference`); the TXNID comes with the callback.
            return Outcome::Created(Created {
                gateway_payment_id: None,
                status: PaymentStatus::Initiated,
                next_action: payment_page(
                    &self.upstream.url(""),
                    self.mid(),
                    req.payment_id,
                    &token,
                ),
                raw_status: "S".into(),
            });
        }
        let head = json!({"version": "v1", "channelId": "WEB", "txnToken": token});
        let text = format!(
            r#"{{"head":{head},"body":{}}}"#,
            process_body(&req, self.mid())
        );
        let method = req.request.method;
        // Paytm names the payment by our ORDERID (the TXNID comes with the callback
        // and the status answer): the documented success is the proof it exists.
        classify::outcome_on_reference(
            self.post(&format!("{PROCESS_PATH}{q}"), text).await,
            |b| response::process_created(b, method),
            response::decline_info,
        )
    }

    async fn status(
        &self,
        payment_id: &str,
        _gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let body = json!({"mid": self.mid(), "orderId": payment_id});
        let text = signed(&body, self.key()).ok_or_else(|| {
            UpstreamError::Build("paytm: merchant key must be 16, 24 or 32 bytes".into())
        })?;
        let r = self.post(STATUS_PATH, text).await?;
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        match response::order_report(&r.body) {
            Ok(Some(rep)) => Ok(rep),
            Ok(None) => Err(UpstreamError::not_found(format!(
                "paytm order {payment_id}"
            ))),
            Err(e) => Err(UpstreamError::BadResponse(e)),
        }
    }

    fn verify_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        let key = self
            .credentials
            .webhook_secret
            .as_ref()
            .or(self.credentials.key_secret.as_ref())
            .ok_or(SignatureError::NoSecret)?;
        webhook::verify(key.expose(), body)
    }

    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        webhook::parse(headers, body)
    }

    /// `/refund/apply` takes the order's TXNID whatever the payment mode.
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
