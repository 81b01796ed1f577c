//! Orphans that never link: a verified callback for a payment this ledger does not
//! know (a payment made outside switchyard, a lost intent, another system's
//! traffic) is exactly reconciliation's "money received, order not found". After
//! the grace (`callbacks.orphan_grace`) an orphan still unlinked is forwarded as its
//! own event: `flags.orphan`, `order_action = hold`, event id derived from the
//! callback's (`orphan:<event id>`), so it is queued once. If the payment appears
//! later, linking applies the callback as usual and emits the linked event (with
//! the callback's own event id) beside it.
//!
//! Which orphans were forwarded is kept in `callback_events.result`
//! (`orphan` → `orphan_forwarded`): no schema change.

use rusqlite::{Connection, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::callbacks::forward;
use super::{LedgerError, from_millis, millis};
use crate::model::{Flags, Incoming, OrderAction, PaymentEvent, PaymentStatus, event_id};

/// One unlinked orphan as `GET /admin/orphans` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanView {
    pub event_id: String,
    pub gateway: String,
    pub payment_ref: Option<String>,
    pub merchant_order_id: Option<String>,
    pub gateway_payment_id: Option<String>,
    pub status: Option<String>,
    pub amount: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// Whether it was forwarded to reconciliation (after the grace).
    pub forwarded: bool,
}

/// Unlinked orphans, oldest first, after `after` (received_at millis, event id).
pub fn list(conn: &Connection, limit: usize) -> Result<Vec<OrphanView>, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.event_id, o.gateway, o.payment_ref, o.merchant_order_id,
                o.gateway_payment_id, o.incoming, o.received_at,
                COALESCE(ce.result, 'orphan') = 'orphan_forwarded'
         FROM orphans o LEFT JOIN callback_events ce ON ce.event_id = o.event_id
         WHERE o.linked_at IS NULL
         ORDER BY o.received_at, o.event_id LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, bool>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (event_id, gateway, payment_ref, merchant_order_id, gpid, json, at, fwd) = row?;
        let inc: Option<Incoming> = serde_json::from_str(&json).ok();
        out.push(OrphanView {
            event_id,
            gateway,
            payment_ref,
            merchant_order_id,
            gateway_payment_id: gpid,
            status: inc
                .as_ref()
                .and_then(|i| i.status)
                .map(|s| s.as_str().to_string()),
            amount: inc.as_ref().and_then(|i| i.amount),
            received_at: from_millis(at)?,
            forwarded: fwd,
        });
    }
    Ok(out)
}

