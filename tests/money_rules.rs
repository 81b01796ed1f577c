//! One test per money rule of issue 12 (items 0, 2–7; docs/MONEY.md), each against
//! the real initiation and callback flows over a real ledger with scripted
//! gateways (`tests/money/mod.rs`). Every test here failed before its fix; the
//! comment on each says how.

mod money;

use money::{Step, World, cb};
use switchyard::callbacks::CallbackError;
use switchyard::model::PaymentStatus as S;
use switchyard::payments::PaymentError;

const AMOUNT: i64 = 49_900;

/// A payment at `a` with this answer: (payment id, gateway payment id).
async fn created(w: &World, key: &str, order: &str, status: S) -> (String, String) {
    let (code, v, _) = w
        .pay(key, order, AMOUNT, &[Step::Created(status)])
        .await
        .unwrap();
    assert_eq!(code, 201, "{v}");
    (
        v["payment_id"].as_str().unwrap().to_string(),
        v["gateway_payment_id"].as_str().unwrap().to_string(),
    )
}

/// Item 0. Before: a callback verified with `b`'s secret moved a payment made at `a`
/// to succeeded (the forwarded event said `gateway: "a"`).
#[tokio::test]
async fn item0_a_secret_speaks_for_its_own_gateway_only() {
    let w = World::new("").await;
    let (pid, gpid) = created(&w, "k0", "o0", S::Pending).await;
    let body = cb("e1", Some(&pid), Some(&gpid), S::Succeeded, AMOUNT, false);
    let refused = w.callback("b", body.clone()).await;
    assert_eq!(refused, Err(CallbackError::GatewayMismatch));
    assert_eq!(w.status(&pid).await, S::Pending);
    let counted = w
        .state
        .metrics
        .callbacks
        .with_label_values(&["b", "gateway_mismatch"])
        .get();
    assert_eq!(counted, 1);
    // The payment's own gateway may.
    let ack = w.callback("a", body).await.unwrap();
    assert_eq!(ack.result, "accepted");
    assert_eq!(w.status(&pid).await, S::Succeeded);
}

/// Item 2. Before: attempt 1 at idempotent `a` timed out, attempt 2 at `a` was not
/// sent, attempt 3 went to `b` — the payment could be live at both.
#[tokio::test]
async fn item2_after_an_ambiguous_attempt_the_payment_never_leaves_its_gateway() {
    let w = World::new("").await;
    let (_, v, _) = w
        .pay(
            "k2",
            "o2",
            AMOUNT,
            &[Step::SentUnknown, Step::NotSent, Step::Created(S::Pending)],
        )
        .await
        .unwrap();
    assert_eq!(w.script.calls(), ["a", "a", "a"]);
    assert_eq!(v["gateway"], "a");
    // Nothing proved: still unknown, still at `a`.
    let (_, v, _) = w
        .pay(
            "k2b",
            "o2b",
            AMOUNT,
            &[Step::SentUnknown, Step::Busy, Step::NotSent],
        )
        .await
        .unwrap();
    assert_eq!(w.script.calls(), ["a", "a", "a"]);
    assert_eq!(v["status"], "unknown");
}

/// Item 2. Before: a decline on the same-gateway retry after a timeout became a
/// final `failed`, hiding the first attempt that may be live.
#[tokio::test]
async fn item2_a_decline_on_the_retry_after_a_timeout_stays_unknown() {
    let w = World::new("").await;
    let (_, v, _) = w
        .pay("k2c", "o2c", AMOUNT, &[Step::SentUnknown, Step::Declined])
        .await
        .unwrap();
    assert_eq!(w.script.calls(), ["a", "a"]);
    assert_eq!(v["status"], "unknown");
    let pid = v["payment_id"].as_str().unwrap();
    assert_eq!(w.status(pid).await, S::Unknown);
}

/// Item 2. Before: the write-ahead row of attempt 2 was written as attempt 1.
#[tokio::test]
async fn item2_the_write_ahead_attempt_row_has_the_attempts_number() {
    let w = World::new("").await;
    let task = w.pay_spawned("k2d", "o2d", AMOUNT, &[Step::NotSent, Step::Hang]);
    w.script.wait_for_call().await;
    w.script.wait_for_call().await;
    let pid = w.payment_of("o2d").await;
    let rows = w
        .rows(
            "SELECT seq, gateway, outcome FROM attempts WHERE payment_id = ?1 ORDER BY seq",
            &pid,
        )
        .await;
    task.abort();
    let want = vec![vec![
        Some("2".into()),
        Some("b".into()),
        Some("started".into()),
    ]];
    assert_eq!(rows, want);
}

