use std::time::Duration;

use time::OffsetDateTime;

use super::*;
use crate::ledger::callbacks::apply;
use crate::ledger::{
    AttemptRecord, Begin, Completion, Intent, Ledger, LedgerOptions, StoredResponse,
};
use crate::model::{Currency, Method, Paise, RefundInfo};

/// A ledger holding one succeeded payment `p1` of `amount` paise at gateway `g`
/// (gateway payment id `gp1`).
pub(crate) async fn ledger_with_payment(dir: &std::path::Path, amount: i64) -> Ledger {
    let ledger = Ledger::open(&dir.join("l.db"), LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    let begun = ledger.begin(intent_p1(amount, now)).await.unwrap();
    assert_eq!(begun, Begin::New);
    ledger
        .complete(Completion {
            payment_id: "p1".into(),
            idempotency_key: "k1".into(),
            gateway: "g".into(),
            gateway_payment_id: Some("gp1".into()),
            binds_gateway_payment_id: false,
            status: PaymentStatus::Succeeded,
            reason: None,
            raw_status: Some("captured".into()),
            attempts: vec![AttemptRecord {
                gateway: "g".into(),
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
    ledger
}

/// The intent of payment `p1` (order `o1`, key `k1`) at gateway `g`.
fn intent_p1(amount: i64, now: OffsetDateTime) -> Intent {
    Intent {
        payment_id: "p1".into(),
        order_id: "o1".into(),
        idempotency_key: "k1".into(),
        request_hash: "h".into(),
        amount: Paise(amount),
        currency: Currency::Inr,
        method: Method::UpiCollect,
        route: "r".into(),
        gateway: "g".into(),
        created_at: now,
        ttl_deadline: now + Duration::from_secs(420),
    }
}

pub(crate) fn ask(key: &str, amount: Option<i64>) -> NewRefund {
    NewRefund {
        refund_id: format!("rf_{key}_0123456789"),
        payment_id: "p1".into(),
        idempotency_key: Some(key.into()),
        request_hash: format!("h{amount:?}"),
        amount,
        currency: "INR".into(),
        reason: None,
        metadata: None,
        origin: "api",
        target: Target::Primary,
        at: OffsetDateTime::now_utc(),
    }
}

async fn reserve_on(ledger: &Ledger, r: NewRefund) -> Reserve {
    ledger.write(move |c| reserve(c, &r)).await.unwrap()
}

#[tokio::test]
async fn reserve_checks_money_key_and_currency() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_payment(dir.path(), 10_000).await;
    let Reserve::New(first) = reserve_on(&ledger, ask("a", Some(6_000))).await else {
        panic!("first refund should reserve");
    };
    assert_eq!(first.gateway, "g");
    assert_eq!(first.gateway_payment_id, "gp1");
    // Same key and body: the same refund; another body: conflict.
    assert!(matches!(
        reserve_on(&ledger, ask("a", Some(6_000))).await,
        Reserve::Replay(v) if v.refund_id == first.refund_id
    ));
    assert_eq!(
        reserve_on(&ledger, ask("a", Some(5))).await,
        Reserve::Conflict
    );
    // 6,000 pending: 4,001 is above what is left.
    assert_eq!(
        reserve_on(&ledger, ask("b", Some(4_001))).await,
        Reserve::Refused(Refused::ExceedsAvailable { available: 4_000 })
    );
    let mut usd = ask("c", Some(1));
    usd.currency = "USD".into();
    assert!(matches!(
        reserve_on(&ledger, usd).await,
        Reserve::Refused(Refused::CurrencyMismatch { .. })
    ));
    // No amount: everything left.
    let Reserve::New(rest) = reserve_on(&ledger, ask("d", None)).await else {
        panic!("the rest should reserve");
    };
    assert_eq!(rest.amount, 4_000);
    assert_eq!(
        reserve_on(&ledger, ask("e", None)).await,
        Reserve::Refused(Refused::ExceedsAvailable { available: 0 })
    );
}

#[tokio::test]
async fn concurrent_reserves_never_exceed_captured() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_payment(dir.path(), 10_000).await;
    // 30 racing refunds of 500 for a payment of 10,000: exactly 20 win.
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let l = ledger.clone();
            tokio::spawn(async move { reserve_on(&l, ask(&format!("k{i}"), Some(500))).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Reserve::New(_)) {
            won += 1;
        }
    }
    assert_eq!(won, 20);
}

fn refund_event(refund: RefundInfo, gpid: &str, status: Option<PaymentStatus>, n: u32) -> Incoming {
    Incoming {
        event_id: format!("evt_{n}"),
        gateway: "g".into(),
        source: "callback".into(),
        kind: "refund".into(),
        payment_ref: None,
        merchant_order_id: None,
        gateway_payment_id: Some(gpid.into()),
        utr: None,
        rrn: None,
        status,
        reason: None,
        raw_status: refund.refund_status.clone(),
        raw_code: None,
        amount: refund.amount,
        currency: Some("INR".into()),
        occurred_at: None,
        received_at: OffsetDateTime::now_utc(),
        payer_vpa_masked: None,
        tpv_failed: false,
        refund: Some(refund),
    }
}

#[tokio::test]
async fn webhooks_match_our_refund_by_its_own_ids_and_move_the_payment_by_amount() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_payment(dir.path(), 10_000).await;
    let Reserve::New(r) = reserve_on(&ledger, ask("a", Some(4_000))).await else {
        panic!()
    };
    // The webhook names the gateway's refund id and echoes ours as the receipt;
    // the payment id it carries is the payment's, not the refund's (HS #5298).
    let info = RefundInfo {
        refund_id: Some("rfnd_X".into()),
        refund_status: "succeeded".into(),
        amount: Some(4_000),
        reference: Some("ARN9".into()),
        gateway_refund_id: Some("rfnd_X".into()),
        merchant_refund_id: Some(r.refund_id.clone()),
    };
    let inc = refund_event(info.clone(), "gp1", Some(PaymentStatus::Refunded), 1);
    let applied = ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    let e = applied.event.unwrap();
    assert_eq!(e.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(
        e.refund.unwrap().refund_id.as_deref(),
        Some(r.refund_id.as_str())
    );
    let rid = r.refund_id.clone();
    let v = ledger
        .query(move |c| get(c, "p1", &rid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.status, "succeeded");
    assert_eq!(v.gateway_refund_id.as_deref(), Some("rfnd_X"));
    assert_eq!(v.arn.as_deref(), Some("ARN9"));
    // The same status again (by the gateway's id only) changes nothing.
    let mut again = info.clone();
    again.merchant_refund_id = None;
    let inc = refund_event(again, "gp1", Some(PaymentStatus::Refunded), 2);
    let applied = ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    assert!(applied.event.is_none());
    // A later "failed" for the succeeded refund is a conflict, not a downgrade.
    let mut failed = info.clone();
    failed.refund_status = "failed".into();
    let inc = refund_event(failed, "gp1", None, 3);
    let applied = ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    assert!(applied.event.unwrap().flags.conflict);
    // The rest, refunded at the gateway's dashboard: a new row, payment refunded.
    let dash = RefundInfo {
        refund_id: Some("rfnd_Y".into()),
        refund_status: "succeeded".into(),
        amount: Some(6_000),
        reference: None,
        gateway_refund_id: Some("rfnd_Y".into()),
        merchant_refund_id: None,
    };
    let inc = refund_event(dash, "gp1", Some(PaymentStatus::Refunded), 4);
    let applied = ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    assert_eq!(applied.event.unwrap().status, PaymentStatus::Refunded);
    let all = ledger.query(|c| list(c, "p1")).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].origin, "gateway");
}

#[tokio::test]
async fn a_duplicate_payment_is_refunded_on_its_own_id_and_amount() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_payment(dir.path(), 10_000).await;
    let mut dup = ask("auto:e1", None);
    dup.target = Target::Duplicate {
        gateway_payment_id: "gp2".into(),
        amount: 10_000,
    };
    let Reserve::New(r) = reserve_on(&ledger, dup).await else {
        panic!()
    };
    assert_eq!((r.gateway_payment_id.as_str(), r.amount), ("gp2", 10_000));
    // The first payment's money is untouched by it.
    let Reserve::New(own) = reserve_on(&ledger, ask("own", None)).await else {
        panic!()
    };
    assert_eq!(own.amount, 10_000);
}

#[test]
fn migration_keeps_old_refund_rows_readable() {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let all = crate::ledger::schema::MIGRATIONS;
    crate::ledger::schema::migrate_with(&mut conn, &all[..all.len() - 1]).unwrap();
    conn.execute(
        "INSERT INTO refunds (payment_id, refund_id, gateway, status, amount_paise, updated_at)
         VALUES ('p', 'rfnd_old', 'g', 'succeeded', 100, 1)",
        [],
    )
    .unwrap();
    crate::ledger::schema::migrate(&mut conn).unwrap();
    let v = get(&conn, "p", "rfnd_old").unwrap().unwrap();
    assert_eq!(
        (v.origin.as_str(), v.attempts, v.amount),
        ("gateway", 0, Some(100))
    );
}

#[tokio::test]
async fn a_short_merchant_refund_id_is_matched_back_within_the_payment() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_payment(dir.path(), 10_000).await;
    let mut a = ask("a", Some(3_000));
    a.refund_id = "rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5d".into();
    let mut b = ask("b", Some(3_000));
    b.refund_id = "rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5e".into();
    for r in [a, b] {
        assert!(matches!(reserve_on(&ledger, r).await, Reserve::New(_)));
    }
    // Juspay EC / EBANX hold the last 20 characters of ours.
    let tail = |rid: &str| RefundInfo {
        refund_id: Some(rid[rid.len() - 20..].to_string()),
        refund_status: "succeeded".into(),
        amount: Some(3_000),
        reference: None,
        gateway_refund_id: Some("JRF1".into()),
        merchant_refund_id: Some(rid[rid.len() - 20..].to_string()),
    };
    let inc = refund_event(
        tail("rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5e"),
        "gp1",
        Some(PaymentStatus::Refunded),
        1,
    );
    let applied = ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    assert_eq!(
        applied.event.unwrap().refund.unwrap().refund_id.as_deref(),
        Some("rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5e")
    );
    let all = ledger.query(|c| list(c, "p1")).await.unwrap();
    assert_eq!(all.len(), 2, "matched, not a new row");
    let st: Vec<_> = all.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(st, ["pending", "succeeded"]);
    // Too short a tail is never matched by suffix: a new (gateway) row.
    let mut short = tail("rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5d");
    short.merchant_refund_id = Some("3b4c5d".into());
    short.gateway_refund_id = Some("JRF2".into());
    short.refund_id = Some("3b4c5d".into());
    let inc = refund_event(short, "gp1", Some(PaymentStatus::Refunded), 2);
    ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    let all = ledger.query(|c| list(c, "p1")).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].origin, "gateway");
}

