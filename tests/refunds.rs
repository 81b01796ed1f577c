//! Refunds end to end, per connector against its sandbox twin: full and partial
//! refunds, the refund webhook as an event, the refund status after a dropped
//! webhook, a lost refund call resent on the same refund id, the endpoint's
//! idempotency and refusals, and concurrent refunds racing for the last rupee.

mod common;
mod refunds_common;

use std::time::Duration;

use serde_json::{Value, json};
use switchyard::connectors::ConnectorKind;
use switchyard::model::PaymentStatus;
use switchyard::refunds::watch::scan;
use switchyard::sandbox::refunds::{RefundKnobs, SbxRefundStatus};
use time::OffsetDateTime;

use refunds_common::{
    KINDS, Twin, answers_final, eventually, gives_refund_arn, queries_refund_outcome,
    sends_refund_webhooks, twin,
};

/// The refund's final view: the call's answer where it carries the outcome, else
/// (the call only registered it: `pending`) settled by webhook or status query.
async fn final_view(t: &Twin, pid: &str, v: &Value, at: OffsetDateTime) -> Value {
    if answers_final(t.kind) || v["status"] != "pending" {
        return v.clone();
    }
    t.settled(pid, v["refund_id"].as_str().unwrap(), at).await
}

/// Waits until the twin has processed every refund it took.
async fn sandbox_processed(t: &Twin) {
    eventually("the sandbox settles the refund", || async {
        t.sandbox
            .refunds()
            .iter()
            .all(|r| r.status == SbxRefundStatus::Processed)
    })
    .await;
}

/// Past the refund pass's first-check delay, `days` days from now.
fn later_by(days: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(days)
}

/// The gateway payment a sandbox refund is on (Cashfree refunds by our order id).
fn refunded_on(kind: ConnectorKind, pid: &str, gpid: &str) -> String {
    match kind {
        ConnectorKind::Cashfree => pid.to_string(),
        _ => gpid.to_string(),
    }
}

#[tokio::test]
async fn full_and_partial_refunds_per_connector() {
    for kind in KINDS {
        let t = twin(kind, "").await;
        let (pid, gpid) = t.paid("o1", 10_000).await;
        let (s, v, replayed) = t
            .refund(&pid, "r1", json!({"amount": 4_000, "reason": "customer"}))
            .await;
        assert_eq!(s, 201, "{kind:?}: {v}");
        assert!(!replayed);
        assert_eq!(v["gateway"], t.name.as_str());
        assert_eq!(v["amount"], 4_000);
        assert!(v["gateway_refund_id"].is_string(), "{kind:?}: {v}");
        let v = final_view(&t, &pid, &v, later_by(1)).await;
        assert_eq!(v["status"], "succeeded", "{kind:?}: {v}");
        assert_eq!(t.payment_status(&pid).await, "partially_refunded");
        // No amount: the rest.
        let (s, v, _) = t.refund(&pid, "r2", json!({})).await;
        assert_eq!(s, 201, "{kind:?}: {v}");
        assert_eq!(v["amount"], 6_000);
        final_view(&t, &pid, &v, later_by(2)).await;
        assert_eq!(t.payment_status(&pid).await, "refunded");
        // Nothing left.
        let (s, v, _) = t.refund(&pid, "r3", json!({"amount": 1})).await;
        assert_eq!(s, 422, "{kind:?}: {v}");
        assert_eq!(v["error"]["code"], "refund_exceeds_available");
        // Ground truth: two refunds, both on the payment that took the money, at
        // this gateway, together exactly the captured amount.
        let truth = t.sandbox.refunds();
        assert_eq!(truth.len(), 2, "{kind:?}");
        let on = refunded_on(kind, &pid, &gpid);
        assert!(
            truth
                .iter()
                .all(|r| r.gateway_payment_id == on && r.gateway == t.name)
        );
        assert_eq!(truth.iter().map(|r| r.amount).sum::<i64>(), 10_000);
        let list = t.get_json(&format!("/v1/payments/{pid}/refunds")).await;
        assert_eq!(list["refunds"].as_array().unwrap().len(), 2);
        // Every refund state change is an event in the outbox, with our refund id.
        let events = t.refund_events(&pid).await;
        assert!(events.len() >= 2, "{kind:?}: {events:?}");
        assert!(events.iter().all(|e| {
            e["refund"]["refund_id"]
                .as_str()
                .is_some_and(|r| r.starts_with("rf_"))
        }));
    }
}

