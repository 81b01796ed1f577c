//! Callbacks in the ledger: dedupe by `event_id`, precedence against the payment's
//! current state, orphans (callbacks for payments not known yet) and their later
//! linking, refunds, and the outbox row for every forwarded event — all inside one
//! write job, so the event is durable before the callback is acknowledged.
//!
//! - [`payment_row`]: the payment row an event is applied to, and how it is found.
//! - [`write`]: what an applied event writes (the payment's update, the forwarded
//!   event and its outbox row, the dedupe record, duplicate payments).

use rusqlite::{Connection, OptionalExtension, params};

use super::precedence::{Decision, decide};
mod payment_row;
mod write;

pub(crate) use payment_row::{PaymentRow, load_payment};
pub(crate) use write::forward;

use payment_row::find_payment;
use write::{duplicate_payment, event_for, record, update_payment};

use super::ops::append_event;
use super::{LedgerError, millis, money};
use crate::model::{Flags, Incoming, Method, PaymentEvent, PaymentStatus};

/// Migration (callbacks area): callback dedupe, orphans, refunds, watchdog bookkeeping.
pub(crate) const MIGRATION: &str = r#"
-- Every verified callback or status answer, by its deterministic event id: the
-- dedupe key (a redelivery finds its row and changes nothing).
CREATE TABLE callback_events (
    event_id    TEXT    PRIMARY KEY NOT NULL,
    gateway     TEXT    NOT NULL,
    payment_id  TEXT,
    source      TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    status      TEXT,
    raw_status  TEXT    NOT NULL,
    raw_code    TEXT,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX callback_events_by_payment ON callback_events (payment_id, received_at);

-- Callbacks for payments this ledger did not know when they arrived.
CREATE TABLE orphans (
    event_id            TEXT    PRIMARY KEY NOT NULL,
    gateway             TEXT    NOT NULL,
    payment_ref         TEXT,
    merchant_order_id   TEXT,
    gateway_payment_id  TEXT,
    late_success_refund INTEGER NOT NULL DEFAULT 0,
    incoming            TEXT    NOT NULL CHECK (json_valid(incoming)),
    received_at         INTEGER NOT NULL,
    linked_payment_id   TEXT,
    linked_at           INTEGER
) STRICT;
CREATE INDEX orphans_open_by_ref ON orphans (payment_ref) WHERE linked_at IS NULL;
CREATE INDEX orphans_open_by_order ON orphans (merchant_order_id) WHERE linked_at IS NULL;
CREATE INDEX orphans_open_by_gateway_id ON orphans (gateway, gateway_payment_id)
    WHERE linked_at IS NULL;

-- Refunds as their own objects; the payment's refunded/partially_refunded status is
-- decided from the sum of succeeded refunds.
CREATE TABLE refunds (
    payment_id   TEXT    NOT NULL,
    refund_id    TEXT    NOT NULL,
    gateway      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    amount_paise INTEGER,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (payment_id, refund_id)
) STRICT;

-- The watchdog's status checks per payment.
CREATE TABLE watchdog (
    payment_id    TEXT    PRIMARY KEY NOT NULL,
    checks        INTEGER NOT NULL DEFAULT 0,
    next_check_at INTEGER,
    last_result   TEXT,
    stale_at      INTEGER
) STRICT;
"#;

/// What happened to one incoming event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyResult {
    /// A state change (or a refund update): stored and queued in the outbox.
    Accepted,
    /// Seen before (same event id): nothing changed.
    Duplicate,
    /// A new event that does not move the payment (an older progress event).
    Unchanged,
    /// An older, contradicting event: stored, queued flagged `conflict`, state kept.
    Conflict,
    /// The payment is not known yet: stored, linked when it appears.
    Orphan,
    /// Verified with another gateway's secret than the payment's: refused, counted.
    GatewayMismatch,
    /// A success for another gateway payment than the one that paid: forwarded
    /// flagged `duplicate_payment` + `refund_required`, the state kept.
    DuplicatePayment,
}

impl ApplyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyResult::Accepted => "accepted",
            ApplyResult::Duplicate => "duplicate",
            ApplyResult::Unchanged => "unchanged",
            ApplyResult::Conflict => "conflict",
            ApplyResult::Orphan => "orphan",
            ApplyResult::GatewayMismatch => "gateway_mismatch",
            ApplyResult::DuplicatePayment => "duplicate_payment",
        }
    }
}

