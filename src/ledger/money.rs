//! The money checks the ledger makes on every event before precedence (DESIGN.md
//! section 4, docs/MONEY.md), and the order-level lookup the initiation flow
//! consults before routing.
//!
//! - **A secret speaks for its own gateway only**: an event verified with gateway
//!   G's secret may move a payment only if one of its attempts went to G.
//! - **Money checked on arrival**: a payment event's amount or currency that differs
//!   from the intent sets `amount_mismatch` (kept on the payment row).
//! - **A second payment is its own event**: a success carrying another gateway
//!   payment id than the one that paid is a duplicate payment (`duplicate_payments`).
//! - **TPV flags are persisted** on the payment row, so a later success (or a status
//!   check that cannot see TPV) still knows the money must go back.
//! - **One order, one live payment**: [`order_guard`] finds an order's live or
//!   succeeded payment (index `payments_by_order`).

use rusqlite::{Connection, OptionalExtension, params};

use super::LedgerError;
use super::callbacks::PaymentRow;
use crate::model::{Incoming, PaymentStatus};

/// Migration (money area): the flags kept on the payment row, the gateway payment
/// id that paid, and the duplicate payments seen for an intent. Existing rows read
/// as unflagged.
pub(crate) const MIGRATION: &str = r#"
ALTER TABLE payments ADD COLUMN tpv_failed INTEGER NOT NULL DEFAULT 0 CHECK (tpv_failed IN (0, 1));
ALTER TABLE payments ADD COLUMN amount_mismatch INTEGER NOT NULL DEFAULT 0
    CHECK (amount_mismatch IN (0, 1));
-- The gateway payment id of the success that was applied (for a payment link the
-- initiation only knows the link's id).
ALTER TABLE payments ADD COLUMN paid_gateway_payment_id TEXT;

-- Successes for an intent that already has one: each must be refunded.
CREATE TABLE duplicate_payments (
    payment_id         TEXT    NOT NULL,
    gateway            TEXT    NOT NULL,
    gateway_payment_id TEXT    NOT NULL,
    event_id           TEXT    NOT NULL,
    amount_paise       INTEGER,
    received_at        INTEGER NOT NULL,
    PRIMARY KEY (payment_id, gateway, gateway_payment_id)
) STRICT;
"#;

/// Migration (money area, item 5): the gateway payment an initiation created, when
/// the connector binds its id to the payment (`Completion::binds_gateway_payment_id`).
pub(crate) const BOUND_MIGRATION: &str = r#"
ALTER TABLE payments ADD COLUMN bound_gateway_payment_id TEXT;
"#;

/// Migration (money area): what the gateway says it captured, when its success
/// carried an amount. It differs from the intent's only on an amount mismatch; the
/// refunds are counted against it (a TPV failure returns what the customer paid).
pub(crate) const CAPTURED_MIGRATION: &str = r#"
ALTER TABLE payments ADD COLUMN captured_paise INTEGER CHECK (captured_paise > 0);
"#;

/// Whether `gateway` (the one whose secret verified the event) may move payment
/// `p`: it is the payment's gateway, or one of its attempts reached it.
pub(crate) fn gateway_may_speak(
    conn: &Connection,
    p: &PaymentRow,
    gateway: &str,
) -> Result<bool, LedgerError> {
    if p.gateway == gateway {
        return Ok(true);
    }
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM attempts WHERE payment_id = ?1 AND gateway = ?2
                 AND outcome <> 'not_sent' LIMIT 1",
        )?
        .query_row(params![p.payment_id, gateway], |r| r.get(0))
        .optional()?;
    Ok(found.is_some())
}

/// Whether a payment event's amount or currency differs from the intent's. A
/// refund event's amount is the refund's, never compared here.
pub(crate) fn amount_differs(inc: &Incoming, p: &PaymentRow) -> bool {
    if inc.kind != "payment" {
        return false;
    }
    let amount = inc.amount.is_some_and(|a| a != p.amount);
    let currency = inc
        .currency
        .as_deref()
        .is_some_and(|c| !c.trim().eq_ignore_ascii_case(&p.currency));
    amount || currency
}

/// States in which the intent's money has arrived (or arrived and went back): a
/// further success with another gateway payment id is a second payment.
pub(crate) fn paid(s: PaymentStatus) -> bool {
    use PaymentStatus as S;
    matches!(
        s,
        S::Succeeded | S::PartiallyRefunded | S::Refunded | S::Reversed
    )
}

