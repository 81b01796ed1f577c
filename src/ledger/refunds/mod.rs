//! Refunds in the ledger: their own rows (table `refunds`, widened by
//! [`MIGRATION`]), reserved inside the single writer's transaction before any
//! gateway is called, moved by gateway answers, webhooks and status checks through
//! one refund precedence, and counted against the payment's captured amount.
//!
//! - [`reserve`]: idempotency (per payment and key), the money checks and the
//!   write-ahead `pending` row, in one write job. Because every write runs on the
//!   one writer thread, two concurrent refunds can never together pass the
//!   "captured minus refunded-or-pending" check.
//! - [`upsert_from_event`]: a refund event (webhook, status answer, the gateway's
//!   answer to our call) → the matching row, found by our refund id or the
//!   gateway's refund id — never by the payment's id — or a new row for a refund
//!   made outside switchyard (dashboard, gateway auto-refund).
//! - `read`: the API's views; `resolve`: the bounded status checks' bookkeeping;
//!   `auto`: the automatic-refund cursor and decisions.

pub mod auto;
mod read;
pub mod resolve;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::callbacks::{PaymentRow, load_payment};
use super::{LedgerError, millis};
use crate::model::{Incoming, PaymentStatus, RefundInfo};

pub use read::{RefundView, get, list, payment_brief, payment_exists};

/// Migration: the refund row's own columns, and the automatic-refund bookkeeping.
/// Rows written by older binaries (webhook-only refunds) keep working: every new
/// column is nullable or has a default, and `origin` says `gateway` for them.
pub(crate) const MIGRATION: &str = r#"
ALTER TABLE refunds ADD COLUMN gateway_refund_id TEXT;
ALTER TABLE refunds ADD COLUMN gateway_payment_id TEXT;
ALTER TABLE refunds ADD COLUMN arn TEXT;
ALTER TABLE refunds ADD COLUMN currency TEXT;
ALTER TABLE refunds ADD COLUMN reason TEXT;
ALTER TABLE refunds ADD COLUMN failure_code TEXT;
ALTER TABLE refunds ADD COLUMN metadata TEXT;
ALTER TABLE refunds ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN origin TEXT NOT NULL DEFAULT 'gateway';
ALTER TABLE refunds ADD COLUMN idempotency_key TEXT;
ALTER TABLE refunds ADD COLUMN request_hash TEXT;
ALTER TABLE refunds ADD COLUMN created_at INTEGER;
ALTER TABLE refunds ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_check_at INTEGER;
ALTER TABLE refunds ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX refunds_by_key ON refunds (payment_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX refunds_by_gateway_id ON refunds (payment_id, gateway_refund_id)
    WHERE gateway_refund_id IS NOT NULL;
CREATE INDEX refunds_pending ON refunds (status, next_check_at) WHERE status = 'pending';

-- One row per refund_required event the automatic policy looked at.
CREATE TABLE auto_refunds (
    event_id   TEXT    PRIMARY KEY NOT NULL,
    payment_id TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    decision   TEXT    NOT NULL,
    refund_id  TEXT,
    amount_paise INTEGER,
    at         INTEGER NOT NULL
) STRICT;
"#;

/// Which gateway payment the refund returns money from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The payment's own gateway payment id (captured = the payment's amount).
    Primary,
    /// A duplicate payment on the same gateway (its own id and amount).
    Duplicate {
        gateway_payment_id: String,
        amount: i64,
    },
}

/// A refund to reserve.
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub refund_id: String,
    pub payment_id: String,
    /// `None` for automatic refunds (their event id is their key).
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    /// Paise; `None`: everything left to refund.
    pub amount: Option<i64>,
    pub currency: String,
    pub reason: Option<String>,
    pub metadata: Option<String>,
    /// `api` or `auto`.
    pub origin: &'static str,
    pub target: Target,
    pub at: OffsetDateTime,
}

/// Why a refund was refused before any gateway was called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Refused {
    PaymentNotFound,
    /// The payment holds no money (not succeeded / partially refunded).
    NotInMoney(PaymentStatus),
    /// No gateway payment id to refund on.
    NoGatewayPayment,
    CurrencyMismatch {
        payment: String,
    },
    /// Above captured minus refunded-or-pending.
    ExceedsAvailable {
        available: i64,
    },
}

/// The answer to [`reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserve {
    /// The pending row is committed: call the gateway.
    New(Reserved),
    /// Same key, same body: the refund as it is now.
    Replay(Box<RefundView>),
    /// Same key, another body.
    Conflict,
    Refused(Refused),
}

/// A reserved refund and where it must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// Paise, as reserved.
    pub amount: i64,
    pub refund_id: String,
    pub gateway: String,
    pub gateway_payment_id: String,
    pub method: Option<crate::model::Method>,
}

