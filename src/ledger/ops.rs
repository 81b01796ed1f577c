//! The write operations. Each runs inside the writer's batch transaction, inside its
//! own savepoint, on the single write connection; nothing here commits.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use time::OffsetDateTime;

use super::precedence::{Decision, decide};
use super::{Begin, Completion, Intent, LedgerError, StoredResponse, millis};
use crate::model::{Flags, OrderAction, PaymentEvent, PaymentStatus, event_id};

/// Outcome label of an attempt row written ahead by [`attempt_start`] and not yet
/// completed.
pub(crate) const ATTEMPT_STARTED: &str = "started";

/// Idempotency check and intent insert. Atomic because only the writer thread writes.
pub(crate) fn begin(conn: &Connection, intent: &Intent) -> Result<Begin, LedgerError> {
    let existing = conn
        .prepare_cached(
            "SELECT request_hash, completed, http_status, response_body
             FROM idempotency WHERE key = ?1",
        )?
        .query_row(params![intent.idempotency_key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? != 0,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })
        .optional()?;

    if let Some((hash, completed, http_status, body)) = existing {
        if hash != intent.request_hash {
            return Ok(Begin::Conflict);
        }
        if !completed {
            return Ok(Begin::InProgress);
        }
        let status = http_status
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| {
                LedgerError::Corrupt(format!(
                    "idempotency key {} completed without a valid http_status",
                    intent.idempotency_key
                ))
            })?;
        return Ok(Begin::Replay(StoredResponse {
            http_status: status,
            body: body.unwrap_or_default(),
        }));
    }

    let created = millis(intent.created_at);
    conn.prepare_cached(
        "INSERT INTO payments (payment_id, order_id, merchant_txn_id, idempotency_key,
             request_hash, gateway, status, amount_paise, currency, method, route,
             created_at, updated_at, ttl_deadline)
         VALUES (?1, ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
    )?
    .execute(params![
        intent.payment_id,
        intent.order_id,
        intent.idempotency_key,
        intent.request_hash,
        intent.gateway,
        PaymentStatus::Initiated.as_str(),
        intent.amount.0,
        intent.currency.as_str(),
        intent.method.as_str(),
        intent.route,
        created,
        millis(intent.ttl_deadline),
    ])?;
    conn.prepare_cached(
        "INSERT INTO idempotency (key, request_hash, payment_id, completed, created_at)
         VALUES (?1, ?2, ?3, 0, ?4)",
    )?
    .execute(params![
        intent.idempotency_key,
        intent.request_hash,
        intent.payment_id,
        created,
    ])?;
    append_event(
        conn,
        &intent.payment_id,
        "initiated",
        Some(PaymentStatus::Initiated),
        &json!({
            "order_id": intent.order_id,
            "gateway": intent.gateway,
            "route": intent.route,
            "amount_paise": intent.amount.0,
            "currency": intent.currency.as_str(),
            "method": intent.method.as_str(),
            "idempotency_key": intent.idempotency_key,
        }),
        intent.created_at,
    )?;
    // A callback that arrived before this intent (another replica, a clock race).
    super::callbacks::link_orphans(conn, &intent.payment_id, &intent.gateway, None)?;
    Ok(Begin::New)
}

/// Write-ahead for attempt `seq` (1-based) on `gateway`: an `attempts` row with
/// outcome `started`, the payment's current gateway moved to `gateway`, an event.
pub(crate) fn attempt_start(
    conn: &Connection,
    payment_id: &str,
    seq: u32,
    gateway: &str,
    at: OffsetDateTime,
) -> Result<(), LedgerError> {
    let now = millis(at);
    let updated = conn
        .prepare_cached("UPDATE payments SET gateway = ?2, updated_at = ?3 WHERE payment_id = ?1")?
        .execute(params![payment_id, gateway, now])?;
    if updated == 0 {
        return Err(LedgerError::NotFound(format!("payment {payment_id}")));
    }
    conn.prepare_cached(
        "INSERT INTO attempts (payment_id, seq, gateway, outcome, latency_ms, started_at)
         VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
    )?
    .execute(params![payment_id, seq, gateway, ATTEMPT_STARTED, now])?;
    append_event(
        conn,
        payment_id,
        "attempt_started",
        None,
        &json!({ "seq": seq, "gateway": gateway }),
        at,
    )?;
    Ok(())
}

