//! `POST /v1/callbacks/{gateway}` against a real server: signatures for every
//! implemented gateway, normalization, precedence and dedupe, orphans.

mod cb;
mod common;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::post;
use cb::{
    GATEWAYS, Kind, SECRET, deliver, headers, new_payment, new_payment_on, now_secs, outbox_event,
    payload, send,
};
use common::{Behaviour, FakeGateway, TestServer};
use serde_json::{Value, json};
use switchyard::health::Observation;

async fn start() -> (TestServer, FakeGateway) {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let srv = TestServer::start(&cb::config(gw.addr, "")).await;
    (srv, gw)
}

#[tokio::test]
async fn a_valid_callback_is_accepted_for_each_gateway() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let (srv, mut health) = TestServer::start_with_health_feed(&cb::config(gw.addr, "")).await;
    for (i, g) in GATEWAYS.into_iter().enumerate() {
        let (pid, gpid) = new_payment_on(&srv, &format!("ok{i}"), g).await;
        let (status, v) = deliver(&srv, g, payload(g, Kind::Success, &pid, &gpid, "")).await;
        assert_eq!(status, 200, "{g}: {v}");
        assert_eq!(v["result"], "accepted", "{g}");
        let ev = outbox_event(&srv, v["event_id"].as_str().unwrap())
            .await
            .unwrap_or_else(|| panic!("{g}: no outbox row"));
        assert_eq!(ev["status"], "succeeded", "{g}");
        assert_eq!(ev["payment_id"], pid.as_str(), "{g}");
        assert_eq!(cb::payment_status(&srv, &pid).await, "succeeded", "{g}");
    }
    // Each final outcome reached the health feed (besides the initiation attempts).
    let mut finals = 0;
    while let Ok(obs) = health.try_recv() {
        if let Observation::Final {
            gateway, succeeded, ..
        } = obs
        {
            // The payment's gateway (each payment was made at the gateway that calls back).
            assert!(succeeded);
            assert_eq!(&*gateway, GATEWAYS[finals]);
            finals += 1;
        }
    }
    assert_eq!(finals, GATEWAYS.len());
    let metrics = srv.metrics_text().await;
    assert!(metrics.contains(r#"switchyard_callbacks_total{gateway="jus",result="accepted"} 1"#));
}

#[tokio::test]
async fn forged_or_stale_callbacks_are_401_and_counted() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "forged").await;
    for g in GATEWAYS {
        let body = payload(g, Kind::Success, &pid, &gpid, "");
        let good = headers(g, &body, SECRET, now_secs());
        // Tampered body: the amount changed after signing.
        let tampered = String::from_utf8(body.clone())
            .unwrap()
            .replacen("499", "999", 1)
            .into_bytes();
        assert_ne!(tampered, body, "{g}: tamper changed nothing");
        // Wrong secret (Juspay: a signature made over other bytes).
        let wrong = if g == "jus" {
            headers(g, b"{}", SECRET, now_secs())
        } else {
            headers(g, &body, "not-the-secret", now_secs())
        };
        let missing: Vec<(String, String)> = good
            .iter()
            .filter(|(k, _)| k.contains("timestamp"))
            .cloned()
            .collect();
        for (case, h, b) in [
            ("tampered", &good, tampered),
            ("wrong secret", &wrong, body.clone()),
            ("missing header", &missing, body.clone()),
        ] {
            let (status, v) = send(&srv, g, h, b).await;
            assert_eq!(status, 401, "{g} {case}: {v}");
            assert_eq!(v["error"]["code"], "invalid_signature", "{g} {case}");
        }
    }
    // Stale timestamps (the gateways that sign one): an hour old.
    for g in ["gen", "cf"] {
        let body = payload(g, Kind::Success, &pid, &gpid, "");
        let h = headers(g, &body, SECRET, now_secs() - 3600);
        let (status, _) = send(&srv, g, &h, body).await;
        assert_eq!(status, 401, "{g}: stale timestamp accepted");
    }
    assert_eq!(cb::payment_status(&srv, &pid).await, "pending");
    assert_eq!(cb::outbox_count(&srv, &pid).await, 0);
    let invalid = srv
        .state
        .metrics
        .callbacks
        .with_label_values(&["gen", "invalid_signature"])
        .get();
    assert_eq!(invalid, 4);
}