/// Item 3. Before: an order whose payment was pending at `a` was routed by its
/// retry with a new key to `b` when `a` did not answer: two live payments.
#[tokio::test]
async fn item3_an_order_with_a_live_payment_is_pinned_to_its_gateway() {
    let w = World::new("").await;
    created(&w, "k3", "o3", S::Pending).await;
    let (_, v, _) = w
        .pay(
            "k3-new",
            "o3",
            AMOUNT,
            &[Step::NotSent, Step::Created(S::Pending)],
        )
        .await
        .unwrap();
    assert_eq!(
        w.script.calls(),
        ["a"],
        "the retry left the live payment's gateway"
    );
    assert_eq!(v["gateway"], "a");
    // The same key still replays.
    let (_, _, replayed) = w.pay("k3", "o3", AMOUNT, &[]).await.unwrap();
    assert!(replayed);
}

/// Item 3, in doubt. Before: the checkout's retry of an order with a new key after
/// a 504 was pinned to the gateway that may already hold the first payment and
/// started a second one there (the sale day's 8 double initiations, 2 orders paid
/// twice). Now it is refused, naming the payment to poll, and no gateway is called;
/// `order_guard_in_doubt = "pin"` keeps the old behaviour.
#[tokio::test]
async fn item3_an_order_whose_payment_is_in_doubt_is_refused_not_started_twice() {
    let w = World::new("").await;
    let (_, v, _) = w.pay("k3d", "o3d", AMOUNT, &[Step::Broken]).await.unwrap();
    assert_eq!(v["status"], "unknown");
    let first = v["payment_id"].as_str().unwrap().to_string();
    let r = w
        .pay("k3d-new", "o3d", AMOUNT, &[Step::Created(S::Pending)])
        .await;
    match r {
        Err(PaymentError::OrderPaymentInDoubt { payment_id, .. }) => {
            assert_eq!(payment_id, first)
        }
        other => panic!("a second payment started for an order in doubt: {other:?}"),
    }
    assert!(w.script.calls().is_empty(), "{:?}", w.script.calls());
    // The same key still replays the first payment.
    let (_, _, replayed) = w.pay("k3d", "o3d", AMOUNT, &[]).await.unwrap();
    assert!(replayed);

    let lax = World::new("order_guard_in_doubt = \"pin\"").await;
    lax.pay("k3p", "o3p", AMOUNT, &[Step::Broken])
        .await
        .unwrap();
    let (_, v, _) = lax
        .pay("k3p-new", "o3p", AMOUNT, &[Step::Created(S::Pending)])
        .await
        .unwrap();
    assert_eq!(lax.script.calls(), ["a"]);
    assert_eq!(v["gateway"], "a");
}

/// Item 3. Before: a paid order accepted a second payment.
#[tokio::test]
async fn item3_a_paid_order_is_refused_and_policy_can_refuse_live_orders() {
    let w = World::new("").await;
    created(&w, "k3p", "o3p", S::Succeeded).await;
    let r = w
        .pay("k3p-2", "o3p", AMOUNT, &[Step::Created(S::Pending)])
        .await;
    assert!(
        matches!(r, Err(PaymentError::OrderAlreadyPaid { .. })),
        "{r:?}"
    );
    assert!(w.script.calls().is_empty());

    let strict = World::new("order_guard_live = \"refuse\"").await;
    created(&strict, "k3l", "o3l", S::Pending).await;
    let r = strict
        .pay("k3l-2", "o3l", AMOUNT, &[Step::Created(S::Pending)])
        .await;
    assert!(
        matches!(r, Err(PaymentError::OrderInProgress { .. })),
        "{r:?}"
    );
}

