//! The `generic` dialect: switchyard's own JSON protocol for in-house gateways and
//! the sandbox. Amounts are integer paise, statuses are switchyard's unified words.
//! The full protocol is in `docs/GENERIC_DIALECT.md`.

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};

use super::classify::{self, DeclineInfo, id_str, reason_from_word, str_of};
use super::refund::{
    RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest, refund_outcome,
};
use super::sign::{self, header};
use super::time_fmt;
use super::{
    CallbackData, Connector, Created, InitiateRequest, Outcome, ParseError, RefundStatus,
    SignatureError, StatusReport, VerifyOptions,
};
use crate::connectors::upstream::{Upstream, UpstreamError};
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};
use crate::model::{Method, NextAction, Paise, PaymentStatus, Reason};

/// Header carrying `sha256=<hex HMAC-SHA256(timestamp + "." + body)>`.
pub const SIGNATURE_HEADER: &str = "x-switchyard-signature";
/// Header carrying the signing time in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-switchyard-timestamp";

pub struct Generic {
    upstream: Upstream,
    credentials: Credentials,
}

impl Generic {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        Generic {
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
}

/// The initiation body (`POST /v1/payments`).
pub fn initiate_body(req: &InitiateRequest<'_>) -> Value {
    let r = req.request;
    let mut body = json!({
        "merchant_txn_id": req.payment_id,
        "order_id": r.order_id,
        "amount": r.amount.get(),
        "currency": r.currency.as_str(),
        "method": r.method.as_str(),
    });
    if let Some(o) = body.as_object_mut() {
        if let Some(v) = &r.vpa {
            o.insert("vpa".into(), json!(v.expose()));
        }
        if let Some(u) = req.callback_url {
            o.insert("callback_url".into(), json!(u));
        }
        if r.customer != Default::default() {
            o.insert("customer".into(), json!(r.customer));
        }
        if let Some(d) = &r.description {
            o.insert("description".into(), json!(d));
        }
        if let Some(m) = &r.metadata {
            o.insert("metadata".into(), m.clone());
        }
    }
    body
}

/// Signs a generic callback body: returns the `X-Switchyard-Signature` value.
pub fn sign_callback(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    format!(
        "sha256={}",
        sign::hmac_sha256_hex(secret.as_bytes(), &[ts.as_bytes(), b".", body])
    )
}

fn parse_status_word(s: &str) -> PaymentStatus {
    match s {
        "created" => PaymentStatus::Initiated,
        other => PaymentStatus::parse(other).unwrap_or(PaymentStatus::Unknown),
    }
}

fn reason_of(v: &Value) -> Option<Reason> {
    v.get("npci_code")
        .and_then(str_of)
        .and_then(Reason::from_npci)
        .or_else(|| v.get("reason").and_then(str_of).and_then(reason_from_word))
}

fn default_next_action(method: Method) -> NextAction {
    // Every method but collect needs the gateway's action; a gateway that omits it
    // leaves the checkout waiting for the callback.
    let _ = method;
    NextAction::AwaitCustomer
}

fn created(body: &[u8], method: Method) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    let raw_status = v
        .get("status")
        .and_then(str_of)
        .unwrap_or("pending")
        .to_string();
    let next_action = v
        .get("next_action")
        .and_then(|n| serde_json::from_value::<NextAction>(n.clone()).ok())
        .unwrap_or_else(|| default_next_action(method));
    Outcome::Created(Created {
        gateway_payment_id: v.get("id").and_then(id_str),
        status: parse_status_word(&raw_status),
        next_action,
        raw_status,
    })
}

fn decline_info(v: &Value) -> DeclineInfo {
    let e = v.get("error").unwrap_or(v);
    let code = e
        .get("code")
        .and_then(str_of)
        .unwrap_or("declined")
        .to_string();
    let reason = reason_of(e)
        .or_else(|| reason_from_word(&code))
        .unwrap_or(Reason::Other);
    let message = e
        .get("message")
        .and_then(str_of)
        .unwrap_or_default()
        .to_string();
    DeclineInfo {
        code,
        reason,
        message,
    }
}

