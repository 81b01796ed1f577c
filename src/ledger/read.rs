//! Queries, on read connections (never the writer's). Each call reads inside one
//! deferred transaction, so a payment, its attempts and its events come from the
//! same WAL snapshot.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::{AttemptRecord, EventView, LedgerError, PaymentView, from_millis};
use crate::model::{Currency, Method, Paise, PaymentStatus, Reason};

/// A small pool of read-only connections. Connections are opened lazily and at most
/// `max_idle` are kept; callers run on the blocking thread pool.
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl ReadPool {
    pub(crate) fn new(path: &Path, max_idle: usize) -> ReadPool {
        ReadPool {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    fn open(&self) -> Result<Connection, LedgerError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    /// Runs `f` on a pooled connection (blocking).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.open()?,
        };
        let result = f(&mut conn);
        // A connection left inside a transaction (an error path) is not reused.
        if conn.is_autocommit() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
        result
    }
}

const PAYMENT_COLUMNS: &str = "payment_id, order_id, merchant_txn_id, gateway, gateway_payment_id,
    utr, rrn, status, reason, raw_status, amount_paise, currency, method, route,
    created_at, updated_at, ttl_deadline";

/// One payment with its attempts and events.
pub(crate) fn payment(
    conn: &mut Connection,
    payment_id: &str,
) -> Result<Option<PaymentView>, LedgerError> {
    let tx = conn.transaction()?;
    let view = load(&tx, payment_id)?;
    tx.finish()?;
    Ok(view)
}

/// A bank-side or gateway reference a payment can be found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    Utr,
    Rrn,
    GatewayPaymentId,
}

impl Reference {
    fn column(self) -> &'static str {
        match self {
            Reference::Utr => "utr",
            Reference::Rrn => "rrn",
            Reference::GatewayPaymentId => "gateway_payment_id",
        }
    }
}

/// The indexes behind [`payments_by_reference`] (appended to the migrations).
pub(crate) const REFERENCE_MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS payments_by_utr ON payments (utr);
CREATE INDEX IF NOT EXISTS payments_by_rrn ON payments (rrn);
CREATE INDEX IF NOT EXISTS payments_by_gpid ON payments (gateway_payment_id);
";

/// Every payment carrying `value` as its `reference`, newest first (indexed).
pub(crate) fn payments_by_reference(
    conn: &mut Connection,
    reference: Reference,
    value: &str,
) -> Result<Vec<PaymentView>, LedgerError> {
    let tx = conn.transaction()?;
    let sql = format!(
        "SELECT payment_id FROM payments WHERE {} = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 100",
        reference.column()
    );
    let ids: Vec<String> = tx
        .prepare_cached(&sql)?
        .query_map(params![value], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = load(&tx, &id)? {
            views.push(v);
        }
    }
    Ok(views)
}

/// Every payment of an order, newest first.
pub(crate) fn payments_by_order(
    conn: &mut Connection,
    order_id: &str,
) -> Result<Vec<PaymentView>, LedgerError> {
    let tx = conn.transaction()?;
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT payment_id FROM payments WHERE order_id = ?1
             ORDER BY created_at DESC, rowid DESC",
        )?
        .query_map(params![order_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = load(&tx, &id)? {
            views.push(v);
        }
    }
    tx.finish()?;
    Ok(views)
}

fn load(conn: &Connection, payment_id: &str) -> Result<Option<PaymentView>, LedgerError> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE payment_id = ?1");
    let raw = conn
        .prepare_cached(&sql)?
        .query_row(params![payment_id], RawPayment::from_row)
        .optional()?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    let attempts = attempts(conn, payment_id)?;
    let events = events(conn, payment_id)?;
    raw.into_view(attempts, events).map(Some)
}