/// Final linkage of an initiation, its attempts, an event and the stored response.
///
/// The initiation's answer goes through the same precedence as a callback: it never
/// overwrites a state a faster callback set (a `pending` answer after a callback's
/// `succeeded` changes nothing; a decline after it is a `conflict`). A status change
/// it makes — `initiated` → `pending`, `unknown`, `failed`, `succeeded` — is queued in
/// the outbox like any other, under an event id derived from the payment (so at most
/// once).
pub(crate) fn complete(conn: &Connection, c: &Completion) -> Result<usize, LedgerError> {
    let Some(p) = super::callbacks::load_payment(conn, "payment_id = ?1", &[&c.payment_id])? else {
        return Err(LedgerError::NotFound(format!("payment {}", c.payment_id)));
    };
    let current = p.status;
    let decision = if current == PaymentStatus::Initiated && c.status == PaymentStatus::Unknown {
        // The only source of `unknown`: an initiation that cannot tell.
        Decision::Apply {
            late_success: false,
        }
    } else if current != PaymentStatus::Initiated && !c.status.is_final() {
        // A faster callback already moved the payment: the initiation's progress
        // answer (`pending`, `unknown`) is older news than that.
        Decision::Unchanged
    } else {
        decide(current, c.status)
    };
    let (status, kept) = match decision {
        Decision::Apply { .. } => (c.status, false),
        Decision::Unchanged | Decision::Conflict => (current, current != c.status),
    };
    let reason = if kept {
        None
    } else {
        c.reason.map(|r| r.as_str())
    };
    let at = millis(c.at);

    conn.prepare_cached(
        "UPDATE payments SET gateway = ?2,
             gateway_payment_id = COALESCE(?3, gateway_payment_id),
             status = ?4,
             reason = CASE WHEN ?7 THEN reason ELSE ?5 END,
             raw_status = CASE WHEN ?7 THEN raw_status ELSE COALESCE(?6, raw_status) END,
             updated_at = ?8,
             bound_gateway_payment_id = CASE WHEN ?9
                 THEN COALESCE(bound_gateway_payment_id, ?3) ELSE bound_gateway_payment_id END
         WHERE payment_id = ?1",
    )?
    .execute(params![
        c.payment_id,
        c.gateway,
        c.gateway_payment_id,
        status.as_str(),
        reason,
        c.raw_status,
        kept,
        at,
        c.binds_gateway_payment_id,
    ])?;
    if !kept && status == PaymentStatus::Succeeded {
        super::money::persist_flags(
            conn,
            &c.payment_id,
            false,
            false,
            c.gateway_payment_id.as_deref(),
            None,
        )?;
    }

    let mut upsert = conn.prepare_cached(
        "INSERT INTO attempts (payment_id, seq, gateway, outcome, latency_ms, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (payment_id, seq) DO UPDATE SET
             gateway = excluded.gateway,
             outcome = excluded.outcome,
             latency_ms = excluded.latency_ms",
    )?;
    for (i, a) in c.attempts.iter().enumerate() {
        let latency = i64::try_from(a.latency_ms).unwrap_or(i64::MAX);
        upsert.execute(params![
            c.payment_id,
            i as i64 + 1,
            a.gateway,
            a.outcome,
            latency,
            at
        ])?;
    }

    let stored = conn
        .prepare_cached(
            "UPDATE idempotency SET completed = 1, http_status = ?3, response_body = ?4
             WHERE key = ?1 AND payment_id = ?2",
        )?
        .execute(params![
            c.idempotency_key,
            c.payment_id,
            c.response.http_status,
            c.response.body,
        ])?;
    if stored == 0 {
        return Err(LedgerError::NotFound(format!(
            "idempotency key {} for payment {}",
            c.idempotency_key, c.payment_id
        )));
    }

    let mut detail = json!({
        "gateway": c.gateway,
        "gateway_payment_id": c.gateway_payment_id,
        "reported_status": c.status.as_str(),
        "reason": c.reason.map(|r| r.as_str()),
        "raw_status": c.raw_status,
        "http_status": c.response.http_status,
        "attempts": c.attempts,
    });
    if kept {
        detail["status_kept"] = json!(current.as_str());
    }
    append_event(
        conn,
        &c.payment_id,
        "completed",
        Some(status),
        &detail,
        c.at,
    )?;
    let conflict = matches!(decision, Decision::Conflict);
    if status != current || conflict {
        let late_success = matches!(decision, Decision::Apply { late_success: true });
        super::callbacks::forward(
            conn,
            &initiation_event(c, &p, status, late_success, conflict),
        )?;
    }
    // Callbacks that arrived before this answer (known only by the gateway's id).
    super::callbacks::link_orphans(
        conn,
        &c.payment_id,
        &c.gateway,
        c.gateway_payment_id.as_deref(),
    )
}