/// Refunded-or-pending on one gateway payment of `payment_id`. The primary
/// (`primary = true`) also holds rows of unknown target (written by older binaries
/// or learned from webhooks).
fn committed(
    conn: &Connection,
    payment_id: &str,
    gateway_payment_id: &str,
    primary: bool,
) -> Result<i64, LedgerError> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(amount_paise), 0) FROM refunds
             WHERE payment_id = ?1 AND status IN ('pending', 'succeeded')
               AND (gateway_payment_id = ?2 OR (?3 AND gateway_payment_id IS NULL))",
        )?
        .query_row(params![payment_id, gateway_payment_id, primary], |r| {
            r.get(0)
        })?)
}

/// Succeeded refunds on the payment's own gateway payment (what decides
/// `refunded` / `partially_refunded`).
pub(crate) fn succeeded_primary(conn: &Connection, p: &PaymentRow) -> Result<i64, LedgerError> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(amount_paise), 0) FROM refunds
             WHERE payment_id = ?1 AND status = 'succeeded'
               AND (gateway_payment_id IS NULL OR gateway_payment_id = ?2)",
        )?
        .query_row(
            params![p.payment_id, p.gateway_payment_id.as_deref().unwrap_or("")],
            |r| r.get(0),
        )?)
}

/// Idempotency, money checks and the write-ahead row, in one write job.
pub fn reserve(conn: &Connection, r: &NewRefund) -> Result<Reserve, LedgerError> {
    if let Some(key) = &r.idempotency_key {
        let found: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT refund_id, request_hash FROM refunds
                 WHERE payment_id = ?1 AND idempotency_key = ?2",
            )?
            .query_row(params![r.payment_id, key], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        if let Some((rid, hash)) = found {
            if hash != r.request_hash {
                return Ok(Reserve::Conflict);
            }
            return match read::get(conn, &r.payment_id, &rid)? {
                Some(v) => Ok(Reserve::Replay(Box::new(v))),
                None => Err(LedgerError::Corrupt(format!("refund {rid} vanished"))),
            };
        }
    }
    let Some(p) = load_payment(conn, "payment_id = ?1", &[&r.payment_id])? else {
        return Ok(Reserve::Refused(Refused::PaymentNotFound));
    };
    if !p.currency.eq_ignore_ascii_case(&r.currency) {
        return Ok(Reserve::Refused(Refused::CurrencyMismatch {
            payment: p.currency.clone(),
        }));
    }
    let (gateway_payment_id, captured, primary) = match &r.target {
        Target::Primary => {
            // A fully refunded payment is "in money" with nothing left: the amount
            // check below refuses it with the available amount (0).
            if !matches!(
                p.status,
                PaymentStatus::Succeeded
                    | PaymentStatus::PartiallyRefunded
                    | PaymentStatus::Refunded
            ) {
                return Ok(Reserve::Refused(Refused::NotInMoney(p.status)));
            }
            let Some(g) = p.gateway_payment_id.clone() else {
                return Ok(Reserve::Refused(Refused::NoGatewayPayment));
            };
            // What the gateway captured (an amount mismatch: what the customer paid).
            (g, p.captured_paise.unwrap_or(p.amount), true)
        }
        Target::Duplicate {
            gateway_payment_id,
            amount,
        } => (gateway_payment_id.clone(), *amount, false),
    };
    let available = captured - committed(conn, &r.payment_id, &gateway_payment_id, primary)?;
    let amount = r.amount.unwrap_or(available);
    if amount <= 0 || amount > available {
        return Ok(Reserve::Refused(Refused::ExceedsAvailable {
            available: available.max(0),
        }));
    }
    let at = millis(r.at);
    conn.prepare_cached(
        "INSERT INTO refunds (payment_id, refund_id, gateway, status, amount_paise, updated_at,
             gateway_payment_id, currency, reason, metadata, origin, idempotency_key,
             request_hash, created_at, attempts)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?5, 1)",
    )?
    .execute(params![
        r.payment_id,
        r.refund_id,
        p.gateway,
        amount,
        at,
        gateway_payment_id,
        p.currency,
        r.reason,
        r.metadata,
        r.origin,
        r.idempotency_key,
        r.request_hash,
    ])?;
    super::ops::append_event(
        conn,
        &r.payment_id,
        "refund_requested",
        None,
        &serde_json::json!({
            "refund_id": r.refund_id,
            "amount": amount,
            "origin": r.origin,
            "gateway_payment_id": gateway_payment_id,
        }),
        r.at,
    )?;
    Ok(Reserve::New(Reserved {
        amount,
        refund_id: r.refund_id.clone(),
        gateway: p.gateway.clone(),
        gateway_payment_id,
        method: p.method,
    }))
}

