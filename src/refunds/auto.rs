//! Automatic refunds for `refund_required` events, per reason, off by default
//! (`[refunds.auto]`). The reason is read from the event's flags:
//!
//! - `tpv_failed`: money from an account that is not the investor's registered one
//!   (UPI.md section 5): the payment's captured amount goes back.
//! - `duplicate_payment`: a second successful payment on the same order/gateway
//!   order. The event's `gateway_payment_id` (or `duplicate_gateway_payment_id`)
//!   names the duplicate; its amount goes back from that gateway payment, on the
//!   same gateway, and the first payment keeps its money.
//! - `late_success`: success after the payment was failed/expired and the order
//!   was closed.
//!
//! Each event is decided once (`auto_refunds`, keyed by event id; a crash mid-way
//! replays the same refund through its idempotency key `auto:<event id>`). Every
//! decision to refund, or to only report it (`dry_run`), writes an audit entry and
//! raises an alert.

use serde_json::Value;
use time::OffsetDateTime;

use super::{RefundError, Refunds};
use crate::alerts::{Alert, Severity};
use crate::config::RefundPolicy;
use crate::ledger::LedgerError;
use crate::ledger::audit::{self, AuditRow};
use crate::ledger::millis;
use crate::ledger::refunds::auto::{Flagged, advance, cursor, decide, flagged_after, seen};
use crate::ledger::refunds::{NewRefund, Target};

/// Outbox rows read per batch, and batches per pass (a pass catches up on at most
/// `BATCH * MAX_BATCHES` rows, so a large existing ledger is read over a few passes).
const BATCH: usize = 512;
const MAX_BATCHES: usize = 32;