/// Item 4. Before: a success for half the amount was `succeeded` + `fulfil`.
#[tokio::test]
async fn item4_a_wrong_amount_keeps_the_status_and_holds_the_order() {
    let w = World::new("").await;
    let (pid, gpid) = created(&w, "k4", "o4", S::Pending).await;
    let ack = w
        .callback(
            "a",
            cb(
                "e4",
                Some(&pid),
                Some(&gpid),
                S::Succeeded,
                AMOUNT / 2,
                false,
            ),
        )
        .await
        .unwrap();
    assert_eq!(ack.result, "accepted");
    assert_eq!(w.status(&pid).await, S::Succeeded);
    let ev = w.outbox(&pid).await.pop().unwrap();
    assert_eq!(ev["flags"]["amount_mismatch"], true);
    assert_eq!(ev["order_action"], "hold");
    assert_eq!(
        ev["amount"],
        AMOUNT / 2,
        "the event says what the gateway took"
    );
    let flagged = w
        .rows(
            "SELECT amount_mismatch, amount_paise FROM payments WHERE payment_id = ?1",
            &pid,
        )
        .await;
    assert_eq!(
        flagged,
        vec![vec![Some("1".into()), Some(AMOUNT.to_string())]]
    );
}

/// Item 5. Before: a second success with another gateway payment id was decided
/// `unchanged` and never forwarded.
#[tokio::test]
async fn item5_a_second_payment_is_forwarded_with_refund_required() {
    let w = World::new("").await;
    let (pid, gpid) = created(&w, "k5", "o5", S::Pending).await;
    w.callback(
        "a",
        cb("e5a", Some(&pid), Some(&gpid), S::Succeeded, AMOUNT, false),
    )
    .await
    .unwrap();
    let ack = w
        .callback(
            "a",
            cb(
                "e5b",
                Some(&pid),
                Some("a-second"),
                S::Succeeded,
                AMOUNT,
                false,
            ),
        )
        .await
        .unwrap();
    assert_eq!(ack.result, "duplicate_payment");
    let ev = w.outbox(&pid).await.pop().unwrap();
    assert_eq!(ev["gateway_payment_id"], "a-second");
    assert_eq!(ev["flags"]["duplicate_payment"], true);
    assert_eq!(ev["flags"]["refund_required"], true);
    assert_eq!(ev["order_action"], "refund");
    assert_eq!(w.status(&pid).await, S::Succeeded);
    // The same duplicate again (another event id) is not a third payment.
    let again = w
        .callback(
            "a",
            cb(
                "e5c",
                Some(&pid),
                Some("a-second"),
                S::Succeeded,
                AMOUNT,
                false,
            ),
        )
        .await
        .unwrap();
    assert_eq!(again.result, "unchanged");
}

/// Item 5, before anything paid. Before: a success under another gateway payment
/// id than the one the initiation created (the first payment's callbacks late or
/// lost) was taken as the payment's own; the first payment's success then found the
/// payment paid "by" the second and the money of one of them was never flagged.
/// The generic dialect binds the id it answers to the payment, so the stranger is
/// the second payment, and the payment waits for its own.
#[tokio::test]
async fn item5_a_success_under_another_id_than_the_initiation_created_is_a_second_payment() {
    let w = World::new("").await;
    let (pid, gpid) = created(&w, "k5b", "o5b", S::Pending).await;
    let ack = w
        .callback(
            "a",
            cb(
                "e5d",
                Some(&pid),
                Some("a-other"),
                S::Succeeded,
                AMOUNT,
                false,
            ),
        )
        .await
        .unwrap();
    assert_eq!(ack.result, "duplicate_payment");
    let ev = w.outbox(&pid).await.pop().unwrap();
    assert_eq!(ev["gateway_payment_id"], "a-other");
    assert_eq!(ev["flags"]["refund_required"], true);
    assert_eq!(
        w.status(&pid).await,
        S::Pending,
        "the payment waits for its own"
    );
    let own = w
        .callback(
            "a",
            cb("e5e", Some(&pid), Some(&gpid), S::Succeeded, AMOUNT, false),
        )
        .await
        .unwrap();
    assert_eq!(own.result, "accepted");
    assert_eq!(w.status(&pid).await, S::Succeeded);
    let ev = w.outbox(&pid).await.pop().unwrap();
    assert_eq!(ev["gateway_payment_id"], gpid.as_str());
    assert_eq!(ev["flags"]["duplicate_payment"], false);
}