/// `Some(gateway payment id)` when `inc` is a success for another gateway payment
/// than the one that paid `p`, or, before anything paid, than the one its
/// initiation created where the connector binds that id (the first payment's
/// callbacks may be late or lost: a second payment must not take its place).
pub(crate) fn second_payment<'a>(inc: &'a Incoming, p: &PaymentRow) -> Option<&'a str> {
    if inc.kind != "payment" || inc.status != Some(PaymentStatus::Succeeded) {
        return None;
    }
    let incoming = inc.gateway_payment_id.as_deref()?;
    let ours = if paid(p.status) {
        p.paid_gateway_payment_id
            .as_deref()
            .or(p.bound_gateway_payment_id.as_deref())?
    } else {
        p.bound_gateway_payment_id.as_deref()?
    };
    (incoming != ours).then_some(incoming)
}

/// Records a duplicate payment; `false` when this gateway payment was seen before.
pub(crate) fn record_duplicate(
    conn: &Connection,
    inc: &Incoming,
    p: &PaymentRow,
    gateway_payment_id: &str,
) -> Result<bool, LedgerError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO duplicate_payments (payment_id, gateway, gateway_payment_id, event_id,
                 amount_paise, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            p.payment_id,
            inc.gateway,
            gateway_payment_id,
            inc.event_id,
            inc.amount,
            super::millis(inc.received_at),
        ])?;
    Ok(n == 1)
}

/// Keeps the money flags and the paying gateway payment id on the payment row
/// (flags only ever turn on).
/// `captured`: the amount the applied success carried, kept with the paying id.
pub(crate) fn persist_flags(
    conn: &Connection,
    payment_id: &str,
    tpv_failed: bool,
    amount_mismatch: bool,
    paid_by: Option<&str>,
    captured: Option<i64>,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "UPDATE payments SET tpv_failed = MAX(tpv_failed, ?2),
             amount_mismatch = MAX(amount_mismatch, ?3),
             captured_paise = CASE WHEN paid_gateway_payment_id IS NULL AND ?4 IS NOT NULL
                 AND ?5 > 0 THEN ?5 ELSE captured_paise END,
             paid_gateway_payment_id = COALESCE(paid_gateway_payment_id, ?4)
         WHERE payment_id = ?1",
    )?
    .execute(params![
        payment_id,
        tpv_failed,
        amount_mismatch,
        paid_by,
        captured
    ])?;
    Ok(())
}

/// An order's payment that decides where (or whether) the order may pay again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPayment {
    pub payment_id: String,
    pub gateway: String,
    pub status: PaymentStatus,
}

/// What the order-level guard found for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderGuard {
    /// No live or succeeded payment: route freely.
    Free,
    /// This idempotency key is already known: the idempotency check answers.
    KnownKey,
    /// The order has a succeeded (or partially refunded) payment.
    Succeeded(OrderPayment),
    /// The order has a live payment whose outcome at the gateway is in doubt
    /// (`unknown`, or `initiated`: the call is in flight or was cut off): the
    /// gateway may hold it, so a new payment there could be a second one.
    InDoubt(OrderPayment),
    /// The order has a live payment the gateway confirmed (pending, deemed,
    /// authorized).
    Live(OrderPayment),
}

/// The order's newest succeeded payment, else its newest live one in doubt, else
/// its newest live one (an index lookup by order id). A key seen before is left to
/// the idempotency check.
pub fn order_guard(
    conn: &Connection,
    order_id: &str,
    idempotency_key: &str,
) -> Result<OrderGuard, LedgerError> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM idempotency WHERE key = ?1")?
        .query_row([idempotency_key], |r| r.get(0))
        .optional()?;
    if known.is_some() {
        return Ok(OrderGuard::KnownKey);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT payment_id, gateway, status FROM payments
         WHERE order_id = ?1
           AND status IN ('succeeded', 'partially_refunded',
                          'initiated', 'pending', 'deemed', 'authorized', 'unknown')
         ORDER BY created_at DESC",
    )?;
    let rows = stmt.query_map([order_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let (mut live, mut in_doubt) = (None, None);
    for row in rows {
        let (payment_id, gateway, status) = row?;
        let status = PaymentStatus::parse(&status)
            .ok_or_else(|| LedgerError::Corrupt(format!("payment status {status:?}")))?;
        let p = OrderPayment {
            payment_id,
            gateway,
            status,
        };
        match status {
            PaymentStatus::Unknown | PaymentStatus::Initiated => {
                in_doubt.get_or_insert(p);
            }
            s if !s.is_final() => {
                live.get_or_insert(p);
            }
            _ => return Ok(OrderGuard::Succeeded(p)),
        }
    }
    Ok(match (in_doubt, live) {
        (Some(p), _) => OrderGuard::InDoubt(p),
        (None, Some(p)) => OrderGuard::Live(p),
        (None, None) => OrderGuard::Free,
    })
}

/// What to do with a new payment for an order that already has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRule {
    /// 409 with a stable code.
    Refuse,
    /// Only on the existing payment's gateway (never another one).
    Pin,
}

