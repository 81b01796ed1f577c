//! Automatic refunds for `refund_required` events, per reason: off by default, on
//! per reason, dry run only reports; each decision audited once. Driven by
//! recording the flagged event directly (a TPV failure through the ledger's own
//! precedence; a duplicate payment as the event the money-safety rules emit).

mod common;
mod refunds_common;

use serde_json::{Value, json};
use switchyard::connectors::ConnectorKind;
use switchyard::ledger::audit;
use switchyard::ledger::callbacks::apply;
use switchyard::ledger::refunds::auto::decisions;
use switchyard::model::{Incoming, PaymentStatus};
use switchyard::refunds::auto::run_once;
use time::OffsetDateTime;

use refunds_common::{Twin, twin};

/// The background pass waits an hour: the test runs the pass itself.
const QUIET: &str = "[refunds]\nscan_interval = \"1h\"\n";

/// A payment made at the twin (no sandbox callback), then a success with a
/// failed third-party validation: `refund_required` with `tpv_failed`.
async fn tpv_failed_payment(t: &Twin, amount: i64) -> String {
    t.sandbox
        .patch_callbacks(switchyard::sandbox::CallbackKnobsPatch {
            callbacks: Some(false),
            ..Default::default()
        });
    let (s, v, _) = t
        .server
        .pay(
            "k-tpv",
            json!({"order_id": "otpv", "amount": amount, "method": "upi_intent"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pid = v["payment_id"].as_str().unwrap().to_string();
    let inc = Incoming {
        event_id: "evt_tpv".into(),
        gateway: t.name.clone(),
        source: "callback".into(),
        kind: "payment".into(),
        payment_ref: Some(pid.clone()),
        merchant_order_id: None,
        gateway_payment_id: v["gateway_payment_id"].as_str().map(str::to_string),
        utr: None,
        rrn: None,
        status: Some(PaymentStatus::Succeeded),
        reason: None,
        raw_status: "SUCCESS".into(),
        raw_code: Some("00".into()),
        amount: Some(amount),
        currency: Some("INR".into()),
        occurred_at: None,
        received_at: OffsetDateTime::now_utc(),
        payer_vpa_masked: None,
        tpv_failed: true,
        refund: None,
    };
    let applied = t
        .server
        .state
        .ledger
        .write(move |c| apply(c, &inc, false))
        .await
        .unwrap();
    assert!(applied.event.unwrap().flags.refund_required);
    pid
}

async fn pass(t: &Twin) -> usize {
    let policy = t.server.state.config.load().refunds.clone();
    run_once(&t.server.state.refunds, &policy).await.unwrap()
}

async fn audit_rows(t: &Twin) -> Vec<audit::AuditRow> {
    let g = t.name.clone();
    t.server
        .state
        .ledger
        .query(move |c| audit::recent(c, Some(&g), 50))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.actor == "auto")
        .collect()
}

#[tokio::test]
async fn a_tpv_failure_is_refunded_automatically_when_on() {
    let t = twin(
        ConnectorKind::Razorpay,
        &format!("{QUIET}[refunds.auto]\ntpv_failed = true\n"),
    )
    .await;
    let pid = tpv_failed_payment(&t, 25_000).await;
    pass(&t).await;
    // Exactly one refund, of the whole amount, at the gateway that took the money.
    let truth = t.sandbox.refunds();
    assert_eq!(truth.len(), 1);
    assert_eq!(
        (truth[0].amount, truth[0].gateway.as_str()),
        (25_000, t.name.as_str())
    );
    assert_eq!(t.payment_status(&pid).await, "refunded");
    let refunds = t.get_json(&format!("/v1/payments/{pid}/refunds")).await;
    let r = &refunds["refunds"][0];
    assert_eq!(
        (r["origin"].as_str(), r["reason"].as_str()),
        (Some("auto"), Some("tpv_failed"))
    );
    // Audited once, decided once; another pass changes nothing.
    assert_eq!(pass(&t).await, 0);
    let rows = audit_rows(&t).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].trigger.as_str(), rows[0].to_state.as_str()),
        ("tpv_failed", "auto_refund_refunded")
    );
    let d = t
        .server
        .state
        .ledger
        .query(|c| decisions(c, 10))
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].decision, "refunded");
    assert_eq!(t.sandbox.refunds().len(), 1);
}