#[tokio::test]
async fn unknown_gateway_malformed_and_oversized_bodies() {
    let (srv, _gw) = start().await;
    let (status, _) = deliver(&srv, "gen", b"{}".to_vec()).await;
    assert_eq!(status, 400, "generic without event_id is malformed");
    let body = b"not json".to_vec();
    let h = headers("rzp", &body, SECRET, now_secs());
    let (status, v) = send(&srv, "rzp", &h, body).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("malformed"))
    );
    let (status, v) = send(&srv, "nope", &[], b"{}".to_vec()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let big = vec![b' '; 70_000];
    let (status, _) = send(&srv, "gen", &[], big).await;
    assert_eq!(status, 413);
}

/// Success, failure (with reason), pending and refund for every gateway: unified
/// status, reason, paise, UTC, masked VPA in the outbox event.
#[tokio::test]
async fn normalization_per_gateway() {
    let (srv, _gw) = start().await;
    for (i, g) in GATEWAYS.into_iter().enumerate() {
        for kind in [Kind::Pending, Kind::Failure, Kind::Success, Kind::Refund] {
            let (pid, gpid) = new_payment_on(&srv, &format!("n{i}{kind:?}"), g).await;
            if kind == Kind::Refund {
                let (s, _) = deliver(&srv, g, payload(g, Kind::Success, &pid, &gpid, "")).await;
                assert_eq!(s, 200);
            }
            let (status, v) = deliver(&srv, g, payload(g, kind, &pid, &gpid, "")).await;
            let what = format!("{g} {kind:?}");
            assert_eq!(status, 200, "{what}: {v}");
            let Some(ev) = outbox_event(&srv, v["event_id"].as_str().unwrap()).await else {
                // Razorpay's `created` is pending, like the payment already is.
                assert_eq!(v["result"], "unchanged", "{what}");
                continue;
            };
            let (st, reason, amount) = match kind {
                Kind::Success => ("succeeded", Value::Null, 49_900),
                Kind::Failure => ("failed", json!("insufficient_funds"), 49_900),
                Kind::Pending => ("pending", Value::Null, 49_900),
                Kind::Refund => ("partially_refunded", Value::Null, 10_000),
            };
            assert_eq!(ev["status"], st, "{what}: {ev}");
            assert_eq!(ev["reason"], reason, "{what}");
            assert_eq!(ev["amount"], amount, "{what}");
            assert_eq!(ev["currency"], "INR", "{what}");
            let at = ev["occurred_at"].as_str().unwrap();
            assert!(at.ends_with('Z'), "{what}: {at} not UTC");
            if kind != Kind::Refund {
                // 10:00 IST is 04:30 UTC.
                assert!(at.contains("T04:30:00"), "{what}: {at}");
                if g != "rzp" {
                    assert_eq!(ev["payer_vpa_masked"], "a***@okaxis", "{what}");
                }
            } else {
                assert_eq!(ev["kind"], "refund", "{what}");
                assert_eq!(ev["refund"]["refund_status"], "succeeded", "{what}");
                assert_eq!(ev["refund"]["amount"], 10_000, "{what}");
            }
            if kind == Kind::Failure {
                assert_eq!(ev["order_action"], "cancel", "{what}");
            }
            assert!(!ev.to_string().contains("alice@"), "{what}: VPA unmasked");
        }
    }
}

#[tokio::test]
async fn duplicate_storm_gives_one_event() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "storm").await;
    let body = payload("gen", Kind::Success, &pid, &gpid, "");
    let srv = Arc::new(srv);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (srv, body) = (srv.clone(), body.clone());
        tasks.push(tokio::spawn(
            async move { deliver(&srv, "gen", body).await },
        ));
    }
    let mut results = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "every redelivery is acknowledged");
        results.push(v["result"].as_str().unwrap().to_string());
    }
    assert_eq!(results.iter().filter(|r| *r == "accepted").count(), 1);
    assert_eq!(results.iter().filter(|r| *r == "duplicate").count(), 49);
    assert_eq!(cb::outbox_count(&srv, &pid).await, 1);
}

