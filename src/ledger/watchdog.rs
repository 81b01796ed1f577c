//! The watchdog's bookkeeping: which non-final payments are due a status check,
//! how many checks each has had, and the `stale` event when they run out.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::callbacks::{forward, load_payment};
use super::{LedgerError, from_millis, millis};
use crate::model::{Flags, Method, OrderAction, PaymentEvent, PaymentStatus, event_id};

/// A non-final payment and its check history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub payment_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub status: PaymentStatus,
    pub method: Option<Method>,
    pub created_at: OffsetDateTime,
    /// Status checks made so far.
    pub checks: u32,
    /// When the next check was scheduled after the previous one.
    pub next_check_at: Option<OffsetDateTime>,
}

/// Non-final, not yet stale payments whose next check may be due at `now`, most
/// overdue first, at most `limit`. A payment never checked is due `min_wait` after
/// its creation (`unknown_wait` when its status is `unknown`), a checked one at its
/// `next_check_at`. `min_wait` is the shortest TTL any method has, so the caller
/// filters the exact per-method due time and nothing due is starved by the limit.
pub fn candidates(
    conn: &Connection,
    now: OffsetDateTime,
    min_wait: std::time::Duration,
    unknown_wait: std::time::Duration,
    limit: usize,
) -> Result<Vec<Candidate>, LedgerError> {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT p.payment_id, p.gateway, p.gateway_payment_id, p.status, p.method, p.created_at,
                COALESCE(w.checks, 0), w.next_check_at
         FROM payments p LEFT JOIN watchdog w ON w.payment_id = p.payment_id
         WHERE p.status IN ('initiated', 'pending', 'deemed', 'authorized', 'unknown')
           AND w.stale_at IS NULL
           AND p.created_at <= ?1 - MIN(?2, ?3)
           AND (CASE WHEN COALESCE(w.checks, 0) > 0 THEN w.next_check_at
                     WHEN p.status = 'unknown' THEN p.created_at + ?3
                     ELSE p.created_at + ?2 END) <= ?1
         ORDER BY (CASE WHEN COALESCE(w.checks, 0) > 0 THEN w.next_check_at
                        WHEN p.status = 'unknown' THEN p.created_at + ?3
                        ELSE p.created_at + ?2 END)
         LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![
            millis(now),
            ms(min_wait),
            ms(unknown_wait),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (payment_id, gateway, gpid, status, method, created, checks, next) = row?;
        out.push(Candidate {
            status: PaymentStatus::parse(&status)
                .ok_or_else(|| LedgerError::Corrupt(format!("payment status {status:?}")))?,
            method: Method::parse(&method),
            created_at: from_millis(created)?,
            checks: u32::try_from(checks).unwrap_or(u32::MAX),
            next_check_at: next.map(from_millis).transpose()?,
            payment_id,
            gateway,
            gateway_payment_id: gpid,
        });
    }
    Ok(out)
}

/// Records one status check (`result`: a short label) and when the next is due.
pub fn record_check(
    conn: &Connection,
    payment_id: &str,
    result: &str,
    next_check_at: OffsetDateTime,
) -> Result<u32, LedgerError> {
    conn.prepare_cached(
        "INSERT INTO watchdog (payment_id, checks, next_check_at, last_result)
         VALUES (?1, 1, ?2, ?3)
         ON CONFLICT (payment_id) DO UPDATE SET checks = checks + 1,
             next_check_at = excluded.next_check_at, last_result = excluded.last_result",
    )?
    .execute(params![payment_id, millis(next_check_at), result])?;
    let n: i64 = conn.query_row(
        "SELECT checks FROM watchdog WHERE payment_id = ?1",
        [payment_id],
        |r| r.get(0),
    )?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Marks the payment stale and queues a `stale` event (once: the event id is
/// derived from the payment). Returns the event, or `None` when the payment is
/// gone or already final.
pub fn mark_stale(
    conn: &Connection,
    payment_id: &str,
    now: OffsetDateTime,
) -> Result<Option<PaymentEvent>, LedgerError> {
    let Some(p) = load_payment(conn, "payment_id = ?1", &[&payment_id])? else {
        return Ok(None);
    };
    if p.status.is_final() {
        return Ok(None);
    }
    conn.prepare_cached(
        "INSERT INTO watchdog (payment_id, checks, stale_at) VALUES (?1, 0, ?2)
         ON CONFLICT (payment_id) DO UPDATE SET stale_at = excluded.stale_at",
    )?
    .execute(params![payment_id, millis(now)])?;
    let flags = Flags::default();
    let event = PaymentEvent {
        event_id: event_id(&p.gateway, &format!("stale:{payment_id}")),
        kind: "stale".into(),
        source: "watchdog".into(),
        payment_id: p.payment_id.clone(),
        order_id: p.order_id.clone(),
        merchant_txn_id: p.merchant_txn_id.clone(),
        gateway: p.gateway.clone(),
        gateway_payment_id: p.gateway_payment_id.clone(),
        utr: p.utr.clone(),
        rrn: p.rrn.clone(),
        status: p.status,
        previous_status: Some(p.status),
        reason: None,
        raw_status: "stale".into(),
        raw_code: None,
        amount: p.amount,
        currency: p.currency.clone(),
        occurred_at: now,
        received_at: now,
        payer_vpa_masked: None,
        flags,
        stale: true,
        refund: None,
        order_action: OrderAction::decide(p.status, flags, true),
    };
    forward(conn, &event)?;
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ledger::{Intent, Ledger, LedgerOptions};
    use crate::model::{Currency, Paise};

    fn intent(id: &str, created_at: OffsetDateTime) -> Intent {
        Intent {
            payment_id: id.into(),
            order_id: id.into(),
            idempotency_key: id.into(),
            request_hash: "h".into(),
            amount: Paise(100),
            currency: Currency::Inr,
            method: Method::UpiIntent,
            route: "r".into(),
            gateway: "g".into(),
            created_at,
            ttl_deadline: created_at,
        }
    }

    #[tokio::test]
    async fn only_due_payments_most_overdue_first_and_never_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("w.db"), LedgerOptions::default()).unwrap();
        let now = OffsetDateTime::now_utc();
        let ago = |s: u64| now - Duration::from_secs(s);
        // Many fresh payments must not hide the due ones behind the limit.
        for i in 0..20 {
            ledger
                .begin(intent(&format!("fresh{i}"), ago(100)))
                .await
                .unwrap();
        }
        ledger.begin(intent("old", ago(1000))).await.unwrap();
        ledger.begin(intent("older", ago(2000))).await.unwrap();
        ledger.begin(intent("checked", ago(3000))).await.unwrap();
        ledger.begin(intent("gone", ago(4000))).await.unwrap();
        ledger
            .write(move |c| {
                record_check(c, "checked", "pending", now + Duration::from_secs(60))?;
                mark_stale(c, "gone", now).map(|_| ())
            })
            .await
            .unwrap();
        let ttl = Duration::from_secs(420);
        let got = ledger
            .query(move |c| candidates(c, now, ttl, Duration::from_secs(90), 2))
            .await
            .unwrap();
        let ids: Vec<_> = got.iter().map(|c| c.payment_id.as_str()).collect();
        assert_eq!(ids, ["older", "old"]);
    }
}