/// What a refund event did to its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundChange {
    /// The row's status moved (or the row is new); `primary` says whether it
    /// returns money from the payment's own gateway payment.
    Moved { to: String, primary: bool },
    /// Nothing new (the same status again).
    Same,
    /// A final refund contradicted (succeeded then failed): kept, flagged.
    Conflict,
}

fn rank(status: &str) -> u8 {
    match status {
        "succeeded" | "failed" => 2,
        _ => 1,
    }
}

/// Finds and moves the refund row an event speaks of; returns the change and the
/// event's refund object with our refund id filled in.
pub(crate) fn upsert_from_event(
    conn: &Connection,
    inc: &Incoming,
    p: &PaymentRow,
) -> Result<(RefundChange, Option<RefundInfo>), LedgerError> {
    let Some(info) = &inc.refund else {
        return Ok((RefundChange::Same, None));
    };
    // Which gateway may speak for this payment at all is decided before (the
    // money-safety rules: a callback moves only a payment of the gateway whose
    // secret verified it); refund rows learned here are the payment's gateway's.
    let mut info = info.clone();
    let ours = info.merchant_refund_id.clone();
    let theirs = info.gateway_refund_id.clone().or(info.refund_id.clone());
    // Ours may be the tail a gateway holds of our id (`connectors::refund::
    // short_refund_id`: Juspay EC, EBANX), matched within this payment only.
    let min_tail = crate::model::MIN_SHORT_REFUND_ID as i64;
    let found: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT refund_id, status, gateway_payment_id FROM refunds
             WHERE payment_id = ?1 AND (refund_id = ?2 OR refund_id = ?3 OR gateway_refund_id = ?3
                 OR (length(?2) >= ?4 AND length(refund_id) > length(?2)
                     AND substr(refund_id, -length(?2)) = ?2))
             ORDER BY (refund_id = ?2) DESC, (refund_id = ?3 OR gateway_refund_id = ?3) DESC
             LIMIT 1",
        )?
        .query_row(params![p.payment_id, ours, theirs, min_tail], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let now = millis(inc.received_at);
    let new = &info.refund_status;
    let primary_of =
        |g: &Option<String>| g.is_none() || g.as_deref() == p.gateway_payment_id.as_deref();
    let change = match found {
        None => {
            let rid = ours
                .clone()
                .or(theirs.clone())
                .unwrap_or_else(|| inc.event_id.clone());
            conn.prepare_cached(
                "INSERT INTO refunds (payment_id, refund_id, gateway, status, amount_paise,
                     updated_at, gateway_refund_id, arn, currency, origin, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'gateway', ?6)",
            )?
            .execute(params![
                p.payment_id,
                rid,
                p.gateway,
                new,
                info.amount,
                now,
                theirs,
                info.reference,
                inc.currency,
            ])?;
            info.refund_id = Some(rid);
            RefundChange::Moved {
                to: new.clone(),
                primary: true,
            }
        }
        Some((rid, cur, gpid)) => {
            info.refund_id = Some(rid.clone());
            let change = if &cur == new {
                RefundChange::Same
            } else if rank(&cur) == 2 {
                RefundChange::Conflict
            } else {
                RefundChange::Moved {
                    to: new.clone(),
                    primary: primary_of(&gpid),
                }
            };
            // Learn the gateway's ids and ARN whatever the status did.
            conn.prepare_cached(
                "UPDATE refunds SET
                     status = CASE WHEN ?3 THEN ?4 ELSE status END,
                     -- The gateway has it: a call of ours did arrive (not unsent).
                     failure_code = CASE WHEN ?3 AND failure_code = 'not_sent'
                                         THEN NULL ELSE failure_code END,
                     gateway_refund_id = COALESCE(gateway_refund_id, ?5),
                     arn = COALESCE(?6, arn),
                     updated_at = ?7
                 WHERE payment_id = ?1 AND refund_id = ?2",
            )?
            .execute(params![
                p.payment_id,
                rid,
                matches!(change, RefundChange::Moved { .. }),
                new,
                theirs,
                info.reference,
                now,
            ])?;
            change
        }
    };
    Ok((change, Some(info)))
}

/// Records a gateway's refusal or a failure to reach it on our row (the status
/// itself moves through [`upsert_from_event`]).
pub fn note_failure(
    conn: &Connection,
    payment_id: &str,
    refund_id: &str,
    code: &str,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "UPDATE refunds SET failure_code = ?3 WHERE payment_id = ?1 AND refund_id = ?2",
    )?
    .execute(params![payment_id, refund_id, code])?;
    Ok(())
}

#[cfg(test)]
mod tests;
