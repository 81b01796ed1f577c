//! One refund call to the gateway that holds the money, and how its answer is
//! recorded: an accepted refund (pending, processed or failed at once) and a
//! refusal are refund events through the same precedence and outbox as webhooks;
//! a call that may have reached the gateway without an answer leaves the refund
//! `pending` for the refund pass's status checks, and a call that did not reach it
//! leaves it `pending`, marked unsent, for the pass to send again (until its last
//! check: then `failed` `not_sent`, with an alert). Nothing is ever sent to another
//! gateway.

use time::OffsetDateTime;

use super::{RefundError, Refunds};
use crate::alerts::{Alert, Severity};
use crate::connectors::{RefundOutcome, RefundReport, RefundRequest, RefundStatus};
use crate::ledger::callbacks::apply;
use crate::ledger::refunds::resolve::mark_unsent;
use crate::ledger::refunds::{NewRefund, Reserved, note_failure};
use crate::model::{Incoming, PaymentStatus, RefundInfo, event_id};

/// Where a refund is, for building its events.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub refund_id: &'a str,
    pub payment_id: &'a str,
    pub gateway: &'a str,
    pub gateway_payment_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
}

/// A refund's state as an ordinary incoming event (`source`: `refund_api` for the
/// answer to our call, `status_check` for the refund pass). Its identity is our
/// refund id and the state, so the same state twice is a duplicate.
pub fn incoming(
    s: &Subject<'_>,
    source: &str,
    status: RefundStatus,
    raw_status: &str,
    raw_code: Option<&str>,
    report: Option<&RefundReport>,
    now: OffsetDateTime,
) -> Incoming {
    let identity = format!("refund:{}:{}", s.refund_id, status.as_str());
    Incoming {
        event_id: event_id(s.gateway, &identity),
        gateway: s.gateway.to_string(),
        source: source.to_string(),
        kind: "refund".into(),
        payment_ref: Some(s.payment_id.to_string()),
        merchant_order_id: None,
        gateway_payment_id: Some(s.gateway_payment_id.to_string()),
        utr: None,
        rrn: None,
        status: (status == RefundStatus::Succeeded).then_some(PaymentStatus::Refunded),
        reason: None,
        raw_status: raw_status.to_string(),
        raw_code: raw_code.map(str::to_string),
        amount: Some(s.amount),
        currency: Some(s.currency.to_string()),
        occurred_at: None,
        received_at: now,
        payer_vpa_masked: None,
        tpv_failed: false,
        refund: Some(RefundInfo {
            refund_id: Some(s.refund_id.to_string()),
            refund_status: status.as_str().to_string(),
            amount: Some(s.amount),
            reference: report.and_then(|r| r.arn.clone()),
            gateway_refund_id: report.and_then(|r| r.gateway_refund_id.clone()),
            merchant_refund_id: Some(s.refund_id.to_string()),
        }),
    }
}

