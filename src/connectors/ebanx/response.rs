//! Reading EBANX's answers: `{"status":"SUCCESS","payment":{...}}` or
//! `{"status":"ERROR","status_code","status_message"}` — errors come with HTTP 200
//! (docs.ebanx.com `resources/error-codes/api-error-codes`), so the body decides.

use serde_json::Value;

use crate::connectors::amount;
use crate::connectors::classify::{self, id_str, str_of};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{CallbackData, Created, Outcome, RefundStatus, StatusReport};
use crate::model::{NextAction, Paise, PaymentStatus, Reason};

/// How an EBANX `status_code` is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Our credentials were refused: nothing was created, a gateway (config) failure.
    Auth,
    /// The payment already exists under this `merchant_payment_code` (a retry of one
    /// that was created): it may be live, never failed over.
    Exists,
    /// The payment is not known (status query).
    NotFound,
    /// A validation or business decline.
    Decline(Reason),
}

/// EBANX API error codes (docs.ebanx.com api-error-codes) → class. Prefix match:
/// `BP-SA-*` (integration key), `DA-*` (authentication) are credentials.
pub const ERRORS: &[(&str, ErrorClass)] = &[
    ("BP-DR-0", ErrorClass::Exists),
    ("BP-DR-6", ErrorClass::Decline(Reason::Other)),
    ("BP-DR-7", ErrorClass::Decline(Reason::LimitExceeded)),
    ("BP-SA-", ErrorClass::Auth),
    ("DA-", ErrorClass::Auth),
    ("BP-QUE-", ErrorClass::NotFound),
];

pub fn error_class(code: &str, message: &str) -> ErrorClass {
    if let Some((_, c)) = ERRORS.iter().find(|(k, _)| {
        if k.ends_with('-') {
            code.starts_with(k)
        } else {
            code == *k
        }
    }) {
        return *c;
    }
    if message.to_ascii_lowercase().contains("not found") {
        return ErrorClass::NotFound;
    }
    ErrorClass::Decline(Reason::Other)
}

/// Payment `status` → ours (GATEWAYS.md section 4): `OP` open, `PE` pending, `CO`
/// confirmed, `CA` cancelled (nothing paid: a failure).
pub fn payment_status(s: &str) -> PaymentStatus {
    match s {
        "OP" => PaymentStatus::Initiated,
        "PE" => PaymentStatus::Pending,
        "CO" => PaymentStatus::Succeeded,
        "CA" => PaymentStatus::Failed,
        _ => PaymentStatus::Unknown,
    }
}

/// Refund `status` → the refund's own state.
pub fn refund_status(s: &str) -> RefundStatus {
    match s {
        "CO" => RefundStatus::Succeeded,
        "CA" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    }
}

/// A queried payment with its amounts read from the raw text (the strict parser,
/// never through `f64`).
#[derive(Debug)]
pub(super) struct Queried {
    pub payment: Value,
    /// `payment.amount_total`.
    pub amount: Option<Paise>,
    /// Each refund's `amount_ext` (merchant currency), else its `amount`, in the
    /// order of `payment.refunds`.
    pub refund_amounts: Vec<Option<Paise>>,
}