#[tokio::test]
async fn late_success_after_failure_is_applied_and_flagged() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "late").await;
    let (_, v) = deliver(&srv, "gen", payload("gen", Kind::Failure, &pid, &gpid, "")).await;
    assert_eq!(v["result"], "accepted");
    let (_, v) = deliver(&srv, "gen", payload("gen", Kind::Success, &pid, &gpid, "")).await;
    assert_eq!(v["result"], "accepted");
    let ev = outbox_event(&srv, v["event_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(ev["status"], "succeeded");
    assert_eq!(ev["previous_status"], "failed");
    assert_eq!(ev["flags"]["late_success"], true);
    assert_eq!(cb::payment_status(&srv, &pid).await, "succeeded");
}

#[tokio::test]
async fn failure_after_success_never_downgrades_and_is_a_conflict() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "conf").await;
    let (_, v) = deliver(&srv, "gen", payload("gen", Kind::Success, &pid, &gpid, "")).await;
    assert_eq!(v["result"], "accepted");
    let (status, v) = deliver(&srv, "gen", payload("gen", Kind::Failure, &pid, &gpid, "")).await;
    assert_eq!((status, v["result"].as_str()), (200, Some("conflict")));
    let ev = outbox_event(&srv, v["event_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(ev["flags"]["conflict"], true);
    assert_eq!(
        ev["status"], "succeeded",
        "the event reports the kept state"
    );
    assert_eq!(ev["raw_status"], "failed");
    assert_eq!(cb::payment_status(&srv, &pid).await, "succeeded");
}

#[tokio::test]
async fn tpv_failure_with_success_requires_a_refund() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment_on(&srv, "tpv", "jus").await;
    let mut v: Value =
        serde_json::from_slice(&payload("jus", Kind::Success, &pid, &gpid, "")).unwrap();
    v["tpvValidationStatus"] = json!("FAILURE");
    let (_, r) = deliver(&srv, "jus", serde_json::to_vec(&v).unwrap()).await;
    let ev = outbox_event(&srv, r["event_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(ev["flags"]["tpv_failed"], true);
    assert_eq!(ev["flags"]["refund_required"], true);
    assert_eq!(ev["order_action"], "refund", "never revenue");
}

/// The gateway calls back before it answers the initiation, naming the payment only
/// by its own id: the callback is an orphan until the answer links it.
#[tokio::test]
async fn callback_before_the_initiation_response_is_an_orphan_then_linked() {
    let target: Arc<OnceLock<std::net::SocketAddr>> = Arc::new(OnceLock::new());
    let seen: Arc<OnceLock<Value>> = Arc::new(OnceLock::new());
    let (t, s) = (target.clone(), seen.clone());
    let app = Router::new().route(
        "/v1/payments",
        post(move |body: axum::body::Bytes| {
            let (t, s) = (t.clone(), s.clone());
            async move {
                let req: Value = serde_json::from_slice(&body).unwrap();
                let cb = json!({"event_id": "early-1", "type": "payment", "payment": {
                    "id": "gw_early", "status": "succeeded", "amount": 49900, "currency": "INR"}});
                let cb = serde_json::to_vec(&cb).unwrap();
                let h = headers("gen", &cb, SECRET, now_secs());
                let mut rb = reqwest::Client::new()
                    .post(format!("http://{}/v1/callbacks/gen", t.get().unwrap()))
                    .body(cb);
                for (k, v) in h {
                    rb = rb.header(k, v);
                }
                let ack: Value = rb.send().await.unwrap().json().await.unwrap();
                let _ = s.set(ack);
                (
                    axum::http::StatusCode::CREATED,
                    axum::Json(
                        json!({"id": "gw_early", "merchant_txn_id": req["merchant_txn_id"],
                        "status": "pending", "next_action": {"type": "await_customer"}}),
                    ),
                )
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw_addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    let srv = TestServer::start(&cb::config(gw_addr, "")).await;
    target.set(srv.addr).unwrap();

    let (pid, gpid) = new_payment(&srv, "early").await;
    assert_eq!(gpid, "gw_early");
    let ack = seen.get().expect("the gateway called back");
    assert_eq!(ack["result"], "orphan");
    let ev = outbox_event(&srv, ack["event_id"].as_str().unwrap())
        .await
        .expect("linked when the payment learned its gateway id");
    assert_eq!(ev["payment_id"], pid.as_str());
    assert_eq!(ev["flags"]["orphan"], true);
    assert_eq!(cb::payment_status(&srv, &pid).await, "succeeded");
}

#[tokio::test]
async fn refunds_add_up_to_refunded() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "refunds").await;
    deliver(&srv, "gen", payload("gen", Kind::Success, &pid, &gpid, "")).await;
    let mut last = Value::Null;
    for (rid, amount) in [("rf_a", 10_000), ("rf_b", 39_900)] {
        let body = json!({"event_id": format!("refund-{rid}"), "type": "refund",
            "payment": {"merchant_txn_id": pid, "id": gpid},
            "refund": {"id": rid, "status": "succeeded", "amount": amount}});
        let (status, v) = deliver(&srv, "gen", serde_json::to_vec(&body).unwrap()).await;
        assert_eq!((status, v["result"].as_str()), (200, Some("accepted")));
        last = outbox_event(&srv, v["event_id"].as_str().unwrap())
            .await
            .unwrap();
        if rid == "rf_a" {
            assert_eq!(last["status"], "partially_refunded");
            assert_eq!(last["order_action"], "fulfil");
        }
    }
    assert_eq!(last["status"], "refunded");
    assert_eq!(last["previous_status"], "partially_refunded");
    assert_eq!(last["order_action"], "cancel");
    assert_eq!(cb::payment_status(&srv, &pid).await, "refunded");
}

#[tokio::test]
async fn ledger_that_cannot_commit_answers_503() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "down").await;
    srv.state.ledger.shutdown().await.unwrap();
    let (status, v) = deliver(&srv, "gen", payload("gen", Kind::Success, &pid, &gpid, "")).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "unavailable");
}

/// A callback verified with another gateway's secret than the payment's is refused
/// with 409 `gateway_mismatch` and counted; the payment does not move (issue 12
/// item 0; before, any gateway's secret settled any payment).
#[tokio::test]
async fn another_gateways_secret_cannot_move_a_payment() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "mismatch").await;
    let (status, v) = deliver(&srv, "rzp", payload("rzp", Kind::Success, &pid, &gpid, "")).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "gateway_mismatch");
    assert_eq!(cb::payment_status(&srv, &pid).await, "pending");
    assert_eq!(cb::outbox_count(&srv, &pid).await, 0);
    let counted = srv
        .state
        .metrics
        .callbacks
        .with_label_values(&["rzp", "gateway_mismatch"])
        .get();
    assert_eq!(counted, 1);
}

