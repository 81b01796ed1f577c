//! The `razorpay` dialect: Orders API + S2S UPI (`POST /v1/orders`, then
//! `POST /v1/payments/create/upi`), Payment Links for card and netbanking (the
//! customer is redirected to Razorpay's hosted page; switchyard never touches card
//! data), `GET /v1/payments/{id}` for status. HTTP Basic auth `key_id:key_secret`.
//! Amounts are integer paise. Webhooks: `X-Razorpay-Signature` = hex
//! HMAC-SHA256(raw body, webhook secret).

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};

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
        match self.upstream.send(self.auth(rb)).await {
            Err(e) => classify::transport(e),
            Ok(r) if (200..300).contains(&r.status) => upi_created(&r.body, req.request.method),
            Ok(r) => classify::http_error(r.status, &r.body, decline_info),
        }
    }

    async fn initiate_link(&self, req: &InitiateRequest<'_>) -> Outcome {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url("/v1/payment_links"))
            .json(&link_body(req));
        match self.upstream.send(self.auth(rb)).await {
            Err(e) => classify::transport(e),
            Ok(r) if (200..300).contains(&r.status) => link_created(&r.body),
            Ok(r) => classify::http_error(r.status, &r.body, decline_info),
        }
    }
}

fn notes(req: &InitiateRequest<'_>) -> Value {
    json!({ NOTE_PAYMENT_ID: req.payment_id, "order_id": req.request.order_id })
}

/// `POST /v1/orders`: amount in integer paise, our payment id as the receipt.
pub fn order_body(req: &InitiateRequest<'_>) -> Value {
    json!({
        "amount": req.request.amount.get(),
        "currency": req.request.currency.as_str(),
        "receipt": req.payment_id,
        "notes": notes(req),
    })
}

/// `POST /v1/payments/create/upi`: collect (with the VPA) or intent (QR uses the
/// intent link as the QR payload: the same `upi://pay` URI).
pub fn upi_payment_body(req: &InitiateRequest<'_>, order_id: &str) -> Value {
    let r = req.request;
    let mut upi =
        json!({ "flow": if r.method == Method::UpiCollect { "collect" } else { "intent" } });
    if let (Some(v), Some(o), Method::UpiCollect) = (&r.vpa, upi.as_object_mut(), r.method) {
        o.insert("vpa".into(), json!(v.expose()));
        o.insert("expiry_time".into(), json!(5));
    }
    let mut body = json!({
        "amount": r.amount.get(),
        "currency": r.currency.as_str(),
        "order_id": order_id,
        "method": "upi",
        "notes": notes(req),
        "upi": upi,
    });
    if let Some(o) = body.as_object_mut() {
        if let Some(e) = &r.customer.email {
            o.insert("email".into(), json!(e));
        }
        if let Some(p) = &r.customer.phone {
            o.insert("contact".into(), json!(p));
        }
        if let Some(d) = &r.description {
            o.insert("description".into(), json!(d));
        }
        if let Some(u) = req.callback_url {
            o.insert("callback_url".into(), json!(u));
        }
    }
    body
}

/// `POST /v1/payment_links` for card and netbanking.
pub fn link_body(req: &InitiateRequest<'_>) -> Value {
    let r = req.request;
    let mut customer = serde_json::Map::new();
    if let Some(e) = &r.customer.email {
        customer.insert("email".into(), json!(e));
    }
    if let Some(p) = &r.customer.phone {
        customer.insert("contact".into(), json!(p));
    }
    let mut body = json!({
        "amount": r.amount.get(),
        "currency": r.currency.as_str(),
        "reference_id": req.payment_id,
        "description": r.description.clone().unwrap_or_else(|| format!("Order {}", r.order_id)),
        "customer": customer,
        "notify": { "sms": false, "email": false },
        "notes": notes(req),
    });
    if let (Some(u), Some(o)) = (req.callback_url, body.as_object_mut()) {
        o.insert("callback_url".into(), json!(u));
        o.insert("callback_method".into(), json!("get"));
    }
    body
}

fn upi_created(body: &[u8], method: Method) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let Some(pid) = v.get("razorpay_payment_id").and_then(id_str) else {
        return Outcome::SentUnknown {
            detail: format!(
                "2xx without razorpay_payment_id: {}",
                classify::body_detail(body)
            ),
        };
    };
    let link = v.get("link").and_then(str_of).map(str::to_string);
    let (status, next_action) = match (method, link) {
        (Method::UpiCollect, _) => (PaymentStatus::Pending, NextAction::AwaitCustomer),
        (Method::UpiQr, Some(l)) => (
            PaymentStatus::Initiated,
            NextAction::UpiQr { qr_payload: l },
        ),
        (_, Some(l)) => (PaymentStatus::Initiated, NextAction::UpiIntent { uri: l }),
        (_, None) => (PaymentStatus::Initiated, NextAction::AwaitCustomer),
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(pid),
        status,
        next_action,
        raw_status: "created".into(),
    })
}

