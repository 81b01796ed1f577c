//! The `payu` dialect (PayU India). UPI server to server: `POST /_payment`
//! (form-urlencoded, `pg=UPI`, `bankcode=UPI` collect with `vpa` / `INTENT` for
//! intent and QR, `txn_s2s_flow=4` for a JSON answer carrying `intentURIData`),
//! signed with the SHA-512 request hash over `key|txnid|amount|…|SALT`. Status:
//! `POST /merchant/postservice.php?form=2` `command=verify_payment` (hash
//! `key|command|var1|SALT`); an unknown txnid answers `status: "Not Found"`.
//! Callbacks: form posts with the reverse hash. Amounts are rupee strings
//! (`"299.00"`). Credentials: `key_id` = merchant key, `key_secret` = salt (the
//! webhook salt is `webhook_secret` when set, else the same salt).
//!
//! Idempotency: PayU keeps `txnid` (our payment id) unique per merchant, so a retry
//! is refused as a duplicate; the connector then asks `verify_payment` and reports
//! the payment that exists (no second charge). Cards and netbanking: PayU's hosted
//! checkout is a browser form post with no server-side create call, so the
//! initiation answers `next_action: form_post` with the signed `_payment` form
//! (`enforce_paymethod` for the method) and sends nothing itself ([`checkout_form`]).

pub mod hash;
mod refund;
mod response;
mod webhook;

use async_trait::async_trait;
use http::HeaderMap;

use super::classify;
use super::form::{Form, encode};
use super::upstream::{Upstream, UpstreamError};
use super::{
    CallbackData, Connector, ConnectorKind, Created, Credentials, GatewaySpec, InitiateRequest,
    Outcome, ParseError, RefundLookup, RefundOutcome, RefundQuery, RefundReport, RefundRequest,
    SignatureError, StatusReport, VerifyOptions,
};
use crate::model::{Method, NextAction, PaymentStatus};

pub use hash::{command_hash, request_hash, reverse_hash};
pub use refund::{REFUND_COMMAND, STATUS_COMMAND, refund_form, refund_state, status_form};
pub use response::{DUPLICATE, STATUS_TABLE, status_of};
pub use webhook::sign_callback;

pub const PAYMENT_PATH: &str = "/_payment";
pub const POSTSERVICE_PATH: &str = "/merchant/postservice.php";

pub struct Payu {
    upstream: Upstream,
    credentials: Credentials,
}

