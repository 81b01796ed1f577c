//! What goes into and comes out of the ledger.

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{Currency, Method, Paise, PaymentStatus, Reason};

/// The write-ahead intent: committed before any gateway is called.
#[derive(Debug, Clone)]
pub struct Intent {
    pub payment_id: String,
    pub order_id: String,
    pub idempotency_key: String,
    /// SHA-256 hex of the canonical request body.
    pub request_hash: String,
    pub amount: Paise,
    pub currency: Currency,
    pub method: Method,
    pub route: String,
    /// The gateway the plan picked first.
    pub gateway: String,
    pub created_at: OffsetDateTime,
    /// When a non-final payment becomes the watchdog's business.
    pub ttl_deadline: OffsetDateTime,
}

/// A response stored for idempotent replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub http_status: u16,
    pub body: Vec<u8>,
}

/// The answer to [`Ledger::begin`](super::Ledger::begin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// New key: the intent row is committed; go ahead.
    New,
    /// Same key, same body, finished before: answer with the stored response.
    Replay(StoredResponse),
    /// Same key, different body.
    Conflict,
    /// Same key, same body, the first request has not finished yet.
    InProgress,
    /// New key, but the order already has a live or succeeded payment the policy
    /// does not let this one join (nothing was written).
    Refused(super::money::OrderGuard),
}

/// One gateway attempt, for the `attempts` table and the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    pub gateway: String,
    /// `Outcome::label()`.
    pub outcome: String,
    pub latency_ms: u64,
}

/// The end of an initiation: final linkage and the response to store.
#[derive(Debug, Clone)]
pub struct Completion {
    pub payment_id: String,
    pub idempotency_key: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    /// `gateway_payment_id` is the gateway payment itself (the connector binds it,
    /// `ConnectorKind::binds_payment_id`): a success under another id is a second
    /// payment.
    pub binds_gateway_payment_id: bool,
    pub status: PaymentStatus,
    pub reason: Option<Reason>,
    pub raw_status: Option<String>,
    pub attempts: Vec<AttemptRecord>,
    pub response: StoredResponse,
    pub at: OffsetDateTime,
}

/// A payment as `GET /v1/payments/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub payment_id: String,
    pub order_id: String,
    /// The id the gateway knows us by (our payment id).
    pub merchant_txn_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub utr: Option<String>,
    pub rrn: Option<String>,
    pub status: PaymentStatus,
    pub reason: Option<Reason>,
    pub raw_status: Option<String>,
    pub amount: Paise,
    pub currency: Currency,
    pub method: Method,
    pub route: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ttl_deadline: OffsetDateTime,
    pub attempts: Vec<AttemptRecord>,
    pub events: Vec<EventView>,
}

/// One row of the append-only events table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub seq: i64,
    pub kind: String,
    pub status: Option<PaymentStatus>,
    pub detail: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("ledger writer has stopped")]
    Closed,
    #[error("ledger schema version {found} is newer than this binary knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("ledger I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("ledger row is corrupt: {0}")]
    Corrupt(String),
    /// The payment (or its idempotency row) a write refers to does not exist.
    #[error("ledger has no {0}")]
    NotFound(String),
    /// The batch transaction holding this write failed to commit: the write is not
    /// in the ledger.
    #[error("ledger commit failed: {0}")]
    CommitFailed(String),
    #[error("ledger internal error: {0}")]
    Internal(String),
    /// Another process holds the ledger's exclusive lock (`ledger::guard`).
    #[error(
        "ledger {path} is in use by another process ({holder}); stop it, or point [ledger] path elsewhere"
    )]
    Locked { path: String, holder: String },
    /// The file failed its integrity check at open; nothing was written to it.
    #[error(
        "ledger {path} failed PRAGMA {check}: {detail}; refusing to serve from a damaged ledger (restore it from a backup, see docs/OPERATIONS.md)"
    )]
    Integrity {
        path: String,
        check: &'static str,
        detail: String,
    },
    /// The call did not finish within its deadline (a frozen disk, a stuck writer).
    /// A write that timed out may still commit later.
    #[error("ledger did not answer within {0:?}")]
    Timeout(std::time::Duration),
}
