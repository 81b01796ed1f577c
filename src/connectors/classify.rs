//! The HTTP half of outcome classification (DESIGN.md section 4), shared by the
//! dialects. Transport failures come classified from [`crate::upstream`]; here a
//! gateway's non-2xx answer becomes an [`Outcome`].

use serde_json::Value;

use super::Outcome;
use crate::connectors::upstream::{UpstreamError, not_processed};
use crate::model::Reason;

/// Longest piece of a gateway body kept in an outcome's detail (it is logged).
const DETAIL_MAX: usize = 512;

/// A transport failure as an outcome.
pub fn transport(e: UpstreamError) -> Outcome {
    match e {
        UpstreamError::NotSent(d) | UpstreamError::Build(d) | UpstreamError::NotSupported(d) => {
            Outcome::NotSent { detail: d }
        }
        // An answer we could not read, or anything after the write: the payment may exist.
        UpstreamError::SentUnknown(d) | UpstreamError::BadResponse(d) => {
            Outcome::SentUnknown { detail: d }
        }
        UpstreamError::Status { status, body } => Outcome::Error5xx {
            http_status: status,
            not_processed: not_processed(status),
            detail: body,
        },
    }
}

/// The first step of a two-step initiation (create an order, then pay it). No payment
/// can exist at the gateway before the second call is sent, so every failure of the
/// first is safe to fail over: transport errors are `NotSent`, 5xx and an answer
/// without the id are `Error5xx { not_processed: true }`. A 4xx is classified as usual.
/// `Ok` carries the id found under `id_field` of the 2xx body.
pub fn order_step(
    result: Result<crate::connectors::upstream::Response, UpstreamError>,
    id_field: &str,
    decline: impl Fn(&Value) -> DeclineInfo,
) -> Result<String, Outcome> {
    let r = result.map_err(|e| Outcome::NotSent {
        detail: format!("order step (no payment created): {e}"),
    })?;
    if (200..300).contains(&r.status) {
        return serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.get(id_field).and_then(id_str))
            .ok_or_else(|| Outcome::Error5xx {
                http_status: r.status,
                not_processed: true,
                detail: format!(
                    "order step answered without {id_field} (no payment created): {}",
                    body_detail(&r.body)
                ),
            });
    }
    if r.status >= 500 {
        return Err(Outcome::Error5xx {
            http_status: r.status,
            not_processed: true,
            detail: format!("order step (no payment created): {}", body_detail(&r.body)),
        });
    }
    Err(http_error(r.status, &r.body, decline))
}