#[tokio::test]
async fn a_queued_refund_is_settled_by_its_webhook() {
    for kind in KINDS {
        let t = twin(kind, "").await;
        t.sandbox.set_refund_knobs(RefundKnobs {
            queued: true,
            settle_ms: 50,
            ..Default::default()
        });
        let (pid, _) = t.paid("o1", 10_000).await;
        let (s, v, _) = t.refund(&pid, "r1", json!({"amount": 2_500})).await;
        assert_eq!(s, 201, "{kind:?}: {v}");
        assert_eq!(v["status"], "pending");
        let rid = v["refund_id"].as_str().unwrap().to_string();
        if !sends_refund_webhooks(kind) {
            // No signed webhook (PayU): once the gateway settled it, the status query.
            sandbox_processed(&t).await;
        }
        let view = t.settled(&pid, &rid, later_by(1)).await;
        assert_eq!(view["status"], "succeeded", "{kind:?}: {view}");
        assert_eq!(
            view["arn"].is_string(),
            gives_refund_arn(kind),
            "{kind:?}: {view}"
        );
        assert_eq!(t.payment_status(&pid).await, "partially_refunded");
        let events = t.refund_events(&pid).await;
        let settled = events
            .iter()
            .find(|e| e["refund"]["refund_status"] == "succeeded")
            .unwrap_or_else(|| panic!("{kind:?}: {events:?}"));
        let source = if sends_refund_webhooks(kind) {
            "callback"
        } else {
            "status_check"
        };
        assert_eq!(settled["source"], source, "{kind:?}");
        assert_eq!(settled["refund"]["refund_id"], rid.as_str());
        assert_eq!(settled["amount"], 2_500);
        assert_eq!(settled["status"], "partially_refunded");
    }
}

#[tokio::test]
async fn a_dropped_refund_webhook_is_recovered_by_the_status_check() {
    for kind in KINDS {
        let t = twin(kind, "").await;
        t.sandbox.set_refund_knobs(RefundKnobs {
            queued: true,
            settle_ms: 0,
            drop_webhooks: true,
            ..Default::default()
        });
        let (pid, _) = t.paid("o1", 10_000).await;
        let (_, v, _) = t.refund(&pid, "r1", json!({})).await;
        assert_eq!(v["status"], "pending", "{kind:?}: {v}");
        let rid = v["refund_id"].as_str().unwrap().to_string();
        sandbox_processed(&t).await;
        let policy = t.server.state.config.load().refunds.clone();
        // Before the first-check delay nothing is asked.
        let early = scan(&t.server.state.refunds, &policy, OffsetDateTime::now_utc())
            .await
            .unwrap();
        assert_eq!(early, 0);
        let later = OffsetDateTime::now_utc() + Duration::from_secs(600);
        let checked = scan(&t.server.state.refunds, &policy, later).await.unwrap();
        assert_eq!(checked, 1, "{kind:?}");
        let view = t.refund_view(&pid, &rid).await;
        if !queries_refund_outcome(kind) {
            // Adyen: the replayed call answers the same refund, `received`; the
            // refund stays pending (never guessed) until its webhook, and no second
            // refund is made.
            assert_eq!(view["status"], "pending", "{kind:?}: {view}");
            let truth = t.sandbox.refunds();
            assert_eq!((truth.len(), truth[0].calls), (1, 2), "{kind:?}");
            assert_eq!(
                view["gateway_refund_id"],
                truth[0].gateway_refund_id.as_str()
            );
            continue;
        }
        assert_eq!(view["status"], "succeeded", "{kind:?}: {view}");
        assert_eq!(t.payment_status(&pid).await, "refunded");
        let events = t.refund_events(&pid).await;
        assert!(
            events
                .iter()
                .any(|e| e["source"] == "status_check"
                    && e["refund"]["refund_status"] == "succeeded")
        );
        // A final refund is not checked again.
        let again = scan(
            &t.server.state.refunds,
            &policy,
            later + Duration::from_secs(3600),
        )
        .await
        .unwrap();
        assert_eq!(again, 0);
    }
}