/// `[server] order_guard_succeeded` / `order_guard_in_doubt` / `order_guard_live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPolicy {
    /// An order with a succeeded payment (default: refuse).
    pub succeeded: OrderRule,
    /// An order with a live payment whose outcome is in doubt (default: refuse:
    /// pinning would start a second payment at the gateway that may hold the
    /// first; the checkout polls the payment named in the 409 instead).
    pub in_doubt: OrderRule,
    /// An order with a live payment the gateway confirmed (default: pin).
    pub live: OrderRule,
}

impl Default for OrderPolicy {
    fn default() -> Self {
        OrderPolicy {
            succeeded: OrderRule::Refuse,
            in_doubt: OrderRule::Refuse,
            live: OrderRule::Pin,
        }
    }
}

/// The guard's verdict for a new payment of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Route as usual.
    Free,
    /// Route only to this gateway.
    Pin(String),
    /// Refuse: the order already has this payment.
    Refuse(OrderGuard),
}

impl OrderPolicy {
    pub fn judge(&self, guard: OrderGuard) -> Verdict {
        let (rule, p) = match &guard {
            OrderGuard::Free | OrderGuard::KnownKey => return Verdict::Free,
            OrderGuard::Succeeded(p) => (self.succeeded, p),
            OrderGuard::InDoubt(p) => (self.in_doubt, p),
            OrderGuard::Live(p) => (self.live, p),
        };
        match rule {
            OrderRule::Pin => Verdict::Pin(p.gateway.clone()),
            OrderRule::Refuse => Verdict::Refuse(guard),
        }
    }
}

/// The guard inside the write-ahead transaction (closes the race between two new
/// keys for one order): `Some(refusal)` when `gateway` may not take this order now.
pub(crate) fn guard_in_begin(
    conn: &Connection,
    order_id: &str,
    idempotency_key: &str,
    gateway: &str,
    policy: OrderPolicy,
) -> Result<Option<OrderGuard>, LedgerError> {
    let guard = order_guard(conn, order_id, idempotency_key)?;
    Ok(match policy.judge(guard.clone()) {
        Verdict::Free => None,
        Verdict::Pin(g) if g == gateway => None,
        Verdict::Pin(_) | Verdict::Refuse(_) => Some(guard),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(status: PaymentStatus) -> OrderPayment {
        OrderPayment {
            payment_id: "pay_1".into(),
            gateway: "rzp".into(),
            status,
        }
    }

    #[test]
    fn default_policy_refuses_paid_and_pins_live_orders() {
        let d = OrderPolicy::default();
        assert_eq!(d.judge(OrderGuard::Free), Verdict::Free);
        assert_eq!(d.judge(OrderGuard::KnownKey), Verdict::Free);
        assert_eq!(
            d.judge(OrderGuard::Live(p(PaymentStatus::Pending))),
            Verdict::Pin("rzp".into())
        );
        let doubt = OrderGuard::InDoubt(p(PaymentStatus::Unknown));
        assert_eq!(d.judge(doubt.clone()), Verdict::Refuse(doubt));
        let paid = OrderGuard::Succeeded(p(PaymentStatus::Succeeded));
        assert_eq!(d.judge(paid.clone()), Verdict::Refuse(paid));
        let strict = OrderPolicy {
            succeeded: OrderRule::Refuse,
            in_doubt: OrderRule::Refuse,
            live: OrderRule::Refuse,
        };
        let live = OrderGuard::Live(p(PaymentStatus::Pending));
        assert_eq!(strict.judge(live.clone()), Verdict::Refuse(live));
    }
}