fn link_created(body: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (
        v.get("id").and_then(id_str),
        v.get("short_url").and_then(str_of),
    ) {
        (Some(id), Some(url)) => Outcome::Created(Created {
            gateway_payment_id: Some(id),
            status: PaymentStatus::Initiated,
            next_action: NextAction::Redirect {
                url: url.to_string(),
            },
            raw_status: v
                .get("status")
                .and_then(str_of)
                .unwrap_or("created")
                .to_string(),
        }),
        _ => Outcome::SentUnknown {
            detail: format!(
                "2xx without link id/short_url: {}",
                classify::body_detail(body)
            ),
        },
    }
}

/// `{"error": {"code": "BAD_REQUEST_ERROR", "description", "source", "step", "reason"}}`.
/// Razorpay asks integrators to match on `reason`, not `code`.
fn decline_info(v: &Value) -> DeclineInfo {
    let e = v.get("error").unwrap_or(v);
    let code = e
        .get("code")
        .and_then(str_of)
        .unwrap_or("BAD_REQUEST_ERROR");
    let rzp_reason = e.get("reason").and_then(str_of).filter(|r| *r != "NA");
    let description = e.get("description").and_then(str_of).unwrap_or_default();
    let reason = rzp_reason
        .and_then(reason_from_word)
        .or_else(|| {
            let d = description.to_ascii_lowercase();
            (d.contains("vpa") || d.contains("upi id")).then_some(Reason::InvalidVpa)
        })
        .unwrap_or(Reason::Other);
    DeclineInfo {
        code: rzp_reason.unwrap_or(code).to_string(),
        reason,
        message: description.to_string(),
    }
}

/// A failed payment's reason: `error_reason` first, then the NPCI code some errors carry.
fn payment_reason(p: &Value) -> Option<Reason> {
    p.get("error_reason")
        .and_then(str_of)
        .and_then(reason_from_word)
        .or_else(|| {
            p.get("error_code")
                .and_then(str_of)
                .and_then(Reason::from_npci)
        })
}

fn payment_status(p: &Value) -> PaymentStatus {
    match p.get("status").and_then(Value::as_str).unwrap_or("") {
        "created" => PaymentStatus::Pending,
        "authorized" => PaymentStatus::Authorized,
        "captured" => PaymentStatus::Succeeded,
        "failed" => PaymentStatus::Failed,
        "refunded" => {
            let amount = p.get("amount").and_then(Value::as_i64).unwrap_or(0);
            let refunded = p
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if p.get("captured").and_then(Value::as_bool) == Some(false) {
                PaymentStatus::Reversed
            } else if refunded < amount {
                PaymentStatus::PartiallyRefunded
            } else {
                PaymentStatus::Refunded
            }
        }
        _ => PaymentStatus::Unknown,
    }
}

fn payment_report(p: &Value) -> StatusReport {
    let status = payment_status(p);
    let acq = p.get("acquirer_data").unwrap_or(&Value::Null);
    StatusReport {
        status,
        reason: if status == PaymentStatus::Failed {
            payment_reason(p).or(Some(Reason::Other))
        } else {
            None
        },
        gateway_payment_id: p.get("id").and_then(id_str),
        utr: acq
            .get("upi_transaction_id")
            .and_then(id_str)
            .or_else(|| acq.get("bank_transaction_id").and_then(id_str)),
        rrn: acq.get("rrn").and_then(id_str),
        raw_status: p.get("status").and_then(str_of).unwrap_or("").to_string(),
        raw_code: p.get("error_reason").and_then(id_str),
        amount: p.get("amount").and_then(Value::as_i64).map(Paise),
    }
}

/// Ranks payments of one order so the most advanced one reports the order's state.
fn rank(p: &Value) -> u8 {
    match p.get("status").and_then(Value::as_str) {
        Some("captured") | Some("refunded") => 4,
        Some("authorized") => 3,
        Some("created") => 2,
        Some("failed") => 1,
        _ => 0,
    }
}

