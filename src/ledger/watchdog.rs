//! The watchdog's bookkeeping: which non-final payments are due a status check,
//! how many checks each has had, the `expired` event that ends them (not found at
//! the gateway, or `stale` past the TTL plus grace), and the recovery of
//! idempotency rows whose initiation never completed.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::callbacks::{forward, load_payment};
use super::{LedgerError, from_millis, millis};
use crate::model::{Flags, Method, OrderAction, PaymentEvent, PaymentStatus, Reason, event_id};

/// Migration (resolution): finds idempotency rows still in progress without a scan.
pub(crate) const MIGRATION: &str = r#"
CREATE INDEX idempotency_in_progress ON idempotency (created_at) WHERE completed = 0;
"#;

/// A non-final payment and its check history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub payment_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub status: PaymentStatus,
    pub method: Option<Method>,
    pub created_at: OffsetDateTime,
    /// When the payment's TTL ends (stored with the intent).
    pub ttl_deadline: OffsetDateTime,
    /// `initiated` with its idempotency row still in progress: the initiation never
    /// completed (the process died, the completion write failed). Treated as `unknown`.
    pub incomplete: bool,
    /// Status checks made so far.
    pub checks: u32,
    /// When the next check was scheduled after the previous one.
    pub next_check_at: Option<OffsetDateTime>,
    /// The last check's label (`pending`, `not_found`, `error`, ...).
    pub last_result: Option<String>,
}

impl Candidate {
    /// Whether nobody knows if the customer is being charged (checked early).
    pub fn unsure(&self) -> bool {
        self.status == PaymentStatus::Unknown || self.incomplete
    }
}

/// The watchdog's timing, as the candidate query needs it.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// The shortest TTL any method has (never below `unknown_wait`).
    pub min_wait: std::time::Duration,
    /// The first check of an `unknown` (or incomplete) payment.
    pub unknown_wait: std::time::Duration,
    /// Checks per payment.
    pub max_checks: u32,
    /// After the TTL deadline, how long an exhausted payment waits to expire.
    pub expire_after: std::time::Duration,
}

/// Non-final, not yet expired payments due at `now`, most overdue first, at most
/// `limit`. A payment never checked is due `min_wait` after its creation
/// (`unknown_wait` when its status is `unknown` or its initiation never completed),
/// a checked one at its `next_check_at`, one whose checks ran out at its TTL
/// deadline plus `expire_after` (to expire). `min_wait` is the shortest TTL any
/// method has, so the caller filters the exact per-method due time and nothing due
/// is starved by the limit.
pub fn candidates(
    conn: &Connection,
    now: OffsetDateTime,
    w: Waits,
    limit: usize,
) -> Result<Vec<Candidate>, LedgerError> {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "WITH c AS (
             SELECT p.payment_id, p.gateway, p.gateway_payment_id, p.status, p.method,
                    p.created_at, p.ttl_deadline,
                    (p.status = 'initiated' AND COALESCE(i.completed, 1) = 0) AS incomplete,
                    COALESCE(w.checks, 0) AS checks, w.next_check_at, w.last_result
             FROM payments p
             LEFT JOIN watchdog w ON w.payment_id = p.payment_id
             LEFT JOIN idempotency i ON i.key = p.idempotency_key
             WHERE p.status IN ('initiated', 'pending', 'deemed', 'authorized', 'unknown')
               AND w.stale_at IS NULL
               AND p.created_at <= ?1 - MIN(?2, ?3)
         ), d AS (
             SELECT *, (CASE WHEN checks >= ?5 THEN ttl_deadline + ?6
                             WHEN checks > 0 THEN next_check_at
                             WHEN status = 'unknown' OR incomplete THEN created_at + ?3
                             ELSE created_at + ?2 END) AS due
             FROM c
         )
         SELECT payment_id, gateway, gateway_payment_id, status, method, created_at,
                ttl_deadline, incomplete, checks, next_check_at, last_result
         FROM d WHERE due <= ?1 ORDER BY due LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![
            millis(now),
            ms(w.min_wait),
            ms(w.unknown_wait),
            i64::try_from(limit).unwrap_or(i64::MAX),
            i64::from(w.max_checks),
            ms(w.expire_after),
        ],
        |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ),
                (
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, bool>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ),
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (
            (payment_id, gateway, gpid, status, method),
            (created, ttl, incomplete, checks, next, last),
        ) = row?;
        out.push(Candidate {
            status: PaymentStatus::parse(&status)
                .ok_or_else(|| LedgerError::Corrupt(format!("payment status {status:?}")))?,
            method: Method::parse(&method),
            created_at: from_millis(created)?,
            ttl_deadline: from_millis(ttl)?,
            incomplete,
            checks: u32::try_from(checks).unwrap_or(u32::MAX),
            next_check_at: next.map(from_millis).transpose()?,
            last_result: last,
            payment_id,
            gateway,
            gateway_payment_id: gpid,
        });
    }
    Ok(out)
}