/// The `refund_required` reason of an event, from its flags.
pub fn reason_of(event: &Value) -> &'static str {
    let flag = |k: &str| {
        event
            .pointer(&format!("/flags/{k}"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if flag("duplicate_payment") || flag("duplicate") {
        "duplicate_payment"
    } else if flag("tpv_failed") {
        "tpv_failed"
    } else if flag("late_success") {
        "late_success"
    } else {
        "other"
    }
}

/// One pass over the flagged events after the cursor. Returns how many were decided.
pub async fn run_once(refunds: &Refunds, policy: &RefundPolicy) -> Result<usize, LedgerError> {
    let _one = refunds.auto_lock.lock().await;
    let mut decided = 0;
    for _ in 0..MAX_BATCHES {
        let after = refunds.ledger.query(|c| cursor(c)).await?;
        let (flagged, last) = refunds
            .ledger
            .query(move |c| flagged_after(c, after, BATCH))
            .await?;
        for f in flagged {
            let id = f.event_id.clone();
            if refunds.ledger.query(move |c| seen(c, &id)).await? {
                continue;
            }
            decide_one(refunds, policy, &f).await?;
            decided += 1;
        }
        if last <= after {
            break;
        }
        refunds.ledger.write(move |c| advance(c, last)).await?;
    }
    Ok(decided)
}

fn str_at<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

async fn decide_one(
    refunds: &Refunds,
    policy: &RefundPolicy,
    f: &Flagged,
) -> Result<(), LedgerError> {
    let reason = reason_of(&f.body);
    let now = OffsetDateTime::now_utc();
    let gateway = str_at(&f.body, "gateway").unwrap_or("").to_string();
    let amount = f.body.get("amount").and_then(Value::as_i64);
    let currency = str_at(&f.body, "currency").unwrap_or("INR").to_string();
    if !policy.auto.enabled(reason) {
        let (e, p) = (f.event_id.clone(), f.payment_id.clone());
        refunds
            .ledger
            .write(move |c| decide(c, &e, &p, reason, "disabled", None, amount, now))
            .await?;
        return Ok(());
    }
    let target = if reason == "duplicate_payment" {
        match str_at(&f.body, "duplicate_gateway_payment_id")
            .or_else(|| str_at(&f.body, "gateway_payment_id"))
        {
            Some(g) => Target::Duplicate {
                gateway_payment_id: g.to_string(),
                amount: amount.unwrap_or(0),
            },
            None => Target::Primary,
        }
    } else {
        Target::Primary
    };
    let target_id = match &target {
        Target::Duplicate {
            gateway_payment_id, ..
        } => Some(gateway_payment_id.clone()),
        Target::Primary => None,
    };
    let dry = policy.auto.dry_run;
    let mut unsent = false;
    let (decision, refund_id, failure) = if dry {
        ("dry_run", None, None)
    } else {
        let new = NewRefund {
            refund_id: super::new_refund_id(),
            payment_id: f.payment_id.clone(),
            idempotency_key: Some(format!("auto:{}", f.event_id)),
            request_hash: f.event_id.clone(),
            amount,
            currency: currency.clone(),
            reason: Some(reason.to_string()),
            metadata: Some(serde_json::json!({ "event_id": f.event_id }).to_string()),
            origin: "auto",
            target,
            at: now,
        };
        let id = f.payment_id.clone();
        let supported = match refunds
            .ledger
            .query(move |c| crate::ledger::refunds::payment_brief(c, &id))
            .await?
        {
            Some((g, Some(m), _)) => refunds.check_supported(&g, m),
            Some((g, None, _)) => Err(RefundError::NotSupported {
                gateway: g,
                method: "unknown".into(),
            }),
            None => Err(RefundError::PaymentNotFound),
        };
        let sent = match supported {
            Ok(()) => refunds.reserve_and_send(new).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(c) => {
                unsent = c.refund.status == "pending"
                    && c.refund.failure_code.as_deref() == Some("not_sent");
                ("refunded", Some(c.refund.refund_id), None)
            }
            Err(RefundError::LedgerUnavailable) => {
                return Err(LedgerError::Internal("ledger unavailable".into()));
            }
            Err(e) => ("refused", None, Some(e.to_string())),
        }
    };
    let label = match decision {
        "refunded" => "auto_refunded",
        "dry_run" => "auto_dry_run",
        _ => "auto_refused",
    };
    refunds
        .metrics
        .refunds
        .with_label_values(&[&gateway, label])
        .inc();
    let evidence = serde_json::json!({
        "event_id": f.event_id,
        "payment_id": f.payment_id,
        "refund_id": refund_id,
        "amount": amount,
        "gateway_payment_id": target_id.clone().or_else(|| str_at(&f.body, "gateway_payment_id").map(str::to_string)),
        "dry_run": dry,
        "refused": failure,
        "not_sent_yet": unsent,
    });
    let row = AuditRow {
        at: millis(now),
        gateway: gateway.clone(),
        from_state: "refund_required".into(),
        to_state: format!("auto_refund_{decision}"),
        trigger: reason.to_string(),
        actor: "auto".into(),
        reason: Some(format!("payment {}", f.payment_id)),
        evidence: evidence.to_string(),
    };
    let (e, p, rid) = (f.event_id.clone(), f.payment_id.clone(), refund_id.clone());
    refunds
        .ledger
        .write(move |c| {
            audit::insert(c, &row)?;
            decide(c, &e, &p, reason, decision, rid.as_deref(), amount, now)
        })
        .await?;
    let text = match decision {
        "dry_run" => format!(
            "dry run: would refund {} paise of payment {} at {gateway} ({reason})",
            amount.unwrap_or(0),
            f.payment_id
        ),
        "refunded" if unsent => format!(
            "automatic refund of {} paise of payment {} could not reach {gateway} yet ({reason}); the refund pass sends it again",
            amount.unwrap_or(0),
            f.payment_id
        ),
        "refunded" => format!(
            "automatic refund of {} paise of payment {} sent to {gateway} ({reason})",
            amount.unwrap_or(0),
            f.payment_id
        ),
        _ => format!(
            "automatic refund of payment {} at {gateway} refused ({reason}): {}",
            f.payment_id,
            failure.as_deref().unwrap_or("")
        ),
    };
    tracing::warn!(payment_id = %f.payment_id, reason, decision, "automatic refund");
    refunds.alerts.send(Alert {
        kind: "auto_refund",
        severity: if decision == "refused" {
            Severity::Critical
        } else {
            Severity::Warning
        },
        gateway: Some(gateway),
        route: None,
        text,
        evidence,
        at: now,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::reason_of;
    use serde_json::json;

    #[test]
    fn the_reason_comes_from_the_flags() {
        let f = |flags: serde_json::Value| reason_of(&json!({ "flags": flags }));
        assert_eq!(f(json!({"tpv_failed": true})), "tpv_failed");
        assert_eq!(f(json!({"late_success": true})), "late_success");
        // A duplicate wins over what else it carries.
        assert_eq!(
            f(json!({"duplicate_payment": true, "late_success": true})),
            "duplicate_payment"
        );
        assert_eq!(f(json!({"refund_required": true})), "other");
    }
}
