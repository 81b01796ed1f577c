//! The `cashfree` dialect: Cashfree PG API version 2023-08-01. UPI: create the order
//! (`POST /pg/orders`), then pay it (`POST /pg/orders/sessions` with the
//! `payment_session_id`): channel `collect`, `link` (intent) or `qrcode`. Card and
//! netbanking: a payment link (`POST /pg/links`) the customer is redirected to.
//! Status: `GET /pg/orders/{order_id}/payments`. Auth headers `x-client-id`,
//! `x-client-secret`, `x-api-version`. Amounts are rupee decimals, written from paise
//! as exact text (`170.00`) and parsed back from text, never through `f64`.
//! Webhooks: `x-webhook-signature` = base64 HMAC-SHA256(x-webhook-timestamp + raw
//! body, client secret), timestamp in milliseconds.

use std::collections::BTreeMap;

use async_trait::async_trait;
use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::classify::{self, DeclineInfo, id_str, reason_from_word, str_of};
use super::sign::{self, header};
use super::time_fmt;
use super::{
    CallbackData, Connector, Created, InitiateRequest, Outcome, ParseError, RefundStatus,
    SignatureError, StatusReport, VerifyOptions,
};
use crate::config::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::{Method, NextAction, Paise, PaymentStatus, Reason};
use crate::upstream::{Upstream, UpstreamError};

pub const API_VERSION: &str = "2023-08-01";
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";
pub const IDEMPOTENCY_HEADER: &str = "x-idempotency-key";

pub struct Cashfree {
    upstream: Upstream,
    credentials: Credentials,
}

// === request bodies ===

#[derive(Serialize)]
struct CustomerDetails<'a> {
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_email: Option<&'a str>,
}

#[derive(Serialize)]
struct OrderMeta<'a> {
    notify_url: &'a str,
}

#[derive(Serialize)]
struct OrderBody<'a> {
    order_id: &'a str,
    order_amount: Box<RawValue>,
    order_currency: &'a str,
    customer_details: CustomerDetails<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_meta: Option<OrderMeta<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_note: Option<&'a str>,
    order_tags: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
struct LinkNotify {
    send_sms: bool,
    send_email: bool,
}

#[derive(Serialize)]
struct LinkMeta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
}

#[derive(Serialize)]
struct LinkBody<'a> {
    link_id: &'a str,
    link_amount: Box<RawValue>,
    link_currency: &'a str,
    link_purpose: String,
    customer_details: CustomerDetails<'a>,
    link_notify: LinkNotify,
    link_meta: LinkMeta<'a>,
    link_notes: BTreeMap<&'static str, &'a str>,
}

/// The amount as an exact JSON number with two decimals (`29900` → `299.00`).
fn rupees_raw(p: Paise) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(p.to_rupees_string())
}

fn customer<'a>(req: &'a InitiateRequest<'_>) -> CustomerDetails<'a> {
    let c = &req.request.customer;
    CustomerDetails {
        // Cashfree requires a customer id; fall back to the merchant's order id.
        customer_id: c.id.clone().unwrap_or_else(|| req.request.order_id.clone()),
        customer_phone: c.phone.as_deref(),
        customer_email: c.email.as_deref(),
    }
}

/// `POST /pg/orders` body: our payment id is Cashfree's `order_id`.
pub fn order_body(req: &InitiateRequest<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let r = req.request;
    let body = OrderBody {
        order_id: req.payment_id,
        order_amount: rupees_raw(r.amount)?,
        order_currency: r.currency.as_str(),
        customer_details: customer(req),
        order_meta: req.callback_url.map(|u| OrderMeta { notify_url: u }),
        order_note: r.description.as_deref(),
        order_tags: BTreeMap::from([("merchant_order_id", r.order_id.as_str())]),
    };
    serde_json::to_vec(&body)
}