/// The outbox event of an initiation's answer (one per payment: its id is derived
/// from the payment id).
fn initiation_event(
    c: &Completion,
    p: &super::callbacks::PaymentRow,
    status: PaymentStatus,
    late_success: bool,
    conflict: bool,
) -> PaymentEvent {
    let money_in = matches!(status, PaymentStatus::Succeeded | PaymentStatus::Deemed);
    let flags = Flags {
        late_success,
        conflict,
        tpv_failed: p.tpv_failed,
        amount_mismatch: p.amount_mismatch,
        refund_required: p.tpv_failed && money_in,
        ..Flags::default()
    };
    PaymentEvent {
        event_id: initiation_event_id(&c.payment_id),
        kind: "payment".into(),
        source: "initiation".into(),
        payment_id: p.payment_id.clone(),
        order_id: p.order_id.clone(),
        merchant_txn_id: p.merchant_txn_id.clone(),
        gateway: c.gateway.clone(),
        gateway_payment_id: c
            .gateway_payment_id
            .clone()
            .or_else(|| p.gateway_payment_id.clone()),
        utr: p.utr.clone(),
        rrn: p.rrn.clone(),
        status,
        previous_status: Some(p.status),
        reason: if status.is_final() { c.reason } else { None },
        raw_status: c.raw_status.clone().unwrap_or_default(),
        raw_code: None,
        amount: p.amount,
        currency: p.currency.clone(),
        occurred_at: c.at,
        received_at: c.at,
        payer_vpa_masked: None,
        flags,
        stale: false,
        refund: None,
        order_action: OrderAction::decide(status, flags, false),
    }
}

/// The event id of a payment's initiation answer.
pub fn initiation_event_id(payment_id: &str) -> String {
    event_id("switchyard", &format!("initiation:{payment_id}"))
}

/// Proves the database is writable: a heartbeat row in `meta`.
pub(crate) fn ping(conn: &Connection, at: OffsetDateTime) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('last_ping', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![millis(at).to_string()])?;
    Ok(())
}

/// Rewrites a 64 KiB row: proof that a real write fits again after the disk filled
/// (a ping alone may fit into pages the WAL already holds).
pub(crate) fn probe(conn: &Connection, at: OffsetDateTime) -> Result<(), LedgerError> {
    let mut fill = "0".repeat(65_536);
    fill.push_str(&millis(at).to_string());
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('readiness_probe', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![fill])?;
    Ok(())
}

/// Appends one row to the append-only `events` table; returns its `seq`.
pub(crate) fn append_event(
    conn: &Connection,
    payment_id: &str,
    kind: &str,
    status: Option<PaymentStatus>,
    detail: &serde_json::Value,
    at: OffsetDateTime,
) -> Result<i64, LedgerError> {
    conn.prepare_cached(
        "INSERT INTO events (payment_id, kind, status, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        payment_id,
        kind,
        status.map(|s| s.as_str()),
        detail.to_string(),
        millis(at),
    ])?;
    Ok(conn.last_insert_rowid())
}
