//! Bookkeeping for the bounded refund status checks (the refund pass of the
//! watchdog, `refunds::watch`): which pending refunds are due, and what each check
//! left behind.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use crate::ledger::{LedgerError, from_millis, millis};

/// A pending refund switchyard sent (or meant to send) to a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRefund {
    pub refund_id: String,
    pub payment_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub gateway_refund_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub attempts: u32,
    pub checks: u32,
    /// The last call did not reach the gateway (`failure_code = 'not_sent'` while
    /// pending): the pass sends it again without asking first.
    pub unsent: bool,
    pub created_at: OffsetDateTime,
    pub next_check_at: Option<OffsetDateTime>,
}

/// Pending refunds of origin `api`/`auto`, not stale, created at least
/// `first_after_ms` before `now`, with no check scheduled later than `now`.
pub fn due(
    conn: &Connection,
    now: OffsetDateTime,
    first_after_ms: i64,
    limit: usize,
) -> Result<Vec<PendingRefund>, LedgerError> {
    let now_ms = millis(now);
    let mut stmt = conn.prepare_cached(
        "SELECT refund_id, payment_id, gateway, gateway_payment_id, gateway_refund_id,
                COALESCE(amount_paise, 0), COALESCE(currency, 'INR'), reason, attempts, checks,
                COALESCE(created_at, updated_at), next_check_at,
                COALESCE(failure_code = 'not_sent', 0)
         FROM refunds
         WHERE status = 'pending' AND stale = 0 AND origin IN ('api', 'auto')
           AND COALESCE(created_at, updated_at) <= ?1 - ?2
           AND (next_check_at IS NULL OR next_check_at <= ?1)
         ORDER BY COALESCE(next_check_at, created_at) LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![now_ms, first_after_ms, limit as i64], |r| {
            Ok((
                PendingRefund {
                    refund_id: r.get(0)?,
                    payment_id: r.get(1)?,
                    gateway: r.get(2)?,
                    gateway_payment_id: r.get(3)?,
                    gateway_refund_id: r.get(4)?,
                    amount: r.get(5)?,
                    currency: r.get(6)?,
                    reason: r.get(7)?,
                    attempts: r.get(8)?,
                    checks: r.get(9)?,
                    unsent: r.get(12)?,
                    created_at: OffsetDateTime::UNIX_EPOCH,
                    next_check_at: None,
                },
                r.get::<_, i64>(10)?,
                r.get::<_, Option<i64>>(11)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(mut p, c, n)| {
            p.created_at = from_millis(c)?;
            p.next_check_at = n.map(from_millis).transpose()?;
            Ok(p)
        })
        .collect()
}

/// One check done: count it, schedule the next, mark stale after the last.
pub fn record_check(
    conn: &Connection,
    payment_id: &str,
    refund_id: &str,
    next: OffsetDateTime,
    stale: bool,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "UPDATE refunds SET checks = checks + 1, next_check_at = ?3,
             stale = CASE WHEN ?4 AND status = 'pending' THEN 1 ELSE stale END
         WHERE payment_id = ?1 AND refund_id = ?2",
    )?
    .execute(params![payment_id, refund_id, millis(next), stale])?;
    Ok(())
}

/// A resend of the same refund id (the gateway deduplicates on it).
pub fn record_resend(
    conn: &Connection,
    payment_id: &str,
    refund_id: &str,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "UPDATE refunds SET attempts = attempts + 1 WHERE payment_id = ?1 AND refund_id = ?2",
    )?
    .execute(params![payment_id, refund_id])?;
    Ok(())
}

/// Marks a pending refund whose call did not reach the gateway (`unsent`), or
/// clears the mark once a call may have arrived.
pub fn mark_unsent(
    conn: &Connection,
    payment_id: &str,
    refund_id: &str,
    unsent: bool,
) -> Result<(), LedgerError> {
    let sql = if unsent {
        "UPDATE refunds SET failure_code = 'not_sent'
         WHERE payment_id = ?1 AND refund_id = ?2 AND status = 'pending'"
    } else {
        "UPDATE refunds SET failure_code = NULL
         WHERE payment_id = ?1 AND refund_id = ?2 AND failure_code = 'not_sent'"
    };
    conn.prepare_cached(sql)?
        .execute(params![payment_id, refund_id])?;
    Ok(())
}