fn attempts(conn: &Connection, payment_id: &str) -> Result<Vec<AttemptRecord>, LedgerError> {
    let rows = conn
        .prepare_cached(
            "SELECT gateway, outcome, latency_ms FROM attempts WHERE payment_id = ?1 ORDER BY seq",
        )?
        .query_map(params![payment_id], |r| {
            Ok(AttemptRecord {
                gateway: r.get(0)?,
                outcome: r.get(1)?,
                latency_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(0).max(0) as u64,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn events(conn: &Connection, payment_id: &str) -> Result<Vec<EventView>, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, status, detail, at FROM events WHERE payment_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![payment_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, kind, status, detail, at) = row?;
        let status = status.map(|s| parse_status(&s)).transpose()?;
        let detail = serde_json::from_str(&detail)
            .map_err(|e| LedgerError::Corrupt(format!("event {seq} detail: {e}")))?;
        out.push(EventView {
            seq,
            kind,
            status,
            detail,
            at: from_millis(at)?,
        });
    }
    Ok(out)
}

fn parse_status(s: &str) -> Result<PaymentStatus, LedgerError> {
    PaymentStatus::parse(s).ok_or_else(|| LedgerError::Corrupt(format!("status {s:?}")))
}

/// A `payments` row before its text columns are parsed into model types.
struct RawPayment {
    payment_id: String,
    order_id: String,
    merchant_txn_id: String,
    gateway: String,
    gateway_payment_id: Option<String>,
    utr: Option<String>,
    rrn: Option<String>,
    status: String,
    reason: Option<String>,
    raw_status: Option<String>,
    amount_paise: i64,
    currency: String,
    method: String,
    route: String,
    created_at: i64,
    updated_at: i64,
    ttl_deadline: i64,
}

impl RawPayment {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<RawPayment> {
        Ok(RawPayment {
            payment_id: r.get(0)?,
            order_id: r.get(1)?,
            merchant_txn_id: r.get(2)?,
            gateway: r.get(3)?,
            gateway_payment_id: r.get(4)?,
            utr: r.get(5)?,
            rrn: r.get(6)?,
            status: r.get(7)?,
            reason: r.get(8)?,
            raw_status: r.get(9)?,
            amount_paise: r.get(10)?,
            currency: r.get(11)?,
            method: r.get(12)?,
            route: r.get(13)?,
            created_at: r.get(14)?,
            updated_at: r.get(15)?,
            ttl_deadline: r.get(16)?,
        })
    }

    fn into_view(
        self,
        attempts: Vec<AttemptRecord>,
        events: Vec<EventView>,
    ) -> Result<PaymentView, LedgerError> {
        let corrupt = |what: &str, v: &str| {
            LedgerError::Corrupt(format!("payment {} {what} {v:?}", self.payment_id))
        };
        let reason = match &self.reason {
            Some(r) => Some(Reason::parse(r).ok_or_else(|| corrupt("reason", r))?),
            None => None,
        };
        let currency =
            Currency::parse(&self.currency).ok_or_else(|| corrupt("currency", &self.currency))?;
        let method = Method::parse(&self.method).ok_or_else(|| corrupt("method", &self.method))?;
        Ok(PaymentView {
            status: parse_status(&self.status)?,
            reason,
            amount: Paise(self.amount_paise),
            currency,
            method,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
            ttl_deadline: from_millis(self.ttl_deadline)?,
            attempts,
            events,
            payment_id: self.payment_id,
            order_id: self.order_id,
            merchant_txn_id: self.merchant_txn_id,
            gateway: self.gateway,
            gateway_payment_id: self.gateway_payment_id,
            utr: self.utr,
            rrn: self.rrn,
            raw_status: self.raw_status,
            route: self.route,
        })
    }
}

/// How many payments each gateway holds in each status: `(gateway, status, count)`,
/// ordered by gateway and status (the demo's summary).
pub fn payment_counts(conn: &mut Connection) -> Result<Vec<(String, String, u64)>, LedgerError> {
    let mut st =
        conn.prepare("SELECT gateway, status, COUNT(*) FROM payments GROUP BY 1, 2 ORDER BY 1, 2")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (g, s, n) = r?;
        out.push((g, s, u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}