#[tokio::test]
async fn a_signature_proof_covers_only_its_own_body_and_gateway() {
    let (srv, _gw) = start().await;
    let (pid, gpid) = new_payment(&srv, "proof").await;
    let body = payload("gen", Kind::Success, &pid, &gpid, "");
    let mut map = http::HeaderMap::new();
    for (k, v) in headers("gen", &body, SECRET, now_secs()) {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let flow = &srv.state.callbacks;
    let proof = flow.verify("gen", &map, &body).unwrap();
    // The same proof handed another body, or another gateway's name: refused.
    let other = payload("gen", Kind::Failure, &pid, &gpid, "");
    assert_eq!(
        flow.ingest_verified("gen", &map, &other, &proof).await,
        Err(switchyard::callbacks::CallbackError::InvalidSignature)
    );
    assert_eq!(
        flow.ingest_verified("rzp", &map, &body, &proof).await,
        Err(switchyard::callbacks::CallbackError::InvalidSignature)
    );
    assert_eq!(cb::payment_status(&srv, &pid).await, "pending");
    // Its own body goes in, checked once.
    let ack = flow
        .ingest_verified("gen", &map, &body, &proof)
        .await
        .unwrap();
    assert_eq!(ack.result, "accepted");
    assert_eq!(cb::payment_status(&srv, &pid).await, "succeeded");
}