/// Item 6. Before: a TPV failure on an already-succeeded payment returned
/// `unchanged` before TPV was looked at, and the flag was never stored.
#[tokio::test]
async fn item6_a_tpv_failure_after_success_is_not_lost_and_is_persisted() {
    let w = World::new("").await;
    let (pid, gpid) = created(&w, "k6", "o6", S::Pending).await;
    w.callback(
        "a",
        cb("e6a", Some(&pid), Some(&gpid), S::Succeeded, AMOUNT, false),
    )
    .await
    .unwrap();
    let ack = w
        .callback(
            "a",
            cb("e6b", Some(&pid), Some(&gpid), S::Succeeded, AMOUNT, true),
        )
        .await
        .unwrap();
    assert_eq!(ack.result, "accepted");
    let ev = w.outbox(&pid).await.pop().unwrap();
    assert_eq!(ev["flags"]["tpv_failed"], true);
    assert_eq!(ev["order_action"], "refund");
    // Persisted: a TPV failure seen while pending still refunds the later success a
    // status check reports (status checks cannot see TPV).
    let (pid2, gpid2) = created(&w, "k6b", "o6b", S::Pending).await;
    w.callback(
        "a",
        cb("e6c", Some(&pid2), Some(&gpid2), S::Pending, AMOUNT, true),
    )
    .await
    .unwrap();
    w.status_check("a", &pid2, S::Succeeded, None).await;
    let ev = w.outbox(&pid2).await.pop().unwrap();
    assert_eq!(ev["status"], "succeeded");
    assert_eq!(ev["flags"]["refund_required"], true);
}

/// Item 6, status side. Before: a status answer could not say TPV failed
/// (`from_status` hard-coded `tpv_failed: false`), so a TPV failure whose callbacks
/// were lost was fulfilled. Now a status answer carries it like a callback.
#[tokio::test]
async fn item6_a_status_answer_that_says_tpv_failed_sends_the_money_back() {
    let w = World::new("").await;
    let (pid, gpid) = created(&w, "k6s", "o6s", S::Pending).await;
    let report = switchyard::connectors::StatusReport {
        tpv_failed: true,
        status: S::Succeeded,
        reason: None,
        gateway_payment_id: Some(gpid),
        utr: None,
        rrn: None,
        raw_status: "succeeded".into(),
        raw_code: None,
        amount: None,
    };
    assert_eq!(
        w.status_report("a", &pid, report).await,
        switchyard::ledger::callbacks::ApplyResult::Accepted
    );
    let ev = w.outbox(&pid).await.pop().unwrap();
    assert_eq!(ev["status"], "succeeded");
    assert_eq!(ev["flags"]["tpv_failed"], true);
    assert_eq!(ev["flags"]["refund_required"], true);
    assert_eq!(ev["order_action"], "refund");
}

/// Item 7. Before: declines and synchronous successes at initiation never reached
/// the outbox (the demo: 369 failed in the ledger, 176 in the event stream).
#[tokio::test]
async fn item7_initiation_outcomes_are_events_in_the_outbox() {
    let w = World::new("").await;
    let (_, v, _) = w.pay("k7", "o7", AMOUNT, &[Step::Declined]).await.unwrap();
    let pid = v["payment_id"].as_str().unwrap();
    let evs = w.outbox(pid).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["status"], "failed");
    assert_eq!(evs[0]["source"], "initiation");
    assert_eq!(evs[0]["order_action"], "cancel");
    let (pid, _) = created(&w, "k7b", "o7b", S::Succeeded).await;
    let evs = w.outbox(&pid).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["status"], "succeeded");
    assert_eq!(evs[0]["order_action"], "fulfil");
}

/// Item 7. Before: the completion overwrote a state a faster callback had set
/// (`deemed` from the callback, then `pending` from the initiation answer).
#[tokio::test]
async fn item7_the_completion_never_overwrites_a_faster_callback() {
    let w = World::new("").await;
    let task = w.pay_spawned("k7c", "o7c", AMOUNT, &[Step::Gated(S::Pending)]);
    w.script.wait_for_call().await;
    let pid = w.payment_of("o7c").await;
    let ack = w
        .callback("a", cb("e7c", Some(&pid), None, S::Deemed, AMOUNT, false))
        .await
        .unwrap();
    assert_eq!(ack.result, "accepted");
    w.script.open_gate();
    task.await.unwrap().unwrap();
    assert_eq!(w.status(&pid).await, S::Deemed);
    let statuses: Vec<_> = w
        .outbox(&pid)
        .await
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["deemed"], "one status change, one event");
}