/// `POST /pg/links` body for card and netbanking.
pub fn link_body(req: &InitiateRequest<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let r = req.request;
    let body = LinkBody {
        link_id: req.payment_id,
        link_amount: rupees_raw(r.amount)?,
        link_currency: r.currency.as_str(),
        link_purpose: r
            .description
            .clone()
            .unwrap_or_else(|| format!("Order {}", r.order_id)),
        customer_details: customer(req),
        link_notify: LinkNotify {
            send_sms: false,
            send_email: false,
        },
        link_meta: LinkMeta {
            notify_url: req.callback_url,
        },
        link_notes: BTreeMap::from([("merchant_order_id", r.order_id.as_str())]),
    };
    serde_json::to_vec(&body)
}

/// `POST /pg/orders/sessions` body.
pub fn pay_body(req: &InitiateRequest<'_>, session_id: &str) -> Value {
    let r = req.request;
    let upi = match (r.method, &r.vpa) {
        (Method::UpiCollect, Some(v)) => {
            serde_json::json!({ "channel": "collect", "upi_id": v.expose() })
        }
        (Method::UpiCollect, None) => serde_json::json!({ "channel": "collect" }),
        (Method::UpiQr, _) => serde_json::json!({ "channel": "qrcode" }),
        _ => serde_json::json!({ "channel": "link" }),
    };
    serde_json::json!({
        "payment_session_id": session_id,
        "payment_method": { "upi": upi },
    })
}

// === answers ===

/// `{"message", "code", "type"}`.
fn decline_info(v: &Value) -> DeclineInfo {
    let code = v.get("code").and_then(str_of).unwrap_or("invalid_request");
    let message = v.get("message").and_then(str_of).unwrap_or_default();
    let reason = reason_from_word(code)
        .or_else(|| {
            let t = format!("{code} {message}").to_ascii_lowercase();
            (t.contains("upi_id") || t.contains("vpa") || t.contains("upi id"))
                .then_some(Reason::InvalidVpa)
        })
        .unwrap_or(Reason::Other);
    DeclineInfo {
        code: code.to_string(),
        reason,
        message: message.to_string(),
    }
}

fn pay_created(body: &[u8], method: Method) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let Some(cf_payment_id) = v.get("cf_payment_id").and_then(id_str) else {
        return Outcome::SentUnknown {
            detail: format!("2xx without cf_payment_id: {}", classify::body_detail(body)),
        };
    };
    let payload = v.pointer("/data/payload").unwrap_or(&Value::Null);
    let (status, next_action) = match method {
        Method::UpiCollect => (PaymentStatus::Pending, NextAction::AwaitCustomer),
        Method::UpiQr => match payload.get("qrcode").and_then(str_of) {
            Some(q) => (
                PaymentStatus::Initiated,
                NextAction::UpiQr {
                    qr_payload: q.into(),
                },
            ),
            None => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
        },
        _ => match payload.get("default").and_then(str_of) {
            Some(u) => (
                PaymentStatus::Initiated,
                NextAction::UpiIntent { uri: u.into() },
            ),
            None => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
        },
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(cf_payment_id),
        status,
        next_action,
        raw_status: v
            .get("action")
            .and_then(str_of)
            .unwrap_or("custom")
            .to_string(),
    })
}

fn link_created(body: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match v.get("link_url").and_then(str_of) {
        Some(url) => Outcome::Created(Created {
            gateway_payment_id: v.get("cf_link_id").and_then(id_str),
            status: PaymentStatus::Initiated,
            next_action: NextAction::Redirect { url: url.into() },
            raw_status: v
                .get("link_status")
                .and_then(str_of)
                .unwrap_or("ACTIVE")
                .to_string(),
        }),
        None => Outcome::SentUnknown {
            detail: format!("2xx without link_url: {}", classify::body_detail(body)),
        },
    }
}

fn payment_status(raw: &str) -> PaymentStatus {
    match raw {
        "SUCCESS" => PaymentStatus::Succeeded,
        "PENDING" | "NOT_ATTEMPTED" => PaymentStatus::Pending,
        "FAILED" | "USER_DROPPED" | "CANCELLED" => PaymentStatus::Failed,
        "VOID" => PaymentStatus::Cancelled,
        _ => PaymentStatus::Unknown,
    }
}