/// A generic refund object → our report: `{id, refund_id, status, amount, reference}`.
pub fn refund_report(r: &Value) -> Option<RefundReport> {
    let raw = r.get("status").and_then(str_of)?.to_string();
    let status = match raw.as_str() {
        "succeeded" => RefundStatus::Succeeded,
        "failed" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    };
    Some(RefundReport {
        gateway_refund_id: r.get("id").and_then(id_str),
        status,
        arn: r.get("reference").and_then(id_str),
        raw_status: raw,
        amount: r.get("amount").and_then(Value::as_i64).map(Paise),
    })
}

/// `POST /v1/refunds` body.
pub fn refund_body(req: &RefundRequest<'_>) -> Value {
    json!({
        "refund_id": req.refund_id,
        "merchant_txn_id": req.payment_id,
        "payment_id": req.gateway_payment_id,
        "amount": req.amount.get(),
        "currency": req.currency,
        "reason": req.reason,
    })
}

fn refund_decline(v: &Value) -> (String, String) {
    let d = decline_info(v);
    (d.code, d.message)
}

#[async_trait]
impl Connector for Generic {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Generic
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url("/v1/payments"))
            .header("Idempotency-Key", req.idempotency_key)
            .json(&initiate_body(&req));
        classify::outcome(
            self.upstream.send(self.auth(rb)).await,
            |b| created(b, req.request.method),
            decline_info,
        )
    }

    async fn status(
        &self,
        payment_id: &str,
        _gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let rb = self
            .upstream
            .client()
            .get(self.upstream.url(&format!("/v1/payments/{payment_id}")));
        let r = self.upstream.send(self.auth(rb)).await?;
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        let v = r.json()?;
        let raw_status = v
            .get("status")
            .and_then(str_of)
            .unwrap_or("unknown")
            .to_string();
        Ok(StatusReport {
            status: parse_status_word(&raw_status),
            reason: reason_of(&v),
            gateway_payment_id: v.get("id").and_then(id_str),
            utr: v.get("utr").and_then(id_str),
            rrn: v.get("rrn").and_then(id_str),
            raw_code: v.get("npci_code").and_then(id_str),
            amount: v.get("amount").and_then(Value::as_i64).map(Paise),
            tpv_failed: v.get("tpv_failed").and_then(Value::as_bool) == Some(true),
            raw_status,
        })
    }

    /// `X-Switchyard-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
    /// with `X-Switchyard-Timestamp` in Unix seconds, checked against the tolerance.
    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        let secret = self
            .credentials
            .webhook_secret
            .as_ref()
            .ok_or(SignatureError::NoSecret)?;
        let sig =
            header(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
        let ts =
            header(headers, TIMESTAMP_HEADER).ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
        let hex_sig = sig
            .trim()
            .strip_prefix("sha256=")
            .ok_or(SignatureError::Mismatch)?;
        let mac = sign::hmac_sha256(secret.expose().as_bytes(), &[ts.as_bytes(), b".", body]);
        if !sign::hex_matches(hex_sig, &mac) {
            return Err(SignatureError::Mismatch);
        }
        opts.check_fresh(
            ts.trim()
                .parse::<i64>()
                .ok()
                .and_then(time_fmt::from_unix_seconds),
        )
    }

    /// Amounts are positive integers of paise; anything else (a string, a fraction,
    /// a negative or zero) is refused rather than replaced by the intent's amount.
    fn parse_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackData, ParseError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
        let event_id = v
            .get("event_id")
            .and_then(id_str)
            .ok_or_else(|| ParseError::Malformed("event_id is missing".into()))?;
        let kind = match v.get("type").and_then(Value::as_str) {
            Some("payment") => Some("payment"),
            Some("refund") => Some("refund"),
            _ => None,
        };
        let mut out = CallbackData {
            gateway_event_id: event_id,
            kind,
            ..Default::default()
        };
        if kind.is_none() {
            return Ok(out);
        }
        let p = v
            .get("payment")
            .ok_or_else(|| ParseError::Malformed("payment is missing".into()))?;
        out.payment_id = p.get("merchant_txn_id").and_then(id_str);
        out.merchant_order_id = p.get("order_id").and_then(id_str);
        out.gateway_payment_id = p.get("id").and_then(id_str);
        out.currency = p.get("currency").and_then(id_str);
        out.payer_vpa = p.get("payer_vpa").and_then(id_str);
        out.occurred_at = p
            .get("occurred_at")
            .and_then(Value::as_str)
            .and_then(time_fmt::parse_rfc3339_utc);
        if kind == Some("payment") {
            let raw = p.get("status").and_then(str_of).unwrap_or("unknown");
            out.status = Some(parse_status_word(raw));
            out.raw_status = raw.to_string();
            out.reason = reason_of(p);
            out.raw_code = p.get("npci_code").and_then(id_str);
            out.amount = strict_minor(body, &["payment", "amount"])?;
            out.utr = p.get("utr").and_then(id_str);
            out.rrn = p.get("rrn").and_then(id_str);
            out.tpv_failed = p.get("tpv_failed").and_then(Value::as_bool) == Some(true);
        } else {
            let r = v
                .get("refund")
                .ok_or_else(|| ParseError::Malformed("refund is missing".into()))?;
            let raw = r.get("status").and_then(str_of).unwrap_or("pending");
            let rs = match raw {
                "succeeded" => RefundStatus::Succeeded,
                "failed" => RefundStatus::Failed,
                _ => RefundStatus::Pending,
            };
            out.refund_id = r.get("id").and_then(id_str);
            out.gateway_refund_id = out.refund_id.clone();
            out.merchant_refund_id = r.get("refund_id").and_then(id_str);
            out.refund_status = Some(rs);
            out.status = (rs == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded);
            out.raw_status = raw.to_string();
            out.amount = strict_minor(body, &["refund", "amount"])?;
            out.utr = r.get("reference").and_then(id_str);
        }
        Ok(out)
    }

    fn refunds_method(&self, _method: Method) -> bool {
        true
    }

    /// `POST /v1/refunds` with `Idempotency-Key` = our refund id.
    async fn refund(&self, req: RefundRequest<'_>) -> RefundOutcome {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url("/v1/refunds"))
            .header("Idempotency-Key", req.refund_id)
            .json(&refund_body(&req));
        refund_outcome(
            self.upstream.send(self.auth(rb)).await,
            refund_report,
            refund_decline,
        )
    }

    /// `GET /v1/refunds/{refund_id}` (our id).
    async fn refund_status(&self, q: RefundQuery<'_>) -> Result<RefundReport, RefundLookup> {
        let rb = self
            .upstream
            .client()
            .get(self.upstream.url(&format!("/v1/refunds/{}", q.refund_id)));
        let r = self.upstream.send(self.auth(rb)).await?;
        if r.status == 404 {
            return Err(RefundLookup::NotFound);
        }
        if !(200..300).contains(&r.status) {
            return Err(RefundLookup::Upstream(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            }));
        }
        refund_report(&r.json()?).ok_or(RefundLookup::NotFound)
    }
}

/// The integer-paise amount at `path`, read from the raw text: present but not a
/// non-negative integer is refused (never replaced by the intent's amount).
fn strict_minor(body: &[u8], path: &[&str]) -> Result<Option<Paise>, ParseError> {
    super::amount::minor_at(super::amount::text(body), path)
        .map_err(|e| ParseError::Malformed(format!("{}: {e}", path.join("."))))
}

#[cfg(test)]
mod amount_tests;
