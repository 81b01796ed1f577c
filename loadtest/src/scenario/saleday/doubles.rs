//! Telling double initiations from retries: for an order with several payments
//! created at the gateways, which later payment started only after the merchant was
//! told the one before had failed or been refunded in full (a retry, not a double).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use switchyard::sandbox::truth::TruthRecord;

/// For an order with several payments created at the gateways: how many of the
/// later ones started after the merchant was told the one before had failed (its
/// first failure event is older than the next payment), where that one took no
/// money or its late money went back in full; and a line per payment (the ledger's,
/// then every gateway's record of the order) for the examples.
pub(super) fn order_story(
    order: &str,
    ledger: &BTreeMap<String, Vec<Value>>,
    by_pid: &HashMap<&str, &TruthRecord>,
    truth: &[TruthRecord],
    failed_at: &HashMap<&str, time::OffsetDateTime>,
) -> (u64, String) {
    let at = |p: &Value, k: &str| rfc3339(&p[k]);
    let mut pays: Vec<&Value> = ledger
        .get(order)
        .map(|l| {
            l.iter()
                .filter(|p| {
                    p["payment_id"]
                        .as_str()
                        .and_then(|id| by_pid.get(id))
                        .is_some_and(|t| t.gateway_payment_id.is_some())
                })
                .collect()
        })
        .unwrap_or_default();
    pays.sort_by_key(|p| at(p, "created_at"));
    let mut legit = 0u64;
    for w in pays.windows(2) {
        let (e, l) = (w[0], w[1]);
        // The merchant was told the earlier one failed before the next one started,
        // and it took no money, or its late money went back in full (refunded).
        let eid = e["payment_id"].as_str().unwrap_or("");
        let before = matches!(
            (failed_at.get(eid), at(l, "created_at")),
            (Some(f), Some(c)) if *f <= c
        );
        let unpaid = by_pid.get(eid).is_some_and(|t| t.status != "succeeded");
        let given_back = e["status"] == "refunded";
        legit += u64::from(before && (unpaid || given_back));
    }
    let story = pays
        .iter()
        .map(|p| {
            let t = p["payment_id"].as_str().and_then(|id| by_pid.get(id));
            format!(
                "[{} {} {} created {} updated {}, truth {:?}]",
                p["payment_id"].as_str().unwrap_or(""),
                p["gateway"].as_str().unwrap_or(""),
                p["status"].as_str().unwrap_or(""),
                p["created_at"].as_str().unwrap_or(""),
                p["updated_at"].as_str().unwrap_or(""),
                t.map(|t| (&t.status, t.answer_lost, t.initiations))
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let at_gateways = truth
        .iter()
        .filter(|t| t.order_id.as_deref() == Some(order) && t.gateway_payment_id.is_some())
        .map(|t| {
            format!(
                "{{{} at {}: {} gpid {:?} answer_lost {} failed_first {}}}",
                t.payment_id,
                t.gateway,
                t.status,
                t.gateway_payment_id,
                t.answer_lost,
                t.failed_first
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    (legit, format!("{story}; at the gateways: {at_gateways}"))
}

pub(super) fn rfc3339(v: &Value) -> Option<time::OffsetDateTime> {
    v.as_str().and_then(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    })
}
