//! The refund write-ahead under `kill -9`: the binary is killed while its refund
//! call is in flight (the gateway has taken the refund, the answer never came).
//! After a restart the ledger holds the `pending` row written before the call, the
//! refund pass asks the gateway, and the refund ends `succeeded` — one refund at
//! the gateway, none lost, none doubled.

mod common;

use std::path::Path;
use std::time::Duration;

use common::bin;
use switchyard::connectors::ConnectorKind;
use switchyard::ledger::{
    AttemptRecord, Completion, Intent, Ledger, LedgerOptions, StoredResponse,
};
use switchyard::model::{Currency, Method, Paise, PaymentStatus};
use switchyard::sandbox::SandboxGateway;
use switchyard::sandbox::refunds::RefundKnobs;
use time::OffsetDateTime;

async fn seed_paid(db: &Path, gpid: &str) {
    let ledger = Ledger::open(db, LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    ledger
        .begin(Intent {
            payment_id: "pay_1".into(),
            order_id: "ord_1".into(),
            idempotency_key: "k_1".into(),
            request_hash: "h".into(),
            amount: Paise(10_000),
            currency: Currency::Inr,
            method: Method::UpiIntent,
            route: "r".into(),
            gateway: "gen".into(),
            created_at: now,
            ttl_deadline: now + Duration::from_secs(420),
        })
        .await
        .unwrap();
    ledger
        .complete(Completion {
            payment_id: "pay_1".into(),
            idempotency_key: "k_1".into(),
            gateway: "gen".into(),
            gateway_payment_id: Some(gpid.into()),
            binds_gateway_payment_id: false,
            status: PaymentStatus::Succeeded,
            reason: None,
            raw_status: Some("succeeded".into()),
            attempts: vec![AttemptRecord {
                gateway: "gen".into(),
                outcome: "created".into(),
                latency_ms: 1,
            }],
            response: StoredResponse {
                http_status: 201,
                body: b"{}".to_vec(),
            },
            at: now,
        })
        .await
        .unwrap();
    ledger.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refund_in_flight_at_kill_9_is_resolved_after_restart() {
    let (addr, sandbox) = SandboxGateway::bind(
        "127.0.0.1:0".parse().unwrap(),
        ConnectorKind::Generic,
        "gen",
    )
    .await
    .unwrap();
    // The gateway takes the refund and never answers.
    sandbox.set_refund_knobs(RefundKnobs {
        timeout_next: 1,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    seed_paid(&db, "gen_sbx1a10000").await;
    let cfg = dir.path().join("sy.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
             [ledger]\npath = {:?}\n[[gateway]]\nname = \"gen\"\nconnector = \"generic\"\n\
             base_url = \"http://{addr}\"\ntimeout = \"60s\"\n\
             [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"gen\", weight = 1 }}]\n\
             [watchdog]\nenabled = false\n\
             [refunds]\nfirst_check_after = \"1s\"\nscan_interval = \"1s\"\n",
            db.display().to_string()
        ),
    )
    .unwrap();
    let mut first = bin::serve(&cfg, &[]);
    let url = format!("http://{}/v1/payments/pay_1/refunds", first.addr);
    let call = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("Idempotency-Key", "r1")
            .json(&serde_json::json!({"amount": 4_000}))
            .send()
            .await
    });
    // The gateway has the refund: the pending row was committed before the call.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sandbox.refunds().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no refund call");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(
        call.await.unwrap().is_err(),
        "the caller never got an answer"
    );

    let mut second = bin::serve(&cfg, &[]);
    let list_url = format!("http://{}/v1/payments/pay_1/refunds", second.addr);
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let refund = loop {
        let v: serde_json::Value = client
            .get(&list_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = v["refunds"][0].clone();
        if r["status"] == "succeeded" {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "refund not resolved: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refund["amount"], 4_000);
    assert_eq!(refund["attempts"], 1);
    let truth = sandbox.refunds();
    assert_eq!(truth.len(), 1);
    assert_eq!((truth[0].calls, truth[0].amount), (1, 4_000));
    let p: serde_json::Value = client
        .get(format!("http://{}/v1/payments/pay_1", second.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["status"], "partially_refunded");
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