/// Issue 12 item 4 with issue 14: a success that carried more than the intent (the
/// customer paid that) is refundable in full. Before, refunds were counted against
/// the intent's amount, so the automatic refund of a TPV failure that also paid ₹1
/// more was refused ("above what is left") and no money went back (sale day, seed 7).
#[tokio::test]
async fn refunds_count_against_what_the_gateway_captured() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        ledger.begin(intent_p1(10_000, now)).await.unwrap(),
        Begin::New
    );
    ledger
        .complete(Completion {
            payment_id: "p1".into(),
            idempotency_key: "k1".into(),
            gateway: "g".into(),
            gateway_payment_id: Some("gp1".into()),
            binds_gateway_payment_id: true,
            status: PaymentStatus::Pending,
            reason: None,
            raw_status: Some("pending".into()),
            attempts: vec![],
            response: StoredResponse {
                http_status: 201,
                body: b"{}".to_vec(),
            },
            at: now,
        })
        .await
        .unwrap();
    let inc = crate::model::Incoming {
        event_id: "evt_more".into(),
        gateway: "g".into(),
        source: "callback".into(),
        kind: "payment".into(),
        payment_ref: Some("p1".into()),
        merchant_order_id: None,
        gateway_payment_id: Some("gp1".into()),
        utr: None,
        rrn: None,
        status: Some(PaymentStatus::Succeeded),
        reason: None,
        raw_status: "succeeded".into(),
        raw_code: None,
        amount: Some(10_100),
        currency: Some("INR".into()),
        occurred_at: None,
        received_at: now,
        payer_vpa_masked: None,
        tpv_failed: true,
        refund: None,
    };
    let applied = ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    let flags = applied.event.unwrap().flags;
    assert!(flags.amount_mismatch && flags.refund_required);
    let Reserve::New(all) = reserve_on(&ledger, ask("all", None)).await else {
        panic!("what the customer paid should reserve");
    };
    assert_eq!(all.amount, 10_100, "the whole captured amount goes back");
    assert_eq!(
        reserve_on(&ledger, ask("more", Some(1))).await,
        Reserve::Refused(Refused::ExceedsAvailable { available: 0 })
    );
}