/// The result of [`apply`], with what the caller reports after the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub result: ApplyResult,
    /// The event queued in the outbox (accepted and conflict).
    pub event: Option<PaymentEvent>,
    /// The payment's method, for the health feed.
    pub method: Option<Method>,
}

impl Applied {
    fn bare(result: ApplyResult) -> Self {
        Applied {
            result,
            event: None,
            method: None,
        }
    }

    /// `Some(true)`/`Some(false)` when this event moved the payment to success /
    /// failure (what the health task's success rate counts).
    pub fn final_outcome(&self) -> Option<bool> {
        let e = self.event.as_ref()?;
        if self.result != ApplyResult::Accepted || e.previous_status == Some(e.status) {
            return None;
        }
        match e.status {
            PaymentStatus::Succeeded => Some(true),
            PaymentStatus::Failed | PaymentStatus::Expired => Some(false),
            _ => None,
        }
    }
}

/// Dedupe, precedence, state change, outbox: one incoming event. Run inside a
/// [`Ledger::write`](super::Ledger::write) job.
pub fn apply(
    conn: &Connection,
    inc: &Incoming,
    late_success_refund: bool,
) -> Result<Applied, LedgerError> {
    let seen: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM callback_events WHERE event_id = ?1")?
        .query_row([&inc.event_id], |r| r.get(0))
        .optional()?;
    if seen.is_some() {
        return Ok(Applied::bare(ApplyResult::Duplicate));
    }
    let Some(p) = find_payment(conn, inc)? else {
        conn.prepare_cached(
            "INSERT INTO orphans (event_id, gateway, payment_ref, merchant_order_id,
                 gateway_payment_id, late_success_refund, incoming, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            inc.event_id,
            inc.gateway,
            inc.payment_ref,
            inc.merchant_order_id,
            inc.gateway_payment_id,
            late_success_refund,
            serde_json::to_string(inc).map_err(|e| LedgerError::Internal(e.to_string()))?,
            millis(inc.received_at),
        ])?;
        record(conn, inc, None, ApplyResult::Orphan)?;
        return Ok(Applied::bare(ApplyResult::Orphan));
    };
    apply_to(conn, inc, &p, late_success_refund, false)
}