#[tokio::test]
async fn an_automatic_refund_the_gateway_was_down_for_is_sent_when_it_is_back() {
    let t = twin(
        ConnectorKind::Generic,
        &format!("{QUIET}[refunds.auto]\ntpv_failed = true\n"),
    )
    .await;
    let pid = tpv_failed_payment(&t, 12_000).await;
    t.set_down(true);
    pass(&t).await;
    // Decided once, and the refund waits, marked unsent: nothing reached the gateway.
    assert!(t.sandbox.refunds().is_empty());
    let refunds = t.get_json(&format!("/v1/payments/{pid}/refunds")).await;
    let r = &refunds["refunds"][0];
    assert_eq!(
        (r["status"].as_str(), r["failure_code"].as_str()),
        (Some("pending"), Some("not_sent")),
        "{refunds}"
    );
    let rows = audit_rows(&t).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].evidence.contains("\"not_sent_yet\":true"),
        "{rows:?}"
    );
    t.set_down(false);
    let policy = t.server.state.config.load().refunds.clone();
    let later = OffsetDateTime::now_utc() + std::time::Duration::from_secs(600);
    switchyard::refunds::watch::scan(&t.server.state.refunds, &policy, later)
        .await
        .unwrap();
    let truth = t.sandbox.refunds();
    assert_eq!(truth.len(), 1);
    assert_eq!(truth[0].amount, 12_000);
    assert_eq!(t.payment_status(&pid).await, "refunded");
    assert_eq!(pass(&t).await, 0);
}

#[tokio::test]
async fn automatic_refunds_are_off_by_default() {
    let t = twin(ConnectorKind::Generic, QUIET).await;
    let pid = tpv_failed_payment(&t, 5_000).await;
    pass(&t).await;
    assert!(t.sandbox.refunds().is_empty());
    assert_eq!(t.payment_status(&pid).await, "succeeded");
    let d = t
        .server
        .state
        .ledger
        .query(|c| decisions(c, 10))
        .await
        .unwrap();
    assert_eq!(d[0].decision, "disabled");
    assert!(audit_rows(&t).await.is_empty());
}

#[tokio::test]
async fn dry_run_only_reports() {
    let t = twin(
        ConnectorKind::Cashfree,
        &format!("{QUIET}[refunds.auto]\ntpv_failed = true\ndry_run = true\n"),
    )
    .await;
    let pid = tpv_failed_payment(&t, 5_000).await;
    pass(&t).await;
    assert!(t.sandbox.refunds().is_empty());
    assert_eq!(t.payment_status(&pid).await, "succeeded");
    let rows = audit_rows(&t).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].to_state, "auto_refund_dry_run");
    let ev: Value = serde_json::from_str(&rows[0].evidence).unwrap();
    assert_eq!(ev["amount"], 5_000);
    assert_eq!(ev["dry_run"], true);
}

#[tokio::test]
async fn a_duplicate_payment_is_refunded_from_the_duplicate_only() {
    let t = twin(
        ConnectorKind::Razorpay,
        &format!("{QUIET}[refunds.auto]\nduplicate_payment = true\n"),
    )
    .await;
    let (pid, gpid) = t.paid("odup", 10_000).await;
    // The second payment for the same order at the same gateway: its own event,
    // flagged duplicate, carrying the duplicate's gateway payment id and amount.
    let dup = "pay_sbx999a10000".to_string();
    let body = json!({
        "event_id": "evt_dup", "kind": "payment", "source": "callback",
        "payment_id": pid, "order_id": "odup", "merchant_txn_id": pid,
        "gateway": t.name, "gateway_payment_id": dup, "status": "succeeded",
        "amount": 10_000, "currency": "INR",
        "flags": {"refund_required": true, "duplicate_payment": true},
        "order_action": "refund",
    });
    let p = pid.clone();
    t.server
        .state
        .ledger
        .write(move |c| switchyard::ledger::outbox::enqueue(c, "evt_dup", &p, &body.to_string(), 0))
        .await
        .unwrap();
    pass(&t).await;
    let truth = t.sandbox.refunds();
    assert_eq!(truth.len(), 1);
    assert_eq!(
        (truth[0].gateway_payment_id.as_str(), truth[0].amount),
        (dup.as_str(), 10_000)
    );
    // The first payment keeps its money and can still be refunded in full.
    assert_eq!(t.payment_status(&pid).await, "succeeded");
    let (s, v, _) = t.refund(&pid, "own", json!({})).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["amount"], 10_000);
    let truth = t.sandbox.refunds();
    assert_eq!(truth[1].gateway_payment_id, gpid);
    let rows = audit_rows(&t).await;
    assert_eq!(rows[0].trigger, "duplicate_payment");
}