/// The body as text for logs: cut to a bounded length on a char boundary, and
/// scrubbed of VPAs, emails and phone numbers (`model::scrub`).
pub fn body_detail(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = crate::model::scrub(&s);
    if s.len() <= DETAIL_MAX {
        return s.into_owned();
    }
    let mut end = DETAIL_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// What a dialect extracted from a 4xx body.
pub struct DeclineInfo {
    pub code: String,
    pub reason: Reason,
    pub message: String,
}

/// The one send → classify step of an initiation: a transport failure is classified
/// by [`transport`], a 2xx goes to `created`, any other status to [`http_error`].
///
/// A `Created` without the gateway's payment id becomes `SentUnknown` (DESIGN.md
/// section 4): for a gateway that names the payment by an id of its own, an answer
/// without that id proves neither that the payment exists there nor that it does
/// not; the watchdog resolves it.
pub fn outcome(
    result: Result<crate::connectors::upstream::Response, UpstreamError>,
    created: impl FnOnce(&[u8]) -> Outcome,
    decline: impl FnOnce(&Value) -> DeclineInfo,
) -> Outcome {
    match result {
        Ok(r) if (200..300).contains(&r.status) => match created(&r.body) {
            Outcome::Created(c) if c.gateway_payment_id.is_none() => Outcome::SentUnknown {
                detail: format!(
                    "HTTP {} without the gateway's payment id: {}",
                    r.status,
                    body_detail(&r.body)
                ),
            },
            // A dialect's own decline or detail read from a 2xx is logged too.
            o => scrubbed(o),
        },
        other => outcome_on_reference(other, created, decline),
    }
}

/// [`outcome`] for a gateway that identifies the payment by *our* reference: its
/// status API and its callbacks are keyed by the id we sent (Paytm's `ORDERID` is
/// our payment id) and its own transaction id is assigned later. There the proof
/// that the payment exists is the answer's documented success (Paytm:
/// `resultInfo.resultStatus == "S"`), not an id of the gateway's, so a `Created`
/// from `created` stands with `gateway_payment_id: None`: the status query needs
/// only our reference, and the gateway's id arrives with the callback or the status
/// answer (the ledger fills it in then). `created` must itself answer `SentUnknown`
/// for a 2xx that is not the documented success (an unreadable body, no status
/// word): that stays ambiguous, as in [`outcome`].
pub fn outcome_on_reference(
    result: Result<crate::connectors::upstream::Response, UpstreamError>,
    created: impl FnOnce(&[u8]) -> Outcome,
    decline: impl FnOnce(&Value) -> DeclineInfo,
) -> Outcome {
    match result {
        Err(e) => transport(e),
        Ok(r) if (200..300).contains(&r.status) => created(&r.body),
        Ok(r) => http_error(r.status, &r.body, decline),
    }
}

/// `o` with its gateway text (decline message, detail) scrubbed of VPAs, phone
/// numbers and emails (`model::scrub`): it is logged.
pub fn scrubbed(o: Outcome) -> Outcome {
    let s = |t: String| match crate::model::scrub(&t) {
        std::borrow::Cow::Borrowed(_) => t,
        std::borrow::Cow::Owned(clean) => clean,
    };
    match o {
        Outcome::Declined {
            code,
            reason,
            message,
        } => Outcome::Declined {
            code,
            reason,
            message: s(message),
        },
        Outcome::NotSent { detail } => Outcome::NotSent { detail: s(detail) },
        Outcome::SentUnknown { detail } => Outcome::SentUnknown { detail: s(detail) },
        Outcome::Error5xx {
            http_status,
            not_processed,
            detail,
        } => Outcome::Error5xx {
            http_status,
            not_processed,
            detail: s(detail),
        },
        created @ Outcome::Created(_) => created,
    }
}

/// Classifies a non-2xx answer.
///
/// - 429 and 503 document that nothing was processed: `Error5xx { not_processed: true }`.
/// - 401/403: our credentials were refused, so nothing was created. That is a gateway
///   (configuration) failure, not the customer's decline: `Error5xx { not_processed: true }`
///   with the real HTTP status, so it counts against the gateway's health and may fail over.
/// - Other 4xx: a business or validation decline, in the dialect's error shape.
/// - Other 5xx: `Error5xx { not_processed: false }` (the payment may exist).
/// - Anything else (1xx/3xx): ambiguous, `SentUnknown`.
pub fn http_error(
    status: u16,
    body: &[u8],
    decline: impl FnOnce(&Value) -> DeclineInfo,
) -> Outcome {
    if not_processed(status) || status == 401 || status == 403 {
        return Outcome::Error5xx {
            http_status: status,
            not_processed: true,
            detail: body_detail(body),
        };
    }
    if (400..500).contains(&status) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let d = decline(&v);
        return Outcome::Declined {
            code: d.code,
            reason: d.reason,
            // Gateways echo the payer's VPA or phone in decline messages.
            message: crate::model::scrub(&d.message).into_owned(),
        };
    }
    if (500..600).contains(&status) {
        return Outcome::Error5xx {
            http_status: status,
            not_processed: false,
            detail: body_detail(body),
        };
    }
    Outcome::SentUnknown {
        detail: format!("unexpected HTTP {status}: {}", body_detail(body)),
    }
}

/// A JSON string or number as a string (gateways send ids both ways).
pub fn id_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-empty JSON string.
pub fn str_of(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

/// Maps the gateways' common failure-reason words (Razorpay `error.reason`, Cashfree
/// `error_details.error_reason`, the generic dialect) to a [`Reason`].
pub fn reason_from_word(w: &str) -> Option<Reason> {
    Some(match w.to_ascii_lowercase().as_str() {
        "insufficient_funds" | "insufficient_balance" => Reason::InsufficientFunds,
        "incorrect_pin" | "invalid_pin" | "incorrect_mpin" => Reason::IncorrectPin,
        "pin_tries_exceeded" => Reason::PinTriesExceeded,
        "limit_exceeded" | "transaction_limit_exceeded" | "amount_limit_exceeded" => {
            Reason::LimitExceeded
        }
        "declined_by_customer" | "user_declined" | "payment_declined_by_customer" => {
            Reason::DeclinedByCustomer
        }
        "user_dropped" | "customer_dropped" | "payment_cancelled" | "payment_cancelled_by_user" => {
            Reason::CustomerDropped
        }
        "expired" | "payment_collect_request_expired" | "payment_timed_out" | "payment_expired" => {
            Reason::Expired
        }
        "account_blocked" | "account_frozen" => Reason::AccountBlocked,
        "invalid_vpa" | "vpa_invalid" | "upi_id_invalid" | "invalid_upi_id" => Reason::InvalidVpa,
        "risk_declined" | "payment_risk_check_failed" | "suspected_fraud" => Reason::RiskDeclined,
        "tpv_failed" => Reason::TpvFailed,
        "issuer_unavailable" | "bank_technical_error" | "issuer_down" => Reason::IssuerUnavailable,
        "beneficiary_unavailable" | "beneficiary_bank_down" => Reason::BeneficiaryUnavailable,
        "network_timeout" | "timeout" => Reason::NetworkTimeout,
        "gateway_error" | "gateway_technical_error" | "server_error" => Reason::GatewayError,
        // A generic issuer/bank decline has no finer word in DESIGN.md's vocabulary.
        "payment_failed" | "payment_declined" | "declined" | "other" => Reason::Other,
        _ => return None,
    })
}