/// Records one outcome of a refund call. Returns whether the refund is still
/// unresolved (`Unknown`: left pending for the status checks; `NotSent` while
/// `retry`: left pending, marked unsent, for the refund pass to send again — no
/// money moved and nobody else will ask again, least of all for an automatic
/// refund).
pub async fn record(
    refunds: &Refunds,
    s: &Subject<'_>,
    outcome: &RefundOutcome,
    retry: bool,
) -> Result<bool, RefundError> {
    let now = OffsetDateTime::now_utc();
    refunds
        .metrics
        .refunds
        .with_label_values(&[s.gateway, outcome.label()])
        .inc();
    let (inc, failure) = match outcome {
        RefundOutcome::Accepted(rep) => (
            incoming(
                s,
                "refund_api",
                rep.status,
                &rep.raw_status,
                None,
                Some(rep),
                now,
            ),
            None,
        ),
        RefundOutcome::Declined { code, message } => {
            tracing::warn!(gateway = %s.gateway, refund_id = %s.refund_id, code = %code, message = %crate::model::scrub(message), "refund declined by the gateway");
            (
                incoming(
                    s,
                    "refund_api",
                    RefundStatus::Failed,
                    "declined",
                    Some(code),
                    None,
                    now,
                ),
                Some(code.clone()),
            )
        }
        RefundOutcome::NotSent { detail } if retry => {
            tracing::warn!(gateway = %s.gateway, refund_id = %s.refund_id, detail = %crate::model::scrub(detail), "refund not sent; the refund pass will send it again");
            mark(refunds, s, true).await?;
            return Ok(true);
        }
        RefundOutcome::NotSent { detail } => {
            tracing::error!(gateway = %s.gateway, refund_id = %s.refund_id, detail = %crate::model::scrub(detail), "refund not sent after the last try: failed, no money moved");
            refunds.alerts.send(Alert {
                kind: "refund_not_sent",
                severity: Severity::Critical,
                gateway: Some(s.gateway.to_string()),
                route: None,
                text: format!(
                    "refund {} of payment {} ({} paise) could not be sent to {} after every try; it failed and the amount is free again",
                    s.refund_id, s.payment_id, s.amount, s.gateway
                ),
                evidence: serde_json::json!({
                    "refund_id": s.refund_id,
                    "payment_id": s.payment_id,
                    "amount": s.amount,
                }),
                at: now,
            });
            (
                incoming(
                    s,
                    "refund_api",
                    RefundStatus::Failed,
                    "not_sent",
                    Some("not_sent"),
                    None,
                    now,
                ),
                Some("not_sent".to_string()),
            )
        }
        RefundOutcome::Unsupported => (
            incoming(
                s,
                "refund_api",
                RefundStatus::Failed,
                "not_supported",
                Some("not_supported"),
                None,
                now,
            ),
            Some("not_supported".to_string()),
        ),
        RefundOutcome::Unknown { detail } => {
            tracing::warn!(gateway = %s.gateway, refund_id = %s.refund_id, detail = %crate::model::scrub(detail), "refund outcome unknown; the refund pass will check");
            // This call may have arrived: the pass asks before it sends again.
            mark(refunds, s, false).await?;
            return Ok(true);
        }
    };
    let (pid, rid) = (s.payment_id.to_string(), s.refund_id.to_string());
    refunds
        .ledger
        .write(move |conn| {
            mark_unsent(conn, &pid, &rid, false)?;
            let applied = apply(conn, &inc, false)?;
            if let Some(code) = failure {
                note_failure(conn, &pid, &rid, &code)?;
            }
            Ok(applied)
        })
        .await?;
    Ok(false)
}

/// Sets or clears the unsent mark of a pending refund.
async fn mark(refunds: &Refunds, s: &Subject<'_>, unsent: bool) -> Result<(), RefundError> {
    let (pid, rid) = (s.payment_id.to_string(), s.refund_id.to_string());
    refunds
        .ledger
        .write(move |conn| mark_unsent(conn, &pid, &rid, unsent))
        .await?;
    Ok(())
}

/// Sends a freshly reserved refund and records the answer.
pub async fn send(
    refunds: &Refunds,
    new: &NewRefund,
    reserved: &Reserved,
) -> Result<(), RefundError> {
    let s = Subject {
        refund_id: &reserved.refund_id,
        payment_id: &new.payment_id,
        gateway: &reserved.gateway,
        gateway_payment_id: &reserved.gateway_payment_id,
        amount: reserved.amount,
        currency: &new.currency,
    };
    let outcome = call(refunds, &s, new.reason.as_deref()).await;
    let retry = refunds.config.load().refunds.max_checks > 0;
    record(refunds, &s, &outcome, retry).await.map(drop)
}

/// The gateway call itself (the payment's gateway; a gateway no longer configured
/// answers `NotSent`: nothing left switchyard).
pub async fn call(refunds: &Refunds, s: &Subject<'_>, reason: Option<&str>) -> RefundOutcome {
    let Some(connector) = refunds.connector(s.gateway) else {
        return RefundOutcome::NotSent {
            detail: format!("gateway {} is no longer configured", s.gateway),
        };
    };
    if s.amount <= 0 {
        return RefundOutcome::NotSent {
            detail: "refund amount is not positive".into(),
        };
    }
    let amount = crate::model::Paise::new(s.amount);
    connector
        .refund(RefundRequest {
            refund_id: s.refund_id,
            payment_id: s.payment_id,
            gateway_payment_id: s.gateway_payment_id,
            amount,
            currency: s.currency,
            reason,
        })
        .await
}
