//! A connector's [`CallbackData`] (or a status-check [`StatusReport`]) → the
//! ledger's [`Incoming`]: deterministic event id, unified status and reason (from
//! the gateway's code, then the NPCI code), paise, UTC, masked VPA, raw status and
//! code kept, the refund as its own object.

use time::OffsetDateTime;

use crate::connectors::{CallbackData, RefundStatus, StatusReport};
use crate::model::{Incoming, PaymentStatus, Reason, RefundInfo, event_id, mask_vpa};

/// The reason for a failed/expired status: the connector's, else the NPCI code's
/// (UPI.md section 2), else `other`; none for any other status.
fn reason_for(
    status: Option<PaymentStatus>,
    given: Option<Reason>,
    raw_code: Option<&str>,
) -> Option<Reason> {
    match status {
        Some(PaymentStatus::Failed) => Some(
            given
                .or_else(|| raw_code.and_then(Reason::from_npci))
                .unwrap_or(Reason::Other),
        ),
        Some(PaymentStatus::Expired) => Some(given.unwrap_or(Reason::Expired)),
        _ => None,
    }
}

/// `None` for an event that is acknowledged and ignored (not a payment or refund).
pub fn from_callback(
    gateway: &str,
    cd: &CallbackData,
    received_at: OffsetDateTime,
) -> Option<Incoming> {
    let kind = cd.kind?;
    let refund = (kind == "refund").then(|| RefundInfo {
        refund_id: cd.refund_id.clone(),
        refund_status: cd
            .refund_status
            .unwrap_or(RefundStatus::Pending)
            .as_str()
            .to_string(),
        amount: cd.amount.map(|p| p.get()),
        reference: cd.utr.clone(),
        gateway_refund_id: cd.gateway_refund_id.clone(),
        merchant_refund_id: cd.merchant_refund_id.clone(),
    });
    Some(Incoming {
        event_id: event_id(gateway, &cd.gateway_event_id),
        gateway: gateway.to_string(),
        source: "callback".into(),
        kind: kind.to_string(),
        payment_ref: cd.payment_id.clone(),
        merchant_order_id: cd.merchant_order_id.clone(),
        gateway_payment_id: cd.gateway_payment_id.clone(),
        utr: cd.utr.clone(),
        rrn: cd.rrn.clone(),
        status: cd.status,
        reason: reason_for(cd.status, cd.reason, cd.raw_code.as_deref()),
        raw_status: cd.raw_status.clone(),
        raw_code: cd.raw_code.clone(),
        amount: cd.amount.map(|p| p.get()),
        currency: cd.currency.clone(),
        occurred_at: cd.occurred_at,
        received_at,
        payer_vpa_masked: cd.payer_vpa.as_deref().map(mask_vpa),
        tpv_failed: cd.tpv_failed,
        refund,
    })
}

/// A status-check answer as an ordinary event. Its identity is the answer itself,
/// so the same answer twice is a duplicate.
pub fn from_status(
    gateway: &str,
    payment_id: &str,
    r: &StatusReport,
    received_at: OffsetDateTime,
) -> Incoming {
    let identity = format!(
        "status:{payment_id}:{}:{}{}",
        r.raw_status,
        r.raw_code.as_deref().unwrap_or(""),
        if r.tpv_failed { ":tpv" } else { "" }
    );
    Incoming {
        event_id: event_id(gateway, &identity),
        gateway: gateway.to_string(),
        source: "status_check".into(),
        kind: "payment".into(),
        payment_ref: Some(payment_id.to_string()),
        merchant_order_id: None,
        gateway_payment_id: r.gateway_payment_id.clone(),
        utr: r.utr.clone(),
        rrn: r.rrn.clone(),
        status: Some(r.status),
        reason: reason_for(Some(r.status), r.reason, r.raw_code.as_deref()),
        raw_status: r.raw_status.clone(),
        raw_code: r.raw_code.clone(),
        amount: r.amount.map(|p| p.get()),
        currency: None,
        occurred_at: None,
        received_at,
        payer_vpa_masked: None,
        tpv_failed: r.tpv_failed,
        refund: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Paise;

    #[test]
    fn failure_reason_falls_back_to_npci_then_other() {
        assert_eq!(
            reason_for(Some(PaymentStatus::Failed), None, Some("Z9")),
            Some(Reason::InsufficientFunds)
        );
        assert_eq!(
            reason_for(Some(PaymentStatus::Failed), None, Some("??")),
            Some(Reason::Other)
        );
        assert_eq!(
            reason_for(Some(PaymentStatus::Succeeded), None, Some("00")),
            None
        );
    }

    #[test]
    fn masks_vpa_and_keeps_paise() {
        let cd = CallbackData {
            gateway_event_id: "e1".into(),
            kind: Some("payment"),
            status: Some(PaymentStatus::Succeeded),
            payer_vpa: Some("alice@okaxis".into()),
            amount: Some(Paise(49_900)),
            ..Default::default()
        };
        let inc = from_callback("g", &cd, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(inc.payer_vpa_masked.as_deref(), Some("a***@okaxis"));
        assert_eq!(inc.amount, Some(49_900));
        assert!(!serde_json::to_string(&inc).unwrap().contains("alice"));
        let ignored = CallbackData { kind: None, ..cd };
        assert!(from_callback("g", &ignored, OffsetDateTime::UNIX_EPOCH).is_none());
    }
}