/// The fields every `_payment` form starts with: our txnid, the rupee amount, the
/// customer, our order id in `udf1`, the return URLs.
fn common_fields(req: &InitiateRequest<'_>, key: &str) -> Vec<(String, String)> {
    let r = req.request;
    let callback = req.callback_url.unwrap_or_default();
    [
        ("key", key.to_string()),
        ("txnid", req.payment_id.to_string()),
        ("amount", r.amount.to_rupees_string()),
        (
            "productinfo",
            r.description
                .clone()
                .unwrap_or_else(|| format!("Order {}", r.order_id)),
        ),
        (
            "firstname",
            r.customer.id.clone().unwrap_or_else(|| "Customer".into()),
        ),
        ("email", r.customer.email.clone().unwrap_or_default()),
        ("phone", r.customer.phone.clone().unwrap_or_default()),
        ("udf1", r.order_id.clone()),
        ("surl", callback.to_string()),
        ("furl", callback.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn with_hash(mut f: Vec<(String, String)>, salt: &str) -> Vec<(String, String)> {
    let h = request_hash(&Form(f.clone()), salt);
    f.push(("hash".into(), h));
    f
}

/// The `_payment` form for a UPI payment, hash last.
pub fn payment_form(req: &InitiateRequest<'_>, key: &str, salt: &str) -> Vec<(String, String)> {
    let r = req.request;
    let mut f = common_fields(req, key);
    f.extend(
        [
            ("pg", "UPI"),
            (
                "bankcode",
                if r.method == Method::UpiCollect {
                    "UPI"
                } else {
                    "INTENT"
                },
            ),
            ("txn_s2s_flow", "4"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    if let (Method::UpiCollect, Some(v)) = (r.method, &r.vpa) {
        f.push(("vpa".into(), v.expose().to_string()));
    }
    with_hash(f, salt)
}

/// `enforce_paymethod` of the hosted checkout for a method (docs.payu.in "Enforce
/// Pay Method or Remove Category": `creditcard`, `debitcard`, `netbanking`, `|`
/// separated). `None` for UPI, which goes server to server.
pub fn enforced_paymethod(method: Method) -> Option<&'static str> {
    match method {
        Method::Card => Some("creditcard|debitcard"),
        Method::Netbanking => Some("netbanking"),
        _ => None,
    }
}

/// The hosted-checkout `_payment` form for cards and netbanking, posted by the
/// customer's browser (docs.payu.in "Integrate with PayU Hosted Checkout"): the
/// common fields, `enforce_paymethod` restricting the page to the method, and the
/// request hash. No `pg` / `bankcode`: those select a merchant-hosted (seamless)
/// payment, which carries card details switchyard never holds.
pub fn checkout_form(req: &InitiateRequest<'_>, key: &str, salt: &str) -> Vec<(String, String)> {
    let mut f = common_fields(req, key);
    if let Some(m) = enforced_paymethod(req.request.method) {
        f.push(("enforce_paymethod".into(), m.into()));
    }
    with_hash(f, salt)
}

impl Payu {
    pub fn new(spec: &GatewaySpec, upstream: Upstream) -> Self {
        Payu {
            upstream,
            credentials: spec.credentials.clone(),
        }
    }

    fn key(&self) -> &str {
        self.credentials.key_id.as_ref().map_or("", |s| s.expose())
    }

    fn salt(&self) -> &str {
        self.credentials
            .key_secret
            .as_ref()
            .map_or("", |s| s.expose())
    }

    async fn post_form(
        &self,
        path: &str,
        form: &[(String, String)],
    ) -> Result<super::upstream::Response, UpstreamError> {
        let rb = self
            .upstream
            .client()
            .post(self.upstream.url(path))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(encode(form));
        self.upstream.send(rb).await
    }

    /// Cards and netbanking: the signed hosted-checkout form for the browser to post
    /// to `_payment`. No request is sent from here (PayU has no server-side create
    /// call for its hosted checkout): the payment comes to exist at PayU when the
    /// browser posts, under our txnid, which PayU refuses to reuse, so a form posted
    /// twice charges once. `initiated`, with no gateway id until the callback or
    /// `verify_payment` (keyed by our txnid) brings the mihpayid; a form never posted
    /// is "Not Found" there and the watchdog expires it.
    fn checkout(&self, req: &InitiateRequest<'_>) -> Outcome {
        if self.key().is_empty() || self.salt().is_empty() {
            return Outcome::NotSent {
                detail: "payu: the hosted checkout form needs the merchant key and salt".into(),
            };
        }
        if req.callback_url.is_none_or(str::is_empty) {
            // surl / furl are mandatory: PayU returns the browser there.
            return Outcome::NotSent {
                detail: "payu: the hosted checkout needs server.public_url for surl / furl".into(),
            };
        }
        let form = checkout_form(req, self.key(), self.salt());
        Outcome::Created(Created {
            gateway_payment_id: None,
            status: PaymentStatus::Initiated,
            next_action: NextAction::form_post(self.upstream.url(PAYMENT_PATH), form),
            raw_status: "checkout_form".into(),
        })
    }

    /// A retry refused as a duplicate txnid: the payment exists, report it.
    async fn existing(&self, payment_id: &str) -> Outcome {
        match self.status(payment_id, None).await {
            Ok(rep) => Outcome::Created(Created {
                gateway_payment_id: rep.gateway_payment_id,
                status: if rep.status == PaymentStatus::Unknown {
                    PaymentStatus::Pending
                } else {
                    rep.status
                },
                next_action: NextAction::AwaitCustomer,
                raw_status: format!("replayed:{}", rep.raw_status),
            }),
            Err(e) => Outcome::SentUnknown {
                detail: format!("duplicate txnid, status query failed: {e}"),
            },
        }
    }
}

#[async_trait]
impl Connector for Payu {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Payu
    }

    async fn initiate(&self, req: InitiateRequest<'_>) -> Outcome {
        if !req.request.method.is_upi() {
            return self.checkout(&req);
        }
        let form = payment_form(&req, self.key(), self.salt());
        let outcome = classify::outcome(
            self.post_form(PAYMENT_PATH, &form).await,
            |b| response::payment_created(b, req.request.method),
            response::decline_info,
        );
        match outcome {
            Outcome::Declined { code, .. } if code == DUPLICATE => {
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
        let command = "verify_payment";
        let form: Vec<(String, String)> = vec![
            ("key".into(), self.key().into()),
            ("command".into(), command.into()),
            ("var1".into(), payment_id.into()),
            (
                "hash".into(),
                command_hash(self.key(), command, payment_id, self.salt()),
            ),
        ];
        let r = self
            .post_form(&format!("{POSTSERVICE_PATH}?form=2"), &form)
            .await?;
        if !(200..300).contains(&r.status) {
            return Err(UpstreamError::Status {
                status: r.status,
                body: classify::body_detail(&r.body),
            });
        }
        let text =
            std::str::from_utf8(&r.body).map_err(|e| UpstreamError::BadResponse(e.to_string()))?;
        match response::verify_report(text, payment_id) {
            Ok(Some(rep)) => Ok(rep),
            Ok(None) => Err(UpstreamError::not_found(format!("payu txnid {payment_id}"))),
            Err(e) => Err(UpstreamError::BadResponse(e)),
        }
    }

    fn verify_callback(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
        _opts: VerifyOptions,
    ) -> Result<(), SignatureError> {
        // The hash covers no timestamp: replay protection is the event-id dedupe.
        let salt = self
            .credentials
            .webhook_secret
            .as_ref()
            .or(self.credentials.key_secret.as_ref())
            .ok_or(SignatureError::NoSecret)?;
        webhook::verify(salt.expose(), body)
    }

    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        webhook::parse(headers, body)
    }

    /// `cancel_refund_transaction` works on the mihpayid whatever the method.
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