/// The NPCI code: `error_details.error_code_raw`, else the `Z9::…` prefix of the message.
fn npci_code(payment: &Value, error: Option<&Value>) -> Option<String> {
    error
        .and_then(|e| e.get("error_code_raw"))
        .and_then(id_str)
        .or_else(|| {
            payment
                .get("payment_message")
                .and_then(Value::as_str)
                .and_then(|m| m.split_once("::"))
                .map(|(c, _)| c.trim().to_string())
                .filter(|c| !c.is_empty() && c.len() <= 4 && c != "00")
        })
}

fn failure_reason(raw: &str, code: Option<&str>, error: Option<&Value>) -> Option<Reason> {
    if raw == "USER_DROPPED" {
        return Some(Reason::CustomerDropped);
    }
    if payment_status(raw) != PaymentStatus::Failed {
        return None;
    }
    code.and_then(Reason::from_npci)
        .or_else(|| {
            error
                .and_then(|e| e.get("error_reason"))
                .and_then(str_of)
                .and_then(reason_from_word)
        })
        .or(Some(Reason::Other))
}

fn payment_report(p: &Value) -> StatusReport {
    let raw = p
        .get("payment_status")
        .and_then(str_of)
        .unwrap_or("")
        .to_string();
    let error = p.get("error_details").filter(|e| e.is_object());
    let code = npci_code(p, error);
    StatusReport {
        status: payment_status(&raw),
        reason: failure_reason(&raw, code.as_deref(), error),
        gateway_payment_id: p.get("cf_payment_id").and_then(id_str),
        utr: p.get("bank_reference").and_then(id_str),
        rrn: None,
        raw_status: raw,
        raw_code: code,
        amount: p
            .get("payment_amount")
            .and_then(|a| Paise::from_rupees_json(a).ok()),
    }
}

