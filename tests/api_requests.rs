//! Idempotency and request validation against a real server.

mod common;

use common::{Behaviour, FakeGateway, TestServer, gateway, payment};
use serde_json::json;

async fn server_with(b: Behaviour) -> (TestServer, FakeGateway) {
    let gw = FakeGateway::start(b).await;
    let cfg = format!(
        "{}[[route]]\nname = \"upi\"\nmatch = {{ method = [\"upi_intent\", \"upi_collect\", \"upi_qr\"] }}\nsplit = [{{ gateway = \"gw\", weight = 1 }}]\n",
        gateway("gw", gw.addr, false)
    );
    (TestServer::start(&cfg).await, gw)
}

#[tokio::test]
async fn same_key_same_body_replays_the_stored_response() {
    let (s, gw) = server_with(Behaviour::Create).await;
    let (st1, b1, r1) = s.pay("idem-1", payment("ord_a")).await;
    assert_eq!(st1, 201);
    assert!(!r1);
    // Same body with its keys in another order is the same request.
    let reordered = json!({"method": "upi_intent", "amount": 49900, "order_id": "ord_a"});
    let (st2, b2, r2) = s.pay("idem-1", reordered).await;
    assert_eq!(st2, 201);
    assert!(r2, "Idempotent-Replayed header missing");
    assert_eq!(b1, b2);
    assert_eq!(gw.hits(), 1, "a replay must not call the gateway");
}

#[tokio::test]
async fn same_key_different_body_is_a_conflict() {
    let (s, gw) = server_with(Behaviour::Create).await;
    assert_eq!(s.pay("idem-2", payment("ord_b")).await.0, 201);
    let mut other = payment("ord_b");
    other["amount"] = json!(50000);
    let (st, body, _) = s.pay("idem-2", other).await;
    assert_eq!(st, 409);
    assert_eq!(body["error"]["code"], "idempotency_conflict");
    assert_eq!(gw.hits(), 1);
}

#[tokio::test]
async fn same_key_while_the_first_is_in_flight_is_request_in_progress() {
    let (s, gw) = server_with(Behaviour::Hang).await;
    let s = std::sync::Arc::new(s);
    let first = {
        let s = s.clone();
        tokio::spawn(async move { s.pay("idem-3", payment("ord_c")).await })
    };
    gw.wait_for_request().await; // the first request is at the gateway
    let (st, body, _) = s.pay("idem-3", payment("ord_c")).await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "request_in_progress");
    let (st1, _, _) = first.await.unwrap();
    assert_eq!(st1, 504);
    // Once finished, the same key replays the stored 504.
    let (st2, body2, replayed) = s.pay("idem-3", payment("ord_c")).await;
    assert_eq!((st2, replayed), (504, true));
    assert_eq!(body2["status"], "unknown");
}

async fn raw(
    s: &TestServer,
    key: Option<&str>,
    ctype: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut rb = s
        .client
        .post(s.url("/v1/payments"))
        .header("content-type", ctype)
        .body(body);
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn every_bad_input_is_a_4xx_with_its_code() {
    let (s, gw) = server_with(Behaviour::Create).await;
    let ok = serde_json::to_vec(&payment("ord_v")).unwrap();
    let j = "application/json";
    // (idempotency key, content type, body, status, code, field)
    type Case<'a> = (
        Option<&'a str>,
        &'a str,
        Vec<u8>,
        u16,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (None, j, ok.clone(), 400, "idempotency_key_missing", None),
        (
            Some("bad key!"),
            j,
            ok.clone(),
            400,
            "idempotency_key_missing",
            None,
        ),
        (
            Some("k"),
            "text/plain",
            ok.clone(),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            Some("k"),
            j,
            vec![b' '; 5000],
            413,
            "payload_too_large",
            None,
        ),
        (
            Some("k"),
            j,
            b"{not json".to_vec(),
            400,
            "invalid_request",
            None,
        ),
        (
            Some("k"),
            j,
            br#"{"order_id":"o","amount":1.5,"method":"upi_intent"}"#.to_vec(),
            400,
            "invalid_request",
            Some("amount"),
        ),
        (
            Some("k"),
            j,
            br#"{"order_id":"o","amount":-3,"method":"upi_intent"}"#.to_vec(),
            400,
            "invalid_request",
            Some("amount"),
        ),
        (
            Some("k"),
            j,
            br#"{"order_id":"o","amount":100,"method":"upi_collect"}"#.to_vec(),
            400,
            "invalid_request",
            Some("vpa"),
        ),
        (
            Some("k"),
            j,
            br#"{"order_id":"o","amount":100,"method":"upi_collect","vpa":"nope"}"#.to_vec(),
            400,
            "invalid_request",
            Some("vpa"),
        ),
        (
            Some("k"),
            j,
            br#"{"order_id":"o","amount":100,"method":"upi_intent","x":1}"#.to_vec(),
            400,
            "invalid_request",
            Some("x"),
        ),
        (
            Some("k"),
            j,
            br#"{"amount":100,"method":"upi_intent"}"#.to_vec(),
            400,
            "invalid_request",
            Some("order_id"),
        ),
        (
            Some("k"),
            j,
            br#"{"order_id":"o","amount":100,"method":"card"}"#.to_vec(),
            422,
            "no_route",
            None,
        ),
    ];
    for (key, ctype, body, status, code, field) in cases {
        let (st, v) = raw(&s, key, ctype, body).await;
        assert_eq!(st, status, "{code}: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        if let Some(f) = field {
            assert_eq!(v["error"]["field"], f, "{v}");
        }
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert_eq!(gw.hits(), 0);
    let r = s
        .client
        .get(s.url("/v1/payments/sy_nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = s.client.get(s.url("/v1/payments")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn payment_is_readable_by_id_and_order_and_ids_are_echoed() {
    let (s, _gw) = server_with(Behaviour::Create).await;
    let r = s
        .client
        .post(s.url("/v1/payments"))
        .header("Idempotency-Key", "idem-r")
        .header("X-Request-Id", "req-42")
        .json(&payment("ord_r"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-42");
    let created: serde_json::Value = r.json().await.unwrap();
    let id = created["payment_id"].as_str().unwrap();
    let p: serde_json::Value = s
        .client
        .get(s.url(&format!("/v1/payments/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["order_id"], "ord_r");
    assert_eq!(p["merchant_txn_id"], id);
    assert_eq!(p["gateway_payment_id"], created["gateway_payment_id"]);
    assert_eq!(p["amount"], 49900);
    let list: serde_json::Value = s
        .client
        .get(s.url("/v1/payments?order_id=ord_r"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["payments"][0]["payment_id"], id);
    let m = s.metrics_text().await;
    assert!(m.contains("switchyard_requests_total"), "{m}");
    let h = s.client.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(h.status().as_u16(), 200);
}
