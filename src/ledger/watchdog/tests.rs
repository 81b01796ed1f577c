use std::time::Duration;

use super::*;
use crate::ledger::{Intent, Ledger, LedgerOptions};
use crate::model::{Currency, Paise};

fn intent(id: &str, created_at: OffsetDateTime) -> Intent {
    Intent {
        payment_id: id.into(),
        order_id: id.into(),
        idempotency_key: id.into(),
        request_hash: "h".into(),
        amount: Paise(100),
        currency: Currency::Inr,
        method: Method::UpiIntent,
        route: "r".into(),
        gateway: "g".into(),
        created_at,
        ttl_deadline: created_at,
    }
}

fn waits(min_wait: u64) -> Waits {
    Waits {
        min_wait: Duration::from_secs(min_wait),
        unknown_wait: Duration::from_secs(90),
        max_checks: 3,
        expire_after: Duration::from_secs(600),
    }
}

fn done(id: &str, status: PaymentStatus, at: OffsetDateTime) -> crate::ledger::Completion {
    crate::ledger::Completion {
        payment_id: id.into(),
        idempotency_key: id.into(),
        gateway: "g".into(),
        gateway_payment_id: None,
        binds_gateway_payment_id: false,
        status,
        reason: None,
        raw_status: None,
        attempts: vec![],
        response: crate::ledger::StoredResponse {
            http_status: 201,
            body: b"{}".to_vec(),
        },
        at,
    }
}

#[tokio::test]
async fn only_due_payments_most_overdue_first_and_never_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("w.db"), LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    let ago = |s: u64| now - Duration::from_secs(s);
    // Many fresh payments must not hide the due ones behind the limit.
    for i in 0..20 {
        let id = format!("fresh{i}");
        ledger.begin(intent(&id, ago(100))).await.unwrap();
        ledger
            .complete(done(&id, PaymentStatus::Initiated, ago(100)))
            .await
            .unwrap();
    }
    for (id, s) in [
        ("old", 1000),
        ("older", 2000),
        ("checked", 3000),
        ("gone", 4000),
    ] {
        ledger.begin(intent(id, ago(s))).await.unwrap();
        ledger
            .complete(done(id, PaymentStatus::Initiated, ago(s)))
            .await
            .unwrap();
    }
    ledger
        .write(move |c| {
            record_check(c, "checked", "pending", now + Duration::from_secs(60))?;
            expire(c, "gone", Expiry::Stale, now).map(|_| ())
        })
        .await
        .unwrap();
    let got = ledger
        .query(move |c| candidates(c, now, waits(420), 2))
        .await
        .unwrap();
    let ids: Vec<_> = got.iter().map(|c| c.payment_id.as_str()).collect();
    assert_eq!(ids, ["older", "old"]);
}

#[tokio::test]
async fn an_initiation_that_never_completed_is_checked_like_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("w.db"), LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    let t = now - Duration::from_secs(100);
    ledger.begin(intent("crashed", t)).await.unwrap();
    ledger.begin(intent("answered", t)).await.unwrap();
    ledger
        .complete(done("answered", PaymentStatus::Initiated, t))
        .await
        .unwrap();
    let got = ledger
        .query(move |c| candidates(c, now, waits(420), 10))
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].payment_id, "crashed");
    assert!(got[0].incomplete && got[0].unsure());
}

#[tokio::test]
async fn exhausted_payments_come_back_to_expire_and_recover_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("w.db"), LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    let t = now - Duration::from_secs(1000);
    // TTL deadline at creation: due to expire at t + 600 s.
    ledger.begin(intent("p", t)).await.unwrap();
    ledger
        .write(move |c| {
            // Unanswered checks do not count.
            assert_eq!(record_check(c, "p", "error", t)?, 0);
            for _ in 0..3 {
                record_check(c, "p", "not_found", t)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let got = ledger
        .query(move |c| candidates(c, t + Duration::from_secs(599), waits(420), 10))
        .await
        .unwrap();
    assert!(got.is_empty(), "{got:?}");
    let got = ledger
        .query(move |c| candidates(c, now, waits(420), 10))
        .await
        .unwrap();
    assert_eq!(got[0].checks, 3);
    assert_eq!(got[0].last_result.as_deref(), Some("not_found"));
    let ev = ledger
        .write(move |c| expire(c, "p", Expiry::NotFound, now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev.status, PaymentStatus::Expired);
    assert_eq!(ev.order_action, OrderAction::Cancel);
    // Never again, and the in-progress key now replays the final state.
    let again = ledger
        .query(move |c| candidates(c, now + Duration::from_secs(9999), waits(420), 10))
        .await
        .unwrap();
    assert!(again.is_empty());
    match ledger.begin(intent("p", t)).await.unwrap() {
        crate::ledger::Begin::Replay(r) => {
            assert_eq!(r.http_status, 200);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["status"], "expired");
            assert_eq!(v["recovered"], true);
        }
        other => panic!("expected a replay, got {other:?}"),
    }
}
