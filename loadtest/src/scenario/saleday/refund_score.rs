//! Scoring the sale day's refunds against the gateways' books: every refund went to
//! the gateway and gateway payment that took the money, no gateway payment refunded
//! above what it took, every refund final and the ledger agreeing with the gateway,
//! a resent key answered with the same refund, at most one racer taken, and every
//! payment the automatic policy must refund (TPV failed, paid twice, success after
//! a failure) refunded in full.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use switchyard::sandbox::refunds::{SbxRefund, SbxRefundStatus};
use switchyard::sandbox::truth::TruthRecord;

use super::Outcome;
use super::refunds::{Ask, Requested};

/// Adds the refund rows to `o`. `ledger_refunds`: every refund of every payment
/// (`GET /v1/payments/{id}/refunds`), by payment id.
pub(super) fn score_refunds(
    o: &mut Outcome,
    truth: &[TruthRecord],
    books: &[SbxRefund],
    ledger_refunds: &BTreeMap<String, Vec<Value>>,
    requested: &[Requested],
    events: &[Value],
) {
    // A success after a failure is owed its money back only where the merchant was
    // told of the failure first (the success event is flagged `late_success`); where
    // the success arrived first the older failure is a conflict, and the order stands.
    let told_late: std::collections::HashSet<&str> = events
        .iter()
        .filter(|e| e["flags"]["late_success"] == true)
        .filter_map(|e| e["payment_id"].as_str())
        .collect();
    let mut examples: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut note = |k: &'static str, s: String| {
        let l = examples.entry(k).or_default();
        if l.len() < 5 {
            l.push(s);
        }
    };
    // What each gateway payment took: (gateway, gateway payment id) → (payment id, paise).
    let mut took: HashMap<(&str, &str), (&str, i64)> = HashMap::new();
    for t in truth.iter().filter(|t| t.status == "succeeded") {
        if let Some(g) = t.gateway_payment_id.as_deref() {
            let paid = t.amount_paid.unwrap_or(t.amount_requested);
            took.insert((t.gateway.as_str(), g), (t.payment_id.as_str(), paid));
        }
    }
    for t in truth {
        if let Some(d) = t.duplicate_gateway_payment_id.as_deref() {
            took.insert(
                (t.gateway.as_str(), d),
                (t.payment_id.as_str(), t.amount_requested),
            );
        }
    }
    // Money back per gateway payment (processed refunds), and the wrong ones.
    let (mut wrong, mut over) = (0u64, 0u64);
    let mut back: HashMap<(&str, &str), i64> = HashMap::new();
    let mut held: HashMap<(&str, &str), i64> = HashMap::new();
    for r in books {
        let k = (r.gateway.as_str(), r.gateway_payment_id.as_str());
        match took.get(&k) {
            Some((pid, _)) if r.payment_id.as_deref().is_none_or(|p| p == *pid) => {}
            _ => {
                wrong += 1;
                note("wrong_gateway", format!("{r:?}"));
            }
        }
        if r.status != SbxRefundStatus::Failed {
            *held.entry(k).or_default() += r.amount;
        }
        if r.status == SbxRefundStatus::Processed {
            *back.entry(k).or_default() += r.amount;
        }
    }
    for (k, sum) in &held {
        if took.get(k).is_some_and(|(_, paid)| sum > paid) {
            over += 1;
            note("over_refund", format!("{k:?}: {sum} refunded"));
        }
    }
    // The ledger against the books: every refund final, and the same outcome.
    let by_id: HashMap<&str, &SbxRefund> =
        books.iter().map(|r| (r.refund_id.as_str(), r)).collect();
    let (mut non_final, mut disagree, mut in_ledger) = (0u64, 0u64, 0u64);
    let mut auto = 0u64;
    let mut failed_by: BTreeMap<String, u64> = BTreeMap::new();
    for r in ledger_refunds.values().flatten() {
        in_ledger += 1;
        if r["status"] == "failed" {
            let code = r["failure_code"].as_str().unwrap_or("none").to_string();
            *failed_by.entry(code).or_default() += 1;
        }
        auto += u64::from(r["origin"] == "auto");
        let status = r["status"].as_str().unwrap_or("");
        let id = r["refund_id"].as_str().unwrap_or("");
        if status == "pending" {
            non_final += 1;
            note("non_final", r.to_string());
        }
        let at_gateway = by_id.get(id).map(|b| b.status);
        let agrees = matches!(
            (status, at_gateway),
            ("succeeded", Some(SbxRefundStatus::Processed))
                | ("failed", None | Some(SbxRefundStatus::Failed))
                | ("pending", Some(SbxRefundStatus::Pending))
        );
        if !agrees {
            disagree += 1;
            note("disagrees", format!("ledger {r} / gateway {at_gateway:?}"));
        }
    }
    // The merchant's requests.
    let resent: Vec<&Requested> = requested.iter().filter(|r| r.ask == Ask::Resent).collect();
    let resent_other = resent
        .iter()
        .filter(|r| r.refund_id.is_some() && r.resent_refund_id != r.refund_id)
        .count() as u64;
    let mut races: HashMap<usize, u32> = HashMap::new();
    for r in requested.iter().filter(|r| r.ask == Ask::Race) {
        let taken = r
            .refund_id
            .as_deref()
            .and_then(|id| by_id.get(id))
            .is_some_and(|b| b.status == SbxRefundStatus::Processed);
        *races.entry(r.race.unwrap_or(0)).or_default() += u32::from(taken);
    }
    let both_taken = races.values().filter(|n| **n > 1).count() as u64;
    let answered = requested.iter().filter(|r| r.refund_id.is_some()).count() as u64;
    let refused = requested
        .iter()
        .filter(|r| r.http_status.is_some_and(|s| (400..500).contains(&s)))
        .count() as u64;
    let unanswered = requested.iter().filter(|r| r.http_status.is_none()).count() as u64;
    // What the automatic policy must give back, in full.
    // In full: at least the intent's amount (a customer who paid more than asked is
    // an amount mismatch, held for reconciliation).
    let full_back = |gw: &str, g: Option<&str>, need: i64| {
        g.and_then(|g| back.get(&(gw, g)))
            .is_some_and(|b| *b >= need)
    };
    let (mut must, mut missing) = (0u64, 0u64);
    for t in truth
        .iter()
        .filter(|t| t.status == "succeeded" && !t.orphan)
    {
        let paid = t
            .amount_paid
            .unwrap_or(t.amount_requested)
            .min(t.amount_requested);
        let primary = t.gateway_payment_id.as_deref();
        let why = if t.tpv_failed {
            Some(("tpv_failed", full_back(&t.gateway, primary, paid)))
        } else if t.failed_first && told_late.contains(t.payment_id.as_str()) {
            Some(("late_success", full_back(&t.gateway, primary, paid)))
        } else {
            t.duplicate_gateway_payment_id.as_deref().map(|d| {
                let either = full_back(&t.gateway, Some(d), t.amount_requested)
                    || full_back(&t.gateway, primary, paid);
                ("duplicate_payment", either)
            })
        };
        if let Some((reason, ok)) = why {
            must += 1;
            if !ok {
                missing += 1;
                note(
                    "auto_missing",
                    format!("{reason}: {} at {}", t.payment_id, t.gateway),
                );
            }
        }
    }
    // Orders whose customer is left paying more than once: paid gateway payments
    // (successes and second payments) of one order not refunded in full.
    let mut kept: HashMap<&str, (u64, u64)> = HashMap::new();
    for t in truth.iter().filter(|t| !t.orphan) {
        let Some(order) = t.order_id.as_deref() else {
            continue;
        };
        let mut paid_ids = Vec::new();
        if t.status == "succeeded" {
            paid_ids.push(t.gateway_payment_id.as_deref());
        }
        paid_ids.push(t.duplicate_gateway_payment_id.as_deref());
        for g in paid_ids.into_iter().flatten() {
            let e = kept.entry(order).or_default();
            e.0 += 1;
            e.1 += u64::from(!full_back(&t.gateway, Some(g), t.amount_requested));
        }
    }
    let paid_twice = kept.values().filter(|(n, _)| *n > 1).count() as u64;
    let left_twice = kept.values().filter(|(_, k)| *k > 1).count() as u64;
    o.row(
        "double_charged_orders",
        "orders left paid more than once (not refunded)",
        left_twice,
    );
    o.row(
        "orders_paid_twice",
        "orders paid more than once, before refunds",
        paid_twice,
    );
    let count = |f: fn(&TruthRecord) -> bool| truth.iter().filter(|t| f(t)).count() as u64;
    o.row(
        "refunds_wrong_gateway",
        "refunds to another gateway or gateway payment",
        wrong,
    );
    o.row(
        "refunds_over",
        "gateway payments refunded above what they took",
        over,
    );
    o.row("refunds_non_final", "refunds left non-final", non_final);
    o.row(
        "refunds_disagree",
        "refunds whose ledger status disagrees with the gateway",
        disagree,
    );
    o.row(
        "refund_resent_other",
        "resent refund keys answered with another refund",
        resent_other,
    );
    o.row(
        "refund_races_both_taken",
        "refund races where both refunds were taken",
        both_taken,
    );
    o.row(
        "refunds_auto_missing",
        "payments owed an automatic refund and not refunded in full",
        missing,
    );
    o.row(
        "refunds_requested",
        "refunds requested (distinct keys)",
        requested.len() as u64,
    );
    o.row(
        "refunds_requested_answered",
        "  answered with a refund",
        answered,
    );
    o.row(
        "refunds_requested_refused",
        "  refused with a 4xx (e.g. above what is left)",
        refused,
    );
    o.row(
        "refunds_requested_unanswered",
        "  never answered",
        unanswered,
    );
    o.row(
        "refunds_resent",
        "  resent with the same key",
        resent.len() as u64,
    );
    o.row(
        "refund_races",
        "  races for more than what is left",
        races.len() as u64,
    );
    o.row("refunds_in_ledger", "refunds in the ledger", in_ledger);
    o.row("refunds_auto", "  made by the automatic policy", auto);
    o.row(
        "refunds_at_gateways",
        "refunds the gateways hold",
        books.len() as u64,
    );
    o.row(
        "refunds_auto_owed",
        "payments owed an automatic refund",
        must,
    );
    o.row(
        "truth_tpv_failed",
        "  TPV failed",
        count(|t| t.tpv_failed && t.status == "succeeded"),
    );
    o.row(
        "truth_paid_twice",
        "  paid twice",
        count(|t| t.duplicate_gateway_payment_id.is_some()),
    );
    o.row(
        "truth_late_success",
        "  success after a failure (the failure sent first)",
        count(|t| t.failed_first),
    );
    o.row(
        "late_success_told",
        "  of which the merchant was told of the failure first",
        told_late.len() as u64,
    );
    o.field(
        "refunds_failed_by_code",
        serde_json::to_value(&failed_by).unwrap_or_default(),
    );
    o.field(
        "refund_examples",
        serde_json::to_value(&examples).unwrap_or_default(),
    );
}