#[tokio::test]
async fn a_refund_marked_unsent_loses_the_mark_once_the_gateway_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_payment(dir.path(), 10_000).await;
    let Reserve::New(r) = reserve_on(&ledger, ask("u", Some(2_500))).await else {
        panic!()
    };
    let rid = r.refund_id.clone();
    ledger
        .write(move |c| resolve::mark_unsent(c, "p1", &rid, true))
        .await
        .unwrap();
    let rid = r.refund_id.clone();
    let due = ledger
        .query(move |c| {
            resolve::due(
                c,
                OffsetDateTime::now_utc() + Duration::from_secs(3600),
                0,
                10,
            )
        })
        .await
        .unwrap();
    assert!(due.iter().any(|d| d.refund_id == rid && d.unsent));
    // The gateway's webhook says it has the refund after all.
    let info = RefundInfo {
        refund_id: Some("rfnd_U".into()),
        refund_status: "succeeded".into(),
        amount: Some(2_500),
        reference: None,
        gateway_refund_id: Some("rfnd_U".into()),
        merchant_refund_id: Some(r.refund_id.clone()),
    };
    let inc = refund_event(info, "gp1", Some(PaymentStatus::Refunded), 9);
    ledger.write(move |c| apply(c, &inc, false)).await.unwrap();
    let rid = r.refund_id.clone();
    let v = ledger
        .query(move |c| get(c, "p1", &rid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v.status.as_str(), v.failure_code), ("succeeded", None));
}