#[tokio::test]
async fn a_lost_refund_call_is_resent_on_the_same_refund_id() {
    for kind in KINDS {
        let t = twin(kind, "").await;
        let (pid, _) = t.paid("o1", 10_000).await;
        // The first call never reaches the gateway's books and is never answered.
        t.sandbox.set_refund_knobs(RefundKnobs {
            forget_next: 1,
            ..Default::default()
        });
        let (s, v, _) = t.refund(&pid, "r1", json!({"amount": 3_000})).await;
        assert_eq!(s, 201, "{kind:?}: {v}");
        assert_eq!(v["status"], "pending");
        let rid = v["refund_id"].as_str().unwrap().to_string();
        // Pending counts against the captured amount: no over-refund meanwhile.
        let (s, _, _) = t.refund(&pid, "r2", json!({"amount": 7_001})).await;
        assert_eq!(s, 422);
        let policy = t.server.state.config.load().refunds.clone();
        let later = OffsetDateTime::now_utc() + Duration::from_secs(600);
        scan(&t.server.state.refunds, &policy, later).await.unwrap();
        let view = t.refund_view(&pid, &rid).await;
        // The resend only registers it where the call never answers the outcome.
        let view = final_view(&t, &pid, &view, later_by(1)).await;
        assert_eq!(view["status"], "succeeded", "{kind:?}: {view}");
        // Adyen's replay on the idempotency key is the check itself, not a resend.
        let attempts = if queries_refund_outcome(kind) { 2 } else { 1 };
        assert_eq!(view["attempts"], attempts, "{kind:?}");
        let truth = t.sandbox.refunds();
        assert_eq!(truth.len(), 1, "{kind:?}");
        assert_eq!(
            (truth[0].refund_id.clone(), truth[0].amount),
            (refunds_common::at_gateway(kind, &rid), 3_000)
        );
    }
}

#[tokio::test]
async fn an_unanswered_refund_call_is_found_by_the_status_check_not_sent_twice() {
    let t = twin(ConnectorKind::Razorpay, "").await;
    let (pid, _) = t.paid("o1", 10_000).await;
    t.sandbox.set_refund_knobs(RefundKnobs {
        timeout_next: 1,
        ..Default::default()
    });
    let (_, v, _) = t.refund(&pid, "r1", json!({"amount": 3_000})).await;
    assert_eq!(v["status"], "pending");
    let rid = v["refund_id"].as_str().unwrap().to_string();
    let policy = t.server.state.config.load().refunds.clone();
    let later = OffsetDateTime::now_utc() + Duration::from_secs(600);
    scan(&t.server.state.refunds, &policy, later).await.unwrap();
    let view = t.refund_view(&pid, &rid).await;
    assert_eq!(view["status"], "succeeded", "{view}");
    assert_eq!(view["attempts"], 1);
    assert_eq!(t.sandbox.refunds()[0].calls, 1);
}