/// Records one status check (`result`: a short label) and when the next is due.
/// A check that got no answer (`error`: the gateway unreachable, a 5xx) is not
/// counted against `max_checks`: it never reached the gateway's switch, and the
/// payment must not expire for want of an answer.
pub fn record_check(
    conn: &Connection,
    payment_id: &str,
    result: &str,
    next_check_at: OffsetDateTime,
) -> Result<u32, LedgerError> {
    let counts = i64::from(result != "error");
    conn.prepare_cached(
        "INSERT INTO watchdog (payment_id, checks, next_check_at, last_result)
         VALUES (?1, ?4, ?2, ?3)
         ON CONFLICT (payment_id) DO UPDATE SET checks = checks + ?4,
             next_check_at = excluded.next_check_at, last_result = excluded.last_result",
    )?
    .execute(params![payment_id, millis(next_check_at), result, counts])?;
    let n: i64 = conn.query_row(
        "SELECT checks FROM watchdog WHERE payment_id = ?1",
        [payment_id],
        |r| r.get(0),
    )?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Why the watchdog ends a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The gateway answered "no such payment" after the last check: `expired`,
    /// reason `expired`, raw status `not_found`, order action `cancel`.
    NotFound,
    /// Still unresolved at the TTL plus grace after every check: `expired` with
    /// `stale` (order action `hold`: money may still arrive, as a late success).
    Stale,
}

/// Ends the payment `expired` and queues its event (once: the event id is derived
/// from the payment); the watchdog row is closed so it is never checked again.
/// Returns the event, or `None` when the payment is gone or already final.
pub fn expire(
    conn: &Connection,
    payment_id: &str,
    why: Expiry,
    now: OffsetDateTime,
) -> Result<Option<PaymentEvent>, LedgerError> {
    let Some(p) = load_payment(conn, "payment_id = ?1", &[&payment_id])? else {
        return Ok(None);
    };
    conn.prepare_cached(
        "INSERT INTO watchdog (payment_id, checks, stale_at) VALUES (?1, 0, ?2)
         ON CONFLICT (payment_id) DO UPDATE SET stale_at = excluded.stale_at",
    )?
    .execute(params![payment_id, millis(now)])?;
    if p.status.is_final() {
        return Ok(None);
    }
    let (raw, stale) = match why {
        Expiry::NotFound => ("not_found", false),
        Expiry::Stale => ("stale", true),
    };
    conn.prepare_cached(
        "UPDATE payments SET status = 'expired', reason = 'expired', raw_status = ?2,
             updated_at = ?3
         WHERE payment_id = ?1",
    )?
    .execute(params![payment_id, raw, millis(now)])?;
    let flags = Flags::default();
    let status = PaymentStatus::Expired;
    let event = PaymentEvent {
        event_id: event_id(&p.gateway, &format!("expired:{payment_id}")),
        kind: "payment".into(),
        source: "watchdog".into(),
        payment_id: p.payment_id.clone(),
        order_id: p.order_id.clone(),
        merchant_txn_id: p.merchant_txn_id.clone(),
        gateway: p.gateway.clone(),
        gateway_payment_id: p.gateway_payment_id.clone(),
        utr: p.utr.clone(),
        rrn: p.rrn.clone(),
        status,
        previous_status: Some(p.status),
        reason: Some(Reason::Expired),
        raw_status: raw.into(),
        raw_code: None,
        amount: p.amount,
        currency: p.currency.clone(),
        occurred_at: now,
        received_at: now,
        payer_vpa_masked: None,
        flags,
        stale,
        refund: None,
        order_action: OrderAction::decide(status, flags, stale),
    };
    forward(conn, &event)?;
    recover_idempotency(conn, payment_id)?;
    Ok(Some(event))
}

/// Completes an idempotency row left "in progress" once its payment is final (the
/// initiation's completion never came: a crash, a failed write). A retry of the
/// same key then replays this answer instead of `409 request_in_progress` for good:
/// `200` with the payment's current state and `"recovered": true`. A completion
/// that arrives later still overwrites it with the real answer. Returns whether a
/// row was recovered.
pub fn recover_idempotency(conn: &Connection, payment_id: &str) -> Result<bool, LedgerError> {
    let Some(p) = load_payment(conn, "payment_id = ?1", &[&payment_id])? else {
        return Ok(false);
    };
    if !p.status.is_final() {
        return Ok(false);
    }
    let body = serde_json::json!({
        "payment_id": p.payment_id,
        "order_id": p.order_id,
        "status": p.status.as_str(),
        "gateway": p.gateway,
        "gateway_payment_id": p.gateway_payment_id,
        "amount": p.amount,
        "currency": p.currency,
        "recovered": true,
    })
    .to_string();
    let n = conn
        .prepare_cached(
            "UPDATE idempotency SET completed = 1, http_status = 200, response_body = ?2
             WHERE payment_id = ?1 AND completed = 0",
        )?
        .execute(params![payment_id, body.as_bytes()])?;
    Ok(n > 0)
}

/// Recovers every in-progress idempotency row whose payment is final and which is
/// older than `older_than` (a callback may have settled a payment whose initiation
/// died). At most `limit`; returns how many.
pub fn recover_stuck(
    conn: &Connection,
    older_than: OffsetDateTime,
    limit: usize,
) -> Result<usize, LedgerError> {
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT i.payment_id FROM idempotency i JOIN payments p ON p.payment_id = i.payment_id
             WHERE i.completed = 0 AND i.created_at <= ?1
               AND p.status NOT IN ('initiated', 'pending', 'deemed', 'authorized', 'unknown')
             LIMIT ?2",
        )?
        .query_map(
            params![millis(older_than), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut n = 0;
    for id in ids {
        n += usize::from(recover_idempotency(conn, &id)?);
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
