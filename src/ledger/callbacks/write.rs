//! What an applied event writes: the payment row's update, the forwarded event and
//! its outbox row, the dedupe record, and a duplicate payment's one event.

use rusqlite::{Connection, params};

use super::{Applied, ApplyResult, PaymentRow};
use crate::ledger::ops::append_event;
use crate::ledger::{LedgerError, millis, money, outbox};
use crate::model::{Flags, Incoming, OrderAction, PaymentEvent, PaymentStatus};

/// A success for another gateway payment than the one that paid: forwarded once per
/// gateway payment, flagged `duplicate_payment` + `refund_required`, state kept.
pub(super) fn duplicate_payment(
    conn: &Connection,
    inc: &Incoming,
    p: &PaymentRow,
    gateway_payment_id: &str,
    orphan: bool,
) -> Result<Applied, LedgerError> {
    if !money::record_duplicate(conn, inc, p, gateway_payment_id)? {
        record(conn, inc, Some(&p.payment_id), ApplyResult::Unchanged)?;
        return Ok(Applied {
            method: p.method,
            ..Applied::bare(ApplyResult::Unchanged)
        });
    }
    let flags = Flags {
        orphan,
        duplicate_payment: true,
        refund_required: true,
        tpv_failed: inc.tpv_failed,
        amount_mismatch: money::amount_differs(inc, p),
        ..Flags::default()
    };
    let event = event_for(
        inc,
        p,
        p.status,
        flags,
        Some(gateway_payment_id.to_string()),
        inc.refund.clone(),
    );
    forward(conn, &event)?;
    record(
        conn,
        inc,
        Some(&p.payment_id),
        ApplyResult::DuplicatePayment,
    )?;
    Ok(Applied {
        result: ApplyResult::DuplicatePayment,
        event: Some(event),
        method: p.method,
    })
}

/// The forwarded event for `inc` against `p`, the payment ending in `status`.
pub(super) fn event_for(
    inc: &Incoming,
    p: &PaymentRow,
    status: PaymentStatus,
    flags: Flags,
    incoming_gpid: Option<String>,
    refund_info: Option<crate::model::RefundInfo>,
) -> PaymentEvent {
    let is_payment = inc.kind == "payment";
    let gateway_payment_id = if flags.duplicate_payment {
        incoming_gpid
    } else {
        p.gateway_payment_id.clone().or(incoming_gpid)
    };
    PaymentEvent {
        event_id: inc.event_id.clone(),
        kind: inc.kind.clone(),
        source: inc.source.clone(),
        payment_id: p.payment_id.clone(),
        order_id: p.order_id.clone(),
        merchant_txn_id: p.merchant_txn_id.clone(),
        gateway: p.gateway.clone(),
        gateway_payment_id,
        utr: if is_payment { inc.utr.clone() } else { None }.or_else(|| p.utr.clone()),
        rrn: if is_payment { inc.rrn.clone() } else { None }.or_else(|| p.rrn.clone()),
        status,
        previous_status: Some(p.status),
        reason: inc.reason,
        raw_status: inc.raw_status.clone(),
        raw_code: inc.raw_code.clone(),
        amount: inc.amount.unwrap_or(p.amount),
        currency: inc.currency.clone().unwrap_or_else(|| p.currency.clone()),
        occurred_at: inc.occurred_at.unwrap_or(inc.received_at),
        received_at: inc.received_at,
        payer_vpa_masked: inc.payer_vpa_masked.clone(),
        flags,
        stale: false,
        refund: refund_info,
        order_action: OrderAction::decide(status, flags, false),
    }
}

pub(super) fn update_payment(
    conn: &Connection,
    inc: &Incoming,
    p: &PaymentRow,
    status: PaymentStatus,
) -> Result<(), LedgerError> {
    let failed = matches!(status, PaymentStatus::Failed | PaymentStatus::Expired);
    let is_payment = inc.kind == "payment";
    conn.prepare_cached(
        "UPDATE payments SET status = ?2,
             reason = CASE WHEN ?3 THEN ?4 ELSE NULL END,
             raw_status = ?5,
             gateway_payment_id = COALESCE(gateway_payment_id, ?6),
             utr = COALESCE(?7, utr),
             rrn = COALESCE(?8, rrn),
             updated_at = ?9
         WHERE payment_id = ?1",
    )?
    .execute(params![
        p.payment_id,
        status.as_str(),
        failed,
        inc.reason.map(|r| r.as_str()),
        inc.raw_status,
        inc.gateway_payment_id,
        if is_payment { inc.utr.as_deref() } else { None },
        if is_payment { inc.rrn.as_deref() } else { None },
        millis(inc.received_at),
    ])?;
    Ok(())
}

/// The payment's event row and the outbox row, in the caller's transaction.
pub(crate) fn forward(conn: &Connection, event: &PaymentEvent) -> Result<(), LedgerError> {
    let body = serde_json::to_value(event).map_err(|e| LedgerError::Internal(e.to_string()))?;
    append_event(
        conn,
        &event.payment_id,
        &event.source,
        Some(event.status),
        &body,
        event.received_at,
    )?;
    outbox::enqueue(
        conn,
        &event.event_id,
        &event.payment_id,
        &body.to_string(),
        millis(event.received_at),
    )?;
    Ok(())
}

pub(super) fn record(
    conn: &Connection,
    inc: &Incoming,
    payment_id: Option<&str>,
    result: ApplyResult,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO callback_events (event_id, gateway, payment_id, source, result, status,
             raw_status, raw_code, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (event_id) DO UPDATE SET payment_id = excluded.payment_id,
             result = excluded.result",
    )?
    .execute(params![
        inc.event_id,
        inc.gateway,
        payment_id,
        inc.source,
        result.as_str(),
        inc.status.map(|s| s.as_str()),
        inc.raw_status,
        inc.raw_code,
        millis(inc.received_at),
    ])?;
    Ok(())
}