fn rank(p: &Value) -> u8 {
    match p.get("payment_status").and_then(Value::as_str) {
        Some("SUCCESS") => 5,
        Some("PENDING") => 3,
        Some("NOT_ATTEMPTED") => 2,
        Some(_) => 1,
        None => 0,
    }
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

    async fn get(&self, path: &str) -> Result<crate::upstream::Response, UpstreamError> {
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
        match self.upstream.send(rb).await {
            Err(e) => classify::transport(e),
            Ok(r) if (200..300).contains(&r.status) => pay_created(&r.body, req.request.method),
            Ok(r) => classify::http_error(r.status, &r.body, decline_info),
        }
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
        match self.upstream.send(rb).await {
            Err(e) => classify::transport(e),
            Ok(r) if (200..300).contains(&r.status) => link_created(&r.body),
            Ok(r) => classify::http_error(r.status, &r.body, decline_info),
        }
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
        // Cashfree signs with the PG client secret; a dedicated webhook secret, when
        // configured, takes precedence.
        let secret = self
            .credentials
            .webhook_secret
            .as_ref()
            .or(self.credentials.key_secret.as_ref())
            .ok_or(SignatureError::NoSecret)?;
        let sig =
            header(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
        let ts =
            header(headers, TIMESTAMP_HEADER).ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
        let mac = sign::hmac_sha256(secret.expose().as_bytes(), &[ts.as_bytes(), body]);
        if !sign::base64_matches(sig, &mac) {
            return Err(SignatureError::Mismatch);
        }
        if let Some(tol) = opts.tolerance {
            let at = ts
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(time_fmt::from_unix_millis)
                .ok_or(SignatureError::Stale)?;
            if !time_fmt::within(at, opts.now, tol) {
                return Err(SignatureError::Stale);
            }
        }
        Ok(())
    }

    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
        let typ = v.get("type").and_then(Value::as_str).unwrap_or("");
        let mut out = CallbackData {
            occurred_at: v
                .get("event_time")
                .and_then(Value::as_str)
                .and_then(time_fmt::parse_rfc3339_utc),
            ..Default::default()
        };
        let idem = header(headers, IDEMPOTENCY_HEADER).map(str::to_string);
        if let (true, Some(r)) = (typ.contains("REFUND"), v.pointer("/data/refund")) {
            let raw = r
                .get("refund_status")
                .and_then(str_of)
                .unwrap_or("")
                .to_string();
            let rs = match raw.as_str() {
                "SUCCESS" => RefundStatus::Succeeded,
                "CANCELLED" | "FAILED" => RefundStatus::Failed,
                _ => RefundStatus::Pending,
            };
            let auto = typ.starts_with("AUTO_REFUND")
                || r.get("refund_type").and_then(Value::as_str) == Some("PAYMENT_AUTO_REFUND");
            let refund_id = r.get("refund_id").and_then(id_str);
            let cf_refund_id = r.get("cf_refund_id").and_then(id_str);
            out.gateway_event_id = idem.unwrap_or_else(|| {
                format!("{typ}:{}:{raw}", cf_refund_id.clone().unwrap_or_default())
            });
            out.kind = Some("refund");
            out.refund_id = refund_id.or(cf_refund_id);
            out.refund_status = Some(rs);
            out.status = match rs {
                RefundStatus::Succeeded if auto => Some(PaymentStatus::Reversed),
                RefundStatus::Succeeded => Some(PaymentStatus::Refunded),
                _ => None,
            };
            out.gateway_payment_id = r.get("cf_payment_id").and_then(id_str);
            out.merchant_order_id = r.get("order_id").and_then(id_str);
            out.payment_id = out.merchant_order_id.clone();
            out.amount = r
                .get("refund_amount")
                .map(Paise::from_rupees_json)
                .transpose()
                .map_err(|e| ParseError::Malformed(e.to_string()))?;
            out.currency = r.get("refund_currency").and_then(id_str);
            out.utr = r.get("refund_arn").and_then(id_str);
            out.raw_status = raw;
            if let Some(t) = r
                .get("processed_at")
                .or_else(|| r.get("created_at"))
                .and_then(Value::as_str)
                .and_then(time_fmt::parse_rfc3339_utc)
            {
                out.occurred_at = Some(t);
            }
            return Ok(out);
        }
        let payment = v
            .pointer("/data/payment")
            .filter(|p| p.get("payment_status").is_some());
        if let (true, Some(p)) = (typ.starts_with("PAYMENT_"), payment) {
            let rep = payment_report(p);
            out.gateway_event_id = idem.unwrap_or_else(|| {
                format!(
                    "{typ}:{}:{}",
                    rep.gateway_payment_id.clone().unwrap_or_default(),
                    rep.raw_status
                )
            });
            out.kind = Some("payment");
            out.status = Some(rep.status);
            out.reason = rep.reason;
            out.raw_status = rep.raw_status;
            out.raw_code = rep.raw_code;
            out.gateway_payment_id = rep.gateway_payment_id;
            out.merchant_order_id = v.pointer("/data/order/order_id").and_then(id_str);
            out.payment_id = out.merchant_order_id.clone();
            out.amount = p
                .get("payment_amount")
                .map(Paise::from_rupees_json)
                .transpose()
                .map_err(|e| ParseError::Malformed(e.to_string()))?;
            out.currency = p.get("payment_currency").and_then(id_str);
            out.utr = rep.utr;
            out.payer_vpa = p.pointer("/payment_method/upi/upi_id").and_then(id_str);
            if let Some(t) = p
                .get("payment_time")
                .and_then(Value::as_str)
                .and_then(time_fmt::parse_rfc3339_utc)
            {
                out.occurred_at = Some(t);
            }
            return Ok(out);
        }
        // Settlement, dispute, instrument webhooks: acknowledged, ignored.
        out.gateway_event_id = idem.unwrap_or_else(|| {
            let d = sign::hmac_sha256(b"cashfree-event", &[body]);
            format!("{typ}:{}", hex::encode(&d[..8]))
        });
        out.raw_status = typ.to_string();
        Ok(out)
    }
}