#[tokio::test]
async fn a_refund_the_gateway_never_got_is_sent_again_not_failed() {
    for kind in KINDS {
        let t = twin(kind, "").await;
        let (pid, _) = t.paid("o1", 10_000).await;
        // The gateway is unreachable for the call: nothing reached it, no money moved.
        t.set_down(true);
        let (s, v, _) = t.refund(&pid, "r1", json!({"amount": 3_000})).await;
        assert_eq!(s, 201, "{kind:?}: {v}");
        assert_eq!(v["status"], "pending", "{kind:?}: {v}");
        assert_eq!(v["failure_code"], "not_sent", "{kind:?}: {v}");
        assert!(t.sandbox.refunds().is_empty());
        let rid = v["refund_id"].as_str().unwrap().to_string();
        t.set_down(false);
        // The refund pass sends it again (same refund id), without waiting for a
        // merchant who was told nothing failed.
        let policy = t.server.state.config.load().refunds.clone();
        let later = OffsetDateTime::now_utc() + Duration::from_secs(600);
        scan(&t.server.state.refunds, &policy, later).await.unwrap();
        let view = t.refund_view(&pid, &rid).await;
        let view = final_view(&t, &pid, &view, later_by(1)).await;
        assert_eq!(view["status"], "succeeded", "{kind:?}: {view}");
        assert!(view["failure_code"].is_null(), "{kind:?}: {view}");
        let truth = t.sandbox.refunds();
        assert_eq!(truth.len(), 1, "{kind:?}");
        assert_eq!(truth[0].amount, 3_000, "{kind:?}");
    }
}

#[tokio::test]
async fn a_refund_that_can_never_be_sent_fails_after_the_last_try_and_frees_the_amount() {
    let t = twin(ConnectorKind::Generic, "").await;
    let (pid, _) = t.paid("o1", 10_000).await;
    t.set_down(true);
    let (_, v, _) = t.refund(&pid, "r1", json!({"amount": 10_000})).await;
    assert_eq!(v["status"], "pending", "{v}");
    let rid = v["refund_id"].as_str().unwrap().to_string();
    let policy = t.server.state.config.load().refunds.clone();
    let mut at = OffsetDateTime::now_utc() + Duration::from_secs(600);
    for _ in 0..policy.max_checks + 2 {
        scan(&t.server.state.refunds, &policy, at).await.unwrap();
        at += policy.check_interval + Duration::from_secs(1);
    }
    let view = t.refund_view(&pid, &rid).await;
    assert_eq!(
        (view["status"].as_str(), view["failure_code"].as_str()),
        (Some("failed"), Some("not_sent")),
        "{view}"
    );
    assert!(t.sandbox.refunds().is_empty());
    // Nothing moved: the whole amount can be asked for again.
    t.set_down(false);
    let (s, v, _) = t.refund(&pid, "r2", json!({"amount": 10_000})).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("succeeded")), "{v}");
}

