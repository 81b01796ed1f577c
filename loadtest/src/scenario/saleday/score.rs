//! Scoring the sale day: the ledger and the event stream against the sandboxes'
//! ground truth.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use switchyard::sandbox::truth::TruthRecord;

use super::Outcome;
use super::checkout::Checkout;
use super::doubles::{order_story, rfc3339};

pub(super) fn is_final(s: &str) -> bool {
    matches!(
        s,
        "succeeded"
            | "failed"
            | "expired"
            | "cancelled"
            | "reversed"
            | "refunded"
            | "partially_refunded"
    )
}

/// Scores the ledger and the event stream against the truth.
pub(super) fn score(
    truth: &[TruthRecord],
    ledger: &BTreeMap<String, Vec<Value>>,
    events: &[Value],
    checkouts: &[Checkout],
) -> Outcome {
    let mut o = Outcome::new("saleday");
    let by_pid: HashMap<&str, &TruthRecord> =
        truth.iter().map(|t| (t.payment_id.as_str(), t)).collect();
    // The last forwarded event of each payment (the sink keeps outbox order per payment).
    let mut last: HashMap<String, &Value> = HashMap::new();
    let mut paid_by: HashMap<String, &Value> = HashMap::new();
    // When the merchant was first told a payment holds no money: it failed, or its
    // money went back in full (a TPV failure refunded before the checkout retried).
    let mut failed_at: HashMap<&str, time::OffsetDateTime> = HashMap::new();
    for e in events {
        let told = matches!(
            e["status"].as_str(),
            Some("failed" | "expired" | "cancelled" | "refunded")
        );
        if let (true, Some(p), Some(at)) =
            (told, e["payment_id"].as_str(), rfc3339(&e["received_at"]))
        {
            let t = failed_at.entry(p).or_insert(at);
            *t = (*t).min(at);
        }
    }
    // The stream is at least once (docs/PIPELINE.md): a kill -9 between a sink's
    // fsync and its cursor write sends the same events again, and consumers
    // deduplicate by `event_id`. A re-sent event (same id, same body) is counted
    // apart; an id carried by two different events is the error.
    let mut seen_ids: HashMap<&str, &Value> = HashMap::new();
    let (mut dup_events, mut resent_events) = (0u64, 0u64);
    for e in events {
        if let Some(id) = e["event_id"].as_str() {
            match seen_ids.insert(id, e) {
                Some(before) if before == e => resent_events += 1,
                Some(_) => dup_events += 1,
                None => {}
            }
        }
        if let Some(p) = e["payment_id"].as_str() {
            last.insert(p.to_string(), e);
            // The event that first said the money was in (a duplicate's is its own).
            if e["kind"] == "payment"
                && e["status"] == "succeeded"
                && e["flags"]["duplicate_payment"] != true
            {
                paid_by.entry(p.to_string()).or_insert(e);
            }
        }
    }
    let (mut wrong_failed, mut wrong_succeeded, mut amount_errors) = (0u64, 0u64, 0u64);
    let (mut disagree, mut no_event, mut non_final) = (0u64, 0u64, 0u64);
    let mut no_event_declined = 0u64;
    let (mut by_callback, mut by_check, mut by_initiation, mut exception) =
        (0u64, 0u64, 0u64, 0u64);
    let mut paid = 0u64;
    let mut examples: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let note = |v: &mut BTreeMap<&'static str, Vec<String>>, k: &'static str, s: String| {
        let list = v.entry(k).or_default();
        if list.len() < 5 {
            list.push(s);
        }
    };
    let detail = |p: &Value, t: Option<&&TruthRecord>| {
        format!(
            "{} at {} ledger {} ({}), truth {:?}",
            p["payment_id"].as_str().unwrap_or(""),
            p["gateway"].as_str().unwrap_or(""),
            p["status"].as_str().unwrap_or(""),
            p["raw_status"].as_str().unwrap_or(""),
            t.map(|t| (
                &t.status,
                t.amount_paid,
                t.answer_lost,
                t.callbacks_dropped,
                t.failed_first,
                t.late
            ))
        )
    };
    for list in ledger.values() {
        for p in list {
            let pid = p["payment_id"].as_str().unwrap_or("");
            let status = p["status"].as_str().unwrap_or("");
            let amount = p["amount"].as_i64().unwrap_or(0);
            let t = by_pid.get(pid);
            let truly_paid = t.is_some_and(|t| t.status == "succeeded");
            if !is_final(status) {
                non_final += 1;
            }
            let failed_like = matches!(status, "failed" | "expired" | "cancelled");
            if truly_paid && failed_like {
                wrong_failed += 1;
                note(&mut examples, "wrongly_failed", detail(p, t));
            }
            if status == "succeeded" && !truly_paid {
                wrong_succeeded += 1;
                note(&mut examples, "wrongly_succeeded", detail(p, t));
            }
            let ev = last.get(pid).copied();
            if status == "succeeded"
                && let Some(t) = t
                && let Some(paid_amt) = t.amount_paid
                && paid_amt != amount
            {
                let held = ev.is_some_and(|e| {
                    e["flags"]["amount_mismatch"] == true || e["order_action"] == "hold"
                });
                if !held {
                    amount_errors += 1;
                    note(&mut examples, "amount", detail(p, Some(t)));
                }
            }
            match ev {
                None => {
                    no_event += 1;
                    let declined = p["attempts"]
                        .as_array()
                        .and_then(|a| a.last())
                        .is_some_and(|a| a["outcome"] == "declined");
                    if declined {
                        no_event_declined += 1;
                    }
                    if is_final(status) {
                        disagree += 1;
                        note(&mut examples, "no_event", detail(p, t));
                    }
                }
                Some(e) if e["status"].as_str() != Some(status) => {
                    disagree += 1;
                    note(
                        &mut examples,
                        "disagrees",
                        format!(
                            "{} / last event {} from {}",
                            detail(p, t),
                            e["status"],
                            e["source"]
                        ),
                    );
                }
                _ => {}
            }
            if truly_paid {
                paid += 1;
                // Refunded later is still resolved: the money came in, then went back.
                let in_money = matches!(status, "succeeded" | "partially_refunded" | "refunded");
                let pid = p["payment_id"].as_str().unwrap_or("");
                let sev = paid_by.get(pid).copied().or(ev);
                let src = sev.and_then(|e| e["source"].as_str()).unwrap_or("");
                let held = sev.is_some_and(|e| e["order_action"] == "hold" || e["stale"] == true);
                if !in_money || held {
                    exception += 1;
                    note(&mut examples, "exception", detail(p, t));
                } else {
                    match src {
                        "callback" => by_callback += 1,
                        "status_check" => by_check += 1,
                        _ => by_initiation += 1,
                    }
                }
            }
        }
    }
    // Double initiations: more than one payment created at the gateways for one
    // order, or one payment id initiated twice.
    let mut created_per_order: HashMap<&str, u64> = HashMap::new();
    let mut double = 0u64;
    for t in truth.iter().filter(|t| !t.orphan) {
        if t.gateway_payment_id.is_some()
            && let Some(o) = t.order_id.as_deref()
        {
            *created_per_order.entry(o).or_default() += 1;
        }
        if t.initiations > 1 {
            double += u64::from(t.initiations - 1);
            note(
                &mut examples,
                "double_initiation",
                format!(
                    "{} at {}: {} payments created",
                    t.payment_id, t.gateway, t.initiations
                ),
            );
        }
    }
    // An order paid again after its payment definitively failed (the ledger said
    // failed before the next one was created, and it truly was not paid) is a
    // retry, not a double initiation: only one payment could ever take money.
    let mut retried_after_failure = 0u64;
    for (o, n) in created_per_order.iter().filter(|(_, n)| **n > 1) {
        let (legit, story) = order_story(o, ledger, &by_pid, truth, &failed_at);
        retried_after_failure += legit;
        double += (n - 1).saturating_sub(legit);
        if n - 1 > legit {
            note(
                &mut examples,
                "double_initiation",
                format!("order {o}: {n} gateway payments: {story}"),
            );
        }
    }
    let replays: u64 = truth.iter().map(|t| u64::from(t.replays)).sum();
    let orphans = truth.iter().filter(|t| t.orphan).count() as u64;
    let orphans_forwarded = truth
        .iter()
        .filter(|t| t.orphan)
        .filter(|t| {
            events.iter().any(|e| {
                e["payment_id"].as_str() == Some(t.payment_id.as_str())
                    && e["flags"]["orphan"] == true
            })
        })
        .count() as u64;
    let pct = |n: u64| {
        if paid == 0 {
            0.0
        } else {
            100.0 * n as f64 / paid as f64
        }
    };
    let unanswered = checkouts.iter().filter(|c| c.payment_id.is_none()).count() as u64;
    let retried = checkouts.iter().filter(|c| c.tries > 1).count() as u64;
    o.row(
        "wrongly_failed_paid",
        "wrongly failed paid payments",
        wrong_failed,
    );
    o.row(
        "wrongly_succeeded_unpaid",
        "wrongly succeeded unpaid payments",
        wrong_succeeded,
    );
    o.row("amount_errors", "amount errors", amount_errors);
    o.row("double_initiations", "double initiations", double);
    o.row(
        "last_event_disagrees",
        "last forwarded event disagrees with ledger",
        disagree,
    );
    o.row("no_event", "payments with no forwarded event", no_event);
    o.row(
        "no_event_declined",
        "  of which declined at initiation",
        no_event_declined,
    );
    o.row("non_final", "payments left non-final", non_final);
    o.row("paid", "truly paid payments", paid);
    o.row(
        "resolved_by_callback_pct",
        "paid resolved by callback (%)",
        pct(by_callback),
    );
    o.row(
        "resolved_by_status_check_pct",
        "paid resolved by status check (%)",
        pct(by_check),
    );
    o.row(
        "resolved_at_initiation_pct",
        "paid resolved at initiation (%)",
        pct(by_initiation),
    );
    o.row(
        "exception_pct",
        "paid left as exception (%)",
        pct(exception),
    );
    o.row("orphans", "orphan callbacks sent", orphans);
    o.row(
        "orphans_forwarded",
        "orphans forwarded (flags.orphan)",
        orphans_forwarded,
    );
    o.row(
        "duplicate_event_ids",
        "event ids carried by two different events",
        dup_events,
    );
    o.row(
        "resent_events",
        "  events re-sent after a restart (same body)",
        resent_events,
    );
    o.row(
        "truth_records",
        "payments the gateways handled",
        truth.len() as u64,
    );
    o.row(
        "answer_lost",
        "created, answer lost (timeout)",
        truth.iter().filter(|t| t.answer_lost).count() as u64,
    );
    o.row(
        "replays",
        "same-payment retries answered with the created payment",
        replays,
    );
    o.row(
        "retried_after_failure",
        "orders paid again after a definitive failure (not double)",
        retried_after_failure,
    );
    o.row("checkouts_retried", "checkouts that retried", retried);
    o.row(
        "checkouts_new_key",
        "checkouts that retried the order with a new key after a 504",
        checkouts.iter().filter(|c| c.new_key).count() as u64,
    );
    o.row(
        "checkouts_unanswered",
        "checkouts with no payment id",
        unanswered,
    );
    o.field(
        "examples",
        serde_json::to_value(&examples).unwrap_or_default(),
    );
    o
}
