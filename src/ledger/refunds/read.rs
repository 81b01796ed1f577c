//! Refund rows as the API shows them.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::ledger::{LedgerError, from_millis};

/// One refund as `GET /v1/payments/{id}/refunds/{refund_id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundView {
    pub refund_id: String,
    pub payment_id: String,
    pub gateway: String,
    /// The gateway payment the money returns from.
    pub gateway_payment_id: Option<String>,
    pub gateway_refund_id: Option<String>,
    /// The refund's bank reference (ARN / refund RRN), when the gateway gives one.
    pub arn: Option<String>,
    /// Paise.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// `pending` | `succeeded` | `failed`.
    pub status: String,
    pub reason: Option<String>,
    /// The gateway's refusal code, or `not_sent` / `not_found`.
    pub failure_code: Option<String>,
    pub metadata: Option<serde_json::Value>,
    /// Gateway refund calls made (the first and any resend on the same refund id).
    pub attempts: u32,
    /// `api`, `auto` or `gateway` (made outside switchyard, learned from a webhook).
    pub origin: String,
    /// Pending after every status check the watchdog may make.
    pub stale: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const COLS: &str = "refund_id, payment_id, gateway, gateway_payment_id, gateway_refund_id, arn,
    amount_paise, currency, status, reason, failure_code, metadata, attempts, origin, stale,
    created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<(RefundView, Option<String>, Option<i64>, i64)> {
    Ok((
        RefundView {
            refund_id: r.get(0)?,
            payment_id: r.get(1)?,
            gateway: r.get(2)?,
            gateway_payment_id: r.get(3)?,
            gateway_refund_id: r.get(4)?,
            arn: r.get(5)?,
            amount: r.get(6)?,
            currency: r.get(7)?,
            status: r.get(8)?,
            reason: r.get(9)?,
            failure_code: r.get(10)?,
            metadata: None,
            attempts: r.get(12)?,
            origin: r.get(13)?,
            stale: r.get(14)?,
            created_at: None,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(11)?,
        r.get(15)?,
        r.get(16)?,
    ))
}

fn finish(
    (mut v, meta, created, updated): (RefundView, Option<String>, Option<i64>, i64),
) -> Result<RefundView, LedgerError> {
    v.metadata = meta.and_then(|m| serde_json::from_str(&m).ok());
    v.created_at = created.map(from_millis).transpose()?;
    v.updated_at = from_millis(updated)?;
    Ok(v)
}

/// One refund of one payment.
pub fn get(
    conn: &Connection,
    payment_id: &str,
    refund_id: &str,
) -> Result<Option<RefundView>, LedgerError> {
    let sql = format!("SELECT {COLS} FROM refunds WHERE payment_id = ?1 AND refund_id = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![payment_id, refund_id], row)
        .optional()?
        .map(finish)
        .transpose()
}

/// Every refund of a payment, oldest first.
pub fn list(conn: &Connection, payment_id: &str) -> Result<Vec<RefundView>, LedgerError> {
    let sql = format!(
        "SELECT {COLS} FROM refunds WHERE payment_id = ?1
         ORDER BY COALESCE(created_at, updated_at), refund_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([payment_id], row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(finish).collect()
}

/// Whether the ledger knows `payment_id`.
pub fn payment_exists(conn: &Connection, payment_id: &str) -> Result<bool, LedgerError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM payments WHERE payment_id = ?1")?
        .query_row([payment_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// What the refund flow needs to know of a payment before reserving: its gateway,
/// method and currency (`None` when unknown). Lighter than the full payment view.
pub fn payment_brief(
    conn: &Connection,
    payment_id: &str,
) -> Result<Option<(String, Option<crate::model::Method>, String)>, LedgerError> {
    Ok(
        crate::ledger::callbacks::load_payment(conn, "payment_id = ?1", &[&payment_id])?
            .map(|p| (p.gateway, p.method, p.currency)),
    )
}