/// Forwards every orphan received at or before `older_than`, still unlinked and not
/// forwarded yet (at most `limit`). Returns the queued events.
pub fn forward_due(
    conn: &Connection,
    older_than: OffsetDateTime,
    now: OffsetDateTime,
    limit: usize,
) -> Result<Vec<PaymentEvent>, LedgerError> {
    let due: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT o.event_id, o.incoming FROM orphans o
             JOIN callback_events ce ON ce.event_id = o.event_id
             WHERE o.linked_at IS NULL AND ce.result = 'orphan' AND o.received_at <= ?1
             ORDER BY o.received_at, o.event_id LIMIT ?2",
        )?
        .query_map(
            params![millis(older_than), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(due.len());
    for (id, json) in due {
        let inc: Incoming = serde_json::from_str(&json)
            .map_err(|e| LedgerError::Corrupt(format!("orphan {id}: {e}")))?;
        let event = orphan_event(&inc, now);
        forward(conn, &event)?;
        conn.prepare_cached(
            "UPDATE callback_events SET result = 'orphan_forwarded' WHERE event_id = ?1",
        )?
        .execute([&id])?;
        out.push(event);
    }
    Ok(out)
}

/// The event for an unlinked orphan: what the gateway said, flagged, on hold.
fn orphan_event(inc: &Incoming, now: OffsetDateTime) -> PaymentEvent {
    let flags = Flags {
        orphan: true,
        tpv_failed: inc.tpv_failed,
        ..Flags::default()
    };
    let reference = inc
        .payment_ref
        .clone()
        .or_else(|| inc.merchant_order_id.clone())
        .or_else(|| inc.gateway_payment_id.clone())
        .unwrap_or_else(|| format!("orphan_{}", inc.event_id));
    PaymentEvent {
        event_id: event_id(&inc.gateway, &format!("orphan:{}", inc.event_id)),
        kind: inc.kind.clone(),
        source: inc.source.clone(),
        payment_id: reference.clone(),
        order_id: inc.merchant_order_id.clone().unwrap_or_default(),
        merchant_txn_id: inc.payment_ref.clone().unwrap_or(reference),
        gateway: inc.gateway.clone(),
        gateway_payment_id: inc.gateway_payment_id.clone(),
        utr: inc.utr.clone(),
        rrn: inc.rrn.clone(),
        status: inc.status.unwrap_or(PaymentStatus::Unknown),
        previous_status: None,
        reason: inc.reason,
        raw_status: inc.raw_status.clone(),
        raw_code: inc.raw_code.clone(),
        amount: inc.amount.unwrap_or(0),
        currency: inc.currency.clone().unwrap_or_else(|| "INR".into()),
        occurred_at: inc.occurred_at.unwrap_or(inc.received_at),
        received_at: now,
        payer_vpa_masked: inc.payer_vpa_masked.clone(),
        flags,
        stale: false,
        refund: inc.refund.clone(),
        // Nobody's order: reconciliation decides.
        order_action: OrderAction::Hold,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ledger::callbacks::{ApplyResult, apply};
    use crate::ledger::{Intent, Ledger, LedgerOptions};
    use crate::model::{Currency, Method, Paise};

    fn orphan(id: &str, pref: &str, at: OffsetDateTime) -> Incoming {
        Incoming {
            event_id: id.into(),
            gateway: "g".into(),
            source: "callback".into(),
            kind: "payment".into(),
            payment_ref: Some(pref.into()),
            merchant_order_id: None,
            gateway_payment_id: Some(format!("gp_{pref}")),
            utr: Some("412345678901".into()),
            rrn: None,
            status: Some(PaymentStatus::Succeeded),
            reason: None,
            raw_status: "captured".into(),
            raw_code: None,
            amount: Some(49_900),
            currency: Some("INR".into()),
            occurred_at: None,
            received_at: at,
            payer_vpa_masked: None,
            tpv_failed: false,
            refund: None,
        }
    }

    #[tokio::test]
    async fn unlinked_orphans_are_forwarded_once_after_the_grace_and_linking_still_emits() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("o.db"), LedgerOptions::default()).unwrap();
        let now = OffsetDateTime::now_utc();
        let old = now - Duration::from_secs(300);
        let r = ledger
            .write(move |c| {
                let a = apply(c, &orphan("e_old", "pay_x", old), false)?;
                let b = apply(c, &orphan("e_new", "pay_y", now), false)?;
                Ok((a.result, b.result))
            })
            .await
            .unwrap();
        assert_eq!(r, (ApplyResult::Orphan, ApplyResult::Orphan));
        let grace = now - Duration::from_secs(120);
        let sent = ledger
            .write(move |c| forward_due(c, grace, now, 100))
            .await
            .unwrap();
        assert_eq!(sent.len(), 1, "only the orphan older than the grace");
        let e = &sent[0];
        assert!(e.flags.orphan);
        assert_eq!(e.order_action, OrderAction::Hold);
        assert_eq!((e.payment_id.as_str(), e.amount), ("pay_x", 49_900));
        // Once.
        let again = ledger
            .write(move |c| forward_due(c, grace, now, 100))
            .await
            .unwrap();
        assert!(again.is_empty());
        let listed = ledger.query(|c| list(c, 10)).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].forwarded && !listed[1].forwarded);
        // The payment appears after all: the linked event is emitted too.
        let n = ledger
            .begin(Intent {
                payment_id: "pay_x".into(),
                order_id: "o".into(),
                idempotency_key: "k".into(),
                request_hash: "h".into(),
                amount: Paise(49_900),
                currency: Currency::Inr,
                method: Method::UpiIntent,
                route: "r".into(),
                gateway: "g".into(),
                created_at: now,
                ttl_deadline: now,
            })
            .await;
        assert!(n.is_ok());
        let p = ledger.payment("pay_x").await.unwrap().unwrap();
        assert_eq!(p.status, PaymentStatus::Succeeded);
        let ids: Vec<String> = ledger
            .query(|c| {
                let mut s = c.prepare("SELECT event_id FROM outbox WHERE payment_id = 'pay_x'")?;
                let v = s
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(v)
            })
            .await
            .unwrap();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(&"e_old".to_string()));
        let listed = ledger.query(|c| list(c, 10)).await.unwrap();
        assert_eq!(listed.len(), 1, "the linked orphan left the list");
    }
}