/// Applies the open orphans that belong to this payment (called when a payment
/// appears or learns its gateway payment id). Returns how many were linked.
pub(crate) fn link_orphans(
    conn: &Connection,
    payment_id: &str,
    gateway: &str,
    gateway_payment_id: Option<&str>,
) -> Result<usize, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, incoming, late_success_refund FROM orphans
         WHERE linked_at IS NULL AND (payment_ref = ?1 OR merchant_order_id = ?1
             OR (gateway = ?2 AND gateway_payment_id = ?3))
         ORDER BY received_at, event_id",
    )?;
    let open: Vec<(String, String, bool)> = stmt
        .query_map(params![payment_id, gateway, gateway_payment_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let n = open.len();
    for (event_id, json, lsr) in open {
        let inc: Incoming = serde_json::from_str(&json)
            .map_err(|e| LedgerError::Corrupt(format!("orphan {event_id}: {e}")))?;
        // Each orphan sees the state the previous one left.
        let Some(cur) = load_payment(conn, "payment_id = ?1", &[&payment_id])? else {
            break;
        };
        apply_to(conn, &inc, &cur, lsr, true)?;
        conn.prepare_cached(
            "UPDATE orphans SET linked_payment_id = ?2, linked_at = ?3 WHERE event_id = ?1",
        )?
        .execute(params![
            event_id,
            payment_id,
            millis(time::OffsetDateTime::now_utc())
        ])?;
    }
    Ok(n)
}

fn apply_to(
    conn: &Connection,
    inc: &Incoming,
    p: &PaymentRow,
    late_success_refund: bool,
    orphan: bool,
) -> Result<Applied, LedgerError> {
    // A secret speaks for its own gateway only (item 0, docs/MONEY.md).
    if !money::gateway_may_speak(conn, p, &inc.gateway)? {
        append_event(
            conn,
            &p.payment_id,
            "gateway_mismatch",
            None,
            &serde_json::json!({
                "event_id": inc.event_id,
                "verified_by": inc.gateway,
                "payment_gateway": p.gateway,
                "reported_status": inc.status.map(|s| s.as_str()),
            }),
            inc.received_at,
        )?;
        return Ok(Applied {
            method: p.method,
            ..Applied::bare(ApplyResult::GatewayMismatch)
        });
    }
    let mut target = inc.status;
    // A refund event moves its own row first (refund precedence), then the payment
    // by the refunded amount (super::refunds).
    let mut refund_info = inc.refund.clone();
    let mut refund_conflict = false;
    let mut refund_same = false;
    if inc.kind == "refund" {
        let (change, info) = super::refunds::upsert_from_event(conn, inc, p)?;
        refund_info = info;
        match change {
            super::refunds::RefundChange::Same => refund_same = true,
            super::refunds::RefundChange::Conflict => refund_conflict = true,
            // A refund of a duplicate payment does not move this payment.
            super::refunds::RefundChange::Moved { primary: false, .. } => target = None,
            super::refunds::RefundChange::Moved { .. } => {}
        }
        if refund_same || refund_conflict {
            target = None;
        }
        if target == Some(PaymentStatus::Refunded) {
            let total = super::refunds::succeeded_primary(conn, p)?;
            if total > 0 && total < p.captured_paise.unwrap_or(p.amount) {
                target = Some(PaymentStatus::PartiallyRefunded);
            }
        }
    }
    // A second success (another gateway payment id) is its own payment to refund.
    if let Some(gid) = money::second_payment(inc, p) {
        let gid = gid.to_string();
        return duplicate_payment(conn, inc, p, &gid, orphan);
    }
    // Money flags first, so an event that does not move the status still carries
    // news: a TPV failure on money already in, or a wrong amount.
    let tpv = inc.tpv_failed || p.tpv_failed;
    let mismatch_new = money::amount_differs(inc, p) && !p.amount_mismatch;
    let mismatch = mismatch_new || p.amount_mismatch;
    let mut flags = Flags {
        orphan,
        tpv_failed: tpv,
        amount_mismatch: mismatch,
        ..Flags::default()
    };
    let (mut result, status) = match target.map(|t| (t, decide(p.status, t))) {
        // The same refund status again: nothing new.
        None if refund_same => (ApplyResult::Unchanged, p.status),
        // A final refund contradicted: stored and sent flagged, the refund kept.
        None if refund_conflict => {
            flags.conflict = true;
            (ApplyResult::Conflict, p.status)
        }
        // A refund update that does not move the payment is still news downstream.
        None if inc.kind == "refund" => (ApplyResult::Accepted, p.status),
        None | Some((_, Decision::Unchanged)) => (ApplyResult::Unchanged, p.status),
        Some((_, Decision::Conflict)) => {
            flags.conflict = true;
            (ApplyResult::Conflict, p.status)
        }
        Some((t, Decision::Apply { late_success })) => {
            flags.late_success = late_success;
            (ApplyResult::Accepted, t)
        }
    };
    let money_in = matches!(status, PaymentStatus::Succeeded | PaymentStatus::Deemed);
    let tpv_news = inc.tpv_failed && !p.tpv_failed && money_in;
    let paid_by = (inc.kind == "payment" && status == PaymentStatus::Succeeded)
        .then_some(inc.gateway_payment_id.as_deref())
        .flatten();
    let captured = paid_by.and(inc.amount);
    money::persist_flags(conn, &p.payment_id, tpv, mismatch, paid_by, captured)?;
    if result == ApplyResult::Unchanged {
        if !(tpv_news || mismatch_new) {
            record(conn, inc, Some(&p.payment_id), result)?;
            return Ok(Applied {
                method: p.method,
                ..Applied::bare(result)
            });
        }
        result = ApplyResult::Accepted;
    }
    flags.refund_required = (tpv && money_in)
        || (flags.late_success && late_success_refund && result == ApplyResult::Accepted);
    if result == ApplyResult::Accepted && status != p.status {
        update_payment(conn, inc, p, status)?;
    }
    let event = event_for(
        inc,
        p,
        status,
        flags,
        inc.gateway_payment_id.clone(),
        refund_info,
    );
    forward(conn, &event)?;
    record(conn, inc, Some(&p.payment_id), result)?;
    Ok(Applied {
        result,
        event: Some(event),
        method: p.method,
    })
}