fn link_report(v: &Value) -> StatusReport {
    let raw = v.get("status").and_then(str_of).unwrap_or("").to_string();
    let status = match raw.as_str() {
        "created" => PaymentStatus::Initiated,
        "partially_paid" => PaymentStatus::Pending,
        "paid" => PaymentStatus::Succeeded,
        "expired" => PaymentStatus::Expired,
        "cancelled" => PaymentStatus::Cancelled,
        _ => PaymentStatus::Unknown,
    };
    StatusReport {
        status,
        reason: (status == PaymentStatus::Expired).then_some(Reason::Expired),
        gateway_payment_id: v.get("id").and_then(id_str),
        utr: None,
        rrn: None,
        raw_status: raw,
        raw_code: None,
        amount: v.get("amount").and_then(Value::as_i64).map(Paise),
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
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        // Razorpay sends no signed timestamp: replay protection is the event-id dedupe.
        let secret = self
            .credentials
            .webhook_secret
            .as_ref()
            .ok_or(SignatureError::NoSecret)?;
        let sig =
            header(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
        let mac = sign::hmac_sha256(secret.expose().as_bytes(), &[body]);
        if sign::hex_matches(sig, &mac) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
        let event = v.get("event").and_then(Value::as_str).unwrap_or("");
        let payment = v.pointer("/payload/payment/entity");
        let refund = v.pointer("/payload/refund/entity");
        let entity_id = refund
            .or(payment)
            .and_then(|e| e.get("id"))
            .and_then(id_str)
            .unwrap_or_default();
        let gateway_event_id = header(headers, EVENT_ID_HEADER)
            .map(str::to_string)
            .unwrap_or_else(|| {
                // No event id header (SDK vectors): derive one from the content.
                let digest = sign::hmac_sha256(b"razorpay-event", &[body]);
                format!("{event}:{entity_id}:{}", hex::encode(&digest[..8]))
            });
        let mut out = CallbackData {
            gateway_event_id,
            occurred_at: v
                .get("created_at")
                .and_then(Value::as_i64)
                .and_then(time_fmt::from_unix_seconds),
            ..Default::default()
        };
        let is_event = v.get("entity").and_then(Value::as_str) == Some("event");
        if let (true, Some(r)) = (is_event && event.starts_with("refund."), refund) {
            let raw = r.get("status").and_then(str_of).unwrap_or("").to_string();
            let rs = match raw.as_str() {
                "processed" => RefundStatus::Succeeded,
                "failed" => RefundStatus::Failed,
                _ => RefundStatus::Pending,
            };
            let uncaptured = payment
                .and_then(|p| p.get("captured"))
                .and_then(Value::as_bool)
                == Some(false);
            out.kind = Some("refund");
            out.refund_id = r.get("id").and_then(id_str);
            out.refund_status = Some(rs);
            out.status = match rs {
                RefundStatus::Succeeded if uncaptured => Some(PaymentStatus::Reversed),
                RefundStatus::Succeeded => Some(PaymentStatus::Refunded),
                _ => None,
            };
            out.gateway_payment_id = r
                .get("payment_id")
                .and_then(id_str)
                .or_else(|| payment.and_then(|p| p.get("id")).and_then(id_str));
            out.merchant_order_id = payment.and_then(|p| p.get("order_id")).and_then(id_str);
            out.payment_id = payment.and_then(note_payment_id);
            out.amount = r.get("amount").and_then(Value::as_i64).map(Paise);
            out.currency = r.get("currency").and_then(id_str);
            out.utr = r.pointer("/acquirer_data/arn").and_then(id_str);
            out.raw_status = raw;
            return Ok(out);
        }
        let payment_event = event.starts_with("payment.") || event == "order.paid";
        if let (true, Some(p)) = (is_event && payment_event, payment) {
            let rep = payment_report(p);
            out.kind = Some("payment");
            out.status = Some(rep.status);
            out.reason = rep.reason;
            out.raw_status = rep.raw_status;
            out.raw_code = rep.raw_code;
            out.gateway_payment_id = rep.gateway_payment_id;
            out.merchant_order_id = p.get("order_id").and_then(id_str);
            out.payment_id = note_payment_id(p);
            out.amount = rep.amount;
            out.currency = p.get("currency").and_then(id_str);
            out.utr = rep.utr;
            out.rrn = rep.rrn;
            out.payer_vpa = p
                .get("vpa")
                .and_then(id_str)
                .or_else(|| p.pointer("/upi/vpa").and_then(id_str));
            return Ok(out);
        }
        // Disputes, downtime, settlements, or not an event at all: acknowledged, ignored.
        out.raw_status = event.to_string();
        Ok(out)
    }
}

fn note_payment_id(p: &Value) -> Option<String> {
    p.get("notes")
        .and_then(|n| n.get(NOTE_PAYMENT_ID))
        .and_then(id_str)
}