/// The error object of an answer, when it is one.
fn error_of(v: &Value) -> Option<(String, String)> {
    (v.get("status").and_then(Value::as_str) == Some("ERROR")).then(|| {
        (
            v.get("status_code").and_then(id_str).unwrap_or_default(),
            v.get("status_message")
                .and_then(str_of)
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// A 2xx answer to `/ws/direct` or `/ws/request`.
pub(super) fn created(body: &[u8], is_page: bool) -> Outcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::SentUnknown {
                detail: format!("2xx with unreadable body: {e}"),
            };
        }
    };
    if let Some((code, message)) = error_of(&v) {
        return match error_class(&code, &message) {
            ErrorClass::Auth => Outcome::Error5xx {
                http_status: 401,
                not_processed: true,
                detail: format!("{code}: {message}"),
            },
            ErrorClass::Exists | ErrorClass::NotFound => Outcome::SentUnknown {
                detail: format!("{code}: {message}"),
            },
            ErrorClass::Decline(reason) => Outcome::Declined {
                code,
                reason,
                message,
            },
        };
    }
    let p = v.get("payment").unwrap_or(&Value::Null);
    let Some(hash) = p.get("hash").and_then(id_str) else {
        return Outcome::SentUnknown {
            detail: format!("2xx without payment.hash: {}", classify::body_detail(body)),
        };
    };
    let raw = p.get("status").and_then(str_of).unwrap_or("PE").to_string();
    let redirect = v
        .get("redirect_url")
        .or_else(|| p.get("redirect_url"))
        .and_then(str_of);
    let next_action = match (is_page, p.get("qr_code_value").and_then(str_of), redirect) {
        (false, Some(q), _) => NextAction::UpiQr {
            qr_payload: q.into(),
        },
        (_, _, Some(u)) if u.starts_with("upi:") => NextAction::UpiIntent { uri: u.into() },
        (_, _, Some(u)) => NextAction::Redirect { url: u.into() },
        _ => NextAction::AwaitCustomer,
    };
    let status = match payment_status(&raw) {
        PaymentStatus::Unknown => PaymentStatus::Pending,
        s => s,
    };
    Outcome::Created(Created {
        gateway_payment_id: Some(hash),
        status,
        next_action,
        raw_status: raw,
    })
}

/// The `payment` object of a `/ws/query` answer; the documented "no such payment"
/// (an ERROR whose code or message says not found) is [`UpstreamError::not_found`].
pub(super) fn query_payment(status: u16, body: &[u8]) -> Result<Queried, UpstreamError> {
    if !(200..300).contains(&status) {
        return Err(UpstreamError::Status {
            status,
            body: classify::body_detail(body),
        });
    }
    let mut v: Value =
        serde_json::from_slice(body).map_err(|e| UpstreamError::BadResponse(e.to_string()))?;
    if let Some((code, message)) = error_of(&v) {
        return Err(match error_class(&code, &message) {
            ErrorClass::NotFound => UpstreamError::not_found(format!("ebanx {code}: {message}")),
            ErrorClass::Auth => UpstreamError::Status {
                status: 401,
                body: format!("{code}: {message}"),
            },
            _ => UpstreamError::BadResponse(format!("{code}: {message}")),
        });
    }
    let payment = match v.get_mut("payment").map(Value::take) {
        Some(p) if p.is_object() => p,
        _ => {
            return Err(UpstreamError::BadResponse(format!(
                "query answer without payment: {}",
                classify::body_detail(body)
            )));
        }
    };
    let t = amount::text(body);
    let bad = |e: amount::AmountError| UpstreamError::BadResponse(e.to_string());
    let amount = amount::rupees_at(t, &["payment", "amount_total"]).map_err(bad)?;
    let refunds = payment
        .get("refunds")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let refund_amounts = (0..refunds)
        .map(|i| {
            let i = i.to_string();
            match amount::rupees_at(t, &["payment", "refunds", &i, "amount_ext"]).map_err(bad)? {
                Some(a) => Ok(Some(a)),
                None => amount::rupees_at(t, &["payment", "refunds", &i, "amount"]).map_err(bad),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Queried {
        payment,
        amount,
        refund_amounts,
    })
}

pub(super) fn report(q: &Queried) -> StatusReport {
    let p = &q.payment;
    let raw = p.get("status").and_then(str_of).unwrap_or("").to_string();
    let status = payment_status(&raw);
    StatusReport {
        tpv_failed: false,
        status,
        reason: (status == PaymentStatus::Failed).then_some(Reason::Other),
        gateway_payment_id: p.get("hash").and_then(id_str),
        utr: None,
        rrn: None,
        raw_status: raw,
        raw_code: None,
        amount: q.amount,
    }
}

/// The payment's part of every event a queried payment stands for.
pub(super) fn base_event(q: &Queried) -> CallbackData {
    let p = &q.payment;
    let mpc = p.get("merchant_payment_code").and_then(id_str);
    CallbackData {
        payment_id: mpc.clone(),
        merchant_order_id: mpc,
        gateway_payment_id: p.get("hash").and_then(id_str),
        currency: p.get("currency_code").and_then(id_str),
        occurred_at: p
            .get("status_date")
            .and_then(Value::as_str)
            .and_then(parse_ebanx_time),
        ..Default::default()
    }
}

/// Every event a notification stands for: for `refund`, one per refund of the
/// payment (each refund's state is its own event); otherwise the payment's state.
pub(super) fn events(q: &Queried, notification_type: &str) -> Vec<CallbackData> {
    let n = q.refund_amounts.len();
    if notification_type == "refund" && n > 0 {
        return (0..n)
            .filter_map(|i| super::refund::refund_event(q, i))
            .collect();
    }
    vec![event(q, notification_type)]
}

/// The event a notification stands for, from the queried payment: the payment's
/// state (`update`), or its latest refund (`refund`).
pub(super) fn event(q: &Queried, notification_type: &str) -> CallbackData {
    let rep = report(q);
    let hash = rep.gateway_payment_id.clone().unwrap_or_default();
    let mut out = base_event(q);
    let last = q.refund_amounts.len().checked_sub(1);
    if let (true, Some(i)) = (notification_type == "refund", last)
        && let Some(e) = super::refund::refund_event(q, i)
    {
        return e;
    }
    if rep.status == PaymentStatus::Unknown {
        // Chargebacks and unknown states: acknowledged, ignored.
        out.gateway_event_id = format!("{notification_type}:{hash}:{}", rep.raw_status);
        out.raw_status = rep.raw_status;
        return out;
    }
    out.gateway_event_id = format!("payment:{hash}:{}", rep.raw_status);
    out.kind = Some("payment");
    out.status = Some(rep.status);
    out.reason = rep.reason;
    out.amount = rep.amount;
    out.raw_status = rep.raw_status;
    out
}

/// EBANX dates are `YYYY-MM-DD HH:MM:SS` in UTC (or RFC 3339).
pub fn parse_ebanx_time(s: &str) -> Option<time::OffsetDateTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(s, fmt)
        .ok()
        .map(|t| t.assume_utc())
        .or_else(|| crate::connectors::time_fmt::parse_rfc3339_utc(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_table() {
        assert_eq!(error_class("BP-DR-0", ""), ErrorClass::Exists);
        assert_eq!(
            error_class("BP-SA-1", "Parameter integration_key not found"),
            ErrorClass::Auth
        );
        assert_eq!(error_class("DA-1", ""), ErrorClass::Auth);
        assert_eq!(
            error_class("BP-DR-5", "Field payment.amount_total is required"),
            ErrorClass::Decline(Reason::Other)
        );
        assert_eq!(error_class("X", "Payment not found"), ErrorClass::NotFound);
    }

    #[test]
    fn created_and_errors() {
        let ok = br#"{"payment":{"hash":"5d3a3","merchant_payment_code":"pay_1","status":"PE","amount_total":299.00,"currency_code":"INR","redirect_url":"upi://pay?pa=x@y&am=299.00"},"status":"SUCCESS"}"#;
        let Outcome::Created(c) = created(ok, false) else {
            panic!()
        };
        assert_eq!(c.gateway_payment_id.as_deref(), Some("5d3a3"));
        assert_eq!(c.status, PaymentStatus::Pending);
        assert!(matches!(c.next_action, NextAction::UpiIntent { .. }));
        // The docs' error object, sent with HTTP 200.
        let auth = br#"{"status":"ERROR","status_code":"BP-SA-1","status_message":"Parameter integration_key not found"}"#;
        assert!(matches!(
            created(auth, false),
            Outcome::Error5xx {
                not_processed: true,
                ..
            }
        ));
        let dup = br#"{"status":"ERROR","status_code":"BP-DR-0","status_message":"Payment already exists"}"#;
        assert!(matches!(created(dup, false), Outcome::SentUnknown { .. }));
        let bad = br#"{"status":"ERROR","status_code":"BP-DR-5","status_message":"Field payment.amount_total is required"}"#;
        assert!(matches!(created(bad, false), Outcome::Declined { .. }));
    }

    #[test]
    fn query_and_events() {
        let nf =
            br#"{"status":"ERROR","status_code":"BP-QUE-1","status_message":"Payment not found"}"#;
        assert!(query_payment(200, nf).unwrap_err().is_not_found());
        let ok = br#"{"payment":{"hash":"h1","merchant_payment_code":"pay_1","status":"CO","amount_total":"1.50","currency_code":"INR","status_date":"2026-01-02 10:00:00","refunds":[{"id":"r1","status":"CO","amount_ext":"1.00"}]},"status":"SUCCESS"}"#;
        let p = query_payment(200, ok).unwrap();
        let cd = event(&p, "update");
        assert_eq!(
            (cd.status, cd.amount),
            (Some(PaymentStatus::Succeeded), Some(Paise(150)))
        );
        assert_eq!(cd.payment_id.as_deref(), Some("pay_1"));
        assert!(cd.occurred_at.is_some());
        let cd = event(&p, "refund");
        assert_eq!(
            (cd.kind, cd.refund_status, cd.amount),
            (
                Some("refund"),
                Some(RefundStatus::Succeeded),
                Some(Paise(100))
            )
        );
        assert_eq!(payment_status("CA"), PaymentStatus::Failed);
        assert_eq!(payment_status("OP"), PaymentStatus::Initiated);
    }
}
