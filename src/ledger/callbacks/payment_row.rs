//! The payment row an incoming event is applied to, and how an event finds it (our
//! payment id, else the gateway's payment id, else the merchant's order id).

use rusqlite::{Connection, OptionalExtension};

use crate::ledger::LedgerError;
use crate::model::{Incoming, Method, PaymentStatus};

/// The payment row fields an event needs.
pub(crate) struct PaymentRow {
    pub payment_id: String,
    pub order_id: String,
    pub merchant_txn_id: String,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
    pub utr: Option<String>,
    pub rrn: Option<String>,
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency: String,
    pub method: Option<Method>,
    /// Money flags kept on the row (`ledger::money`).
    pub tpv_failed: bool,
    pub amount_mismatch: bool,
    /// The gateway payment id of the applied success.
    pub paid_gateway_payment_id: Option<String>,
    /// The gateway payment the initiation created, where the connector binds it.
    pub bound_gateway_payment_id: Option<String>,
    /// What the gateway captured, when its success said (else the intent's amount).
    pub captured_paise: Option<i64>,
}

const PAYMENT_COLS: &str = "payment_id, order_id, merchant_txn_id, gateway, gateway_payment_id,
     utr, rrn, status, amount_paise, currency, method, tpv_failed, amount_mismatch,
     paid_gateway_payment_id, bound_gateway_payment_id, captured_paise";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(PaymentRow, String)> {
    let status: String = r.get(7)?;
    let method: String = r.get(10)?;
    Ok((
        PaymentRow {
            payment_id: r.get(0)?,
            order_id: r.get(1)?,
            merchant_txn_id: r.get(2)?,
            gateway: r.get(3)?,
            gateway_payment_id: r.get(4)?,
            utr: r.get(5)?,
            rrn: r.get(6)?,
            status: PaymentStatus::Unknown,
            amount: r.get(8)?,
            currency: r.get(9)?,
            method: Method::parse(&method),
            tpv_failed: r.get(11)?,
            amount_mismatch: r.get(12)?,
            paid_gateway_payment_id: r.get(13)?,
            bound_gateway_payment_id: r.get(14)?,
            captured_paise: r.get(15)?,
        },
        status,
    ))
}

pub(crate) fn load_payment(
    conn: &Connection,
    sql_where: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Option<PaymentRow>, LedgerError> {
    let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE {sql_where} LIMIT 1");
    let found = conn.prepare_cached(&sql)?.query_row(args, row).optional()?;
    let Some((mut p, status)) = found else {
        return Ok(None);
    };
    p.status = PaymentStatus::parse(&status)
        .ok_or_else(|| LedgerError::Corrupt(format!("payment status {status:?}")))?;
    Ok(Some(p))
}

/// Finds the payment an event belongs to: by our id (echoed as the merchant
/// reference), then by the gateway's payment id on that gateway.
pub(super) fn find_payment(
    conn: &Connection,
    inc: &Incoming,
) -> Result<Option<PaymentRow>, LedgerError> {
    for id in [&inc.payment_ref, &inc.merchant_order_id]
        .into_iter()
        .flatten()
    {
        if let Some(p) = load_payment(conn, "payment_id = ?1", &[id])? {
            return Ok(Some(p));
        }
    }
    if let Some(gid) = &inc.gateway_payment_id {
        return load_payment(
            conn,
            "gateway = ?1 AND gateway_payment_id = ?2",
            &[&inc.gateway, gid],
        );
    }
    Ok(None)
}