#[tokio::test]
async fn the_refund_endpoint_is_idempotent_and_refuses_with_stable_codes() {
    let t = twin(ConnectorKind::Generic, "").await;
    let (pid, _) = t.paid("o1", 10_000).await;
    let body = json!({"amount": 1_000, "reason": "damaged", "metadata": {"ticket": "T1"}});
    let (s1, v1, r1) = t.refund(&pid, "same", body.clone()).await;
    let (s2, v2, r2) = t.refund(&pid, "same", body.clone()).await;
    assert_eq!((s1, s2, r1, r2), (201, 201, false, true));
    assert_eq!(v1["refund_id"], v2["refund_id"]);
    assert_eq!(v2["metadata"]["ticket"], "T1");
    assert_eq!(t.sandbox.refunds().len(), 1);
    let (s, v, _) = t.refund(&pid, "same", json!({"amount": 2_000})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    // Missing key.
    let r = t
        .server
        .client
        .post(t.server.url(&format!("/v1/payments/{pid}/refunds")))
        .json(&json!({"amount": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Currency mismatch.
    let (s, v, _) = t
        .refund(&pid, "usd", json!({"amount": 1, "currency": "USD"}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("currency_mismatch"))
    );
    // Unknown payment, unknown refund.
    let (s, _, _) = t.refund("nope", "k", json!({"amount": 1})).await;
    assert_eq!(s, 404);
    let r = t
        .server
        .client
        .get(t.server.url(&format!("/v1/payments/{pid}/refunds/rf_nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // A payment that holds no money (no sandbox callback to make it succeed late).
    t.sandbox
        .patch_callbacks(switchyard::sandbox::CallbackKnobsPatch {
            callbacks: Some(false),
            ..Default::default()
        });
    let (s, v, _) = t
        .server
        .pay(
            "k-o2",
            json!({"order_id": "o2", "amount": 500, "method": "upi_intent"}),
        )
        .await;
    assert_eq!(s, 201);
    let p2 = v["payment_id"].as_str().unwrap().to_string();
    let g2 = v["gateway_payment_id"].as_str().unwrap().to_string();
    t.settle(&p2, &g2, 500, PaymentStatus::Failed).await;
    let (s, v, _) = t.refund(&p2, "k", json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("payment_not_refundable"))
    );
    assert_eq!(t.sandbox.refunds().len(), 1);
}

#[tokio::test]
async fn a_gateway_that_does_not_refund_the_method_is_refused() {
    // Cashfree card payments live on a Cashfree-made order: not refundable here.
    let t = twin(ConnectorKind::Cashfree, "").await;
    let (s, v, _) = t
        .server
        .pay(
            "k-c",
            json!({"order_id": "oc", "amount": 700, "method": "card"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pid = v["payment_id"].as_str().unwrap().to_string();
    let gpid = v["gateway_payment_id"]
        .as_str()
        .unwrap_or("link")
        .to_string();
    t.settle(&pid, &gpid, 700, PaymentStatus::Succeeded).await;
    let (s, v, _) = t.refund(&pid, "k", json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("refund_not_supported"))
    );
    assert!(t.sandbox.refunds().is_empty());
}

#[tokio::test]
async fn concurrent_refunds_racing_for_the_last_rupee() {
    for kind in KINDS {
        let t = twin(kind, "").await;
        let (pid, _) = t.paid("o1", 10_000).await;
        let (s, _, _) = t.refund(&pid, "first", json!({"amount": 9_900})).await;
        assert_eq!(s, 201);
        // Ten refunds of the last rupee at once: exactly one wins.
        let racers: Vec<_> = (0..10)
            .map(|i| {
                let (c, url) = (
                    t.server.client.clone(),
                    t.server.url(&format!("/v1/payments/{pid}/refunds")),
                );
                tokio::spawn(async move {
                    c.post(url)
                        .header("Idempotency-Key", format!("race{i}"))
                        .json(&json!({"amount": 100}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut codes = Vec::new();
        for r in racers {
            codes.push(r.await.unwrap());
        }
        assert_eq!(
            codes.iter().filter(|c| **c == 201).count(),
            1,
            "{kind:?}: {codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| **c == 422).count(),
            9,
            "{kind:?}: {codes:?}"
        );
        let truth: i64 = t.sandbox.refunds().iter().map(|r| r.amount).sum();
        assert_eq!(truth, 10_000, "{kind:?}");
        if sends_refund_webhooks(kind) {
            eventually("the refund webhooks settle both refunds", || async {
                t.payment_status(&pid).await == "refunded"
            })
            .await;
        } else {
            let policy = t.server.state.config.load().refunds.clone();
            scan(&t.server.state.refunds, &policy, later_by(1))
                .await
                .unwrap();
        }
        assert_eq!(t.payment_status(&pid).await, "refunded", "{kind:?}");
    }
}

/// Measures refund calls end to end (HTTP → reserve → sandbox → answer recorded,
/// fsynced): `cargo test --release --test refunds -- --ignored --nocapture refunds_bench`.
#[tokio::test]
#[ignore]
async fn refunds_bench() {
    let t = twin(ConnectorKind::Razorpay, "").await;
    let (pid, _) = t.paid("obench", 10_000_000).await;
    let n = 500;
    let mut lat = Vec::with_capacity(n);
    let start = std::time::Instant::now();
    for i in 0..n {
        let t0 = std::time::Instant::now();
        let (s, _, _) = t
            .refund(&pid, &format!("b{i}"), json!({"amount": 100}))
            .await;
        assert_eq!(s, 201);
        lat.push(t0.elapsed());
    }
    let total = start.elapsed();
    lat.sort();
    println!(
        "{n} sequential refunds: {:.0}/s, p50 {:?}, p99 {:?}",
        n as f64 / total.as_secs_f64(),
        lat[n / 2],
        lat[n * 99 / 100]
    );
}
