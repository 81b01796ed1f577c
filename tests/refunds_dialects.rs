//! The PayU, PhonePe, Paytm, Adyen, Juspay EC and EBANX twins check refund calls
//! as the gateways do: a missing field, a bad hash / checksum / token / API key, a
//! bad amount format, an unknown payment or refund, a reused merchant refund id —
//! each refused (or, where the gateway documents it, answered as the same refund)
//! in the dialect's own shape, and nothing refunded twice.

mod common;
mod refunds_common;

use serde_json::{Value, json};
use switchyard::connectors::form::encode;
use switchyard::connectors::{ConnectorKind, paytm, payu};

use refunds_common::twin;

async fn post(url: String, ct: &str, body: String, auth: Option<&str>) -> (u16, Value) {
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", ct)
        .body(body);
    if let Some(a) = auth {
        rb = rb.header("authorization", a);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_payu_twin_checks_refund_commands() {
    let t = twin(ConnectorKind::Payu, "").await;
    let (_, mihpayid) = t.paid("o1", 10_000).await;
    let url = format!(
        "http://{}{}?form=2",
        t.sandbox.addr(),
        payu::POSTSERVICE_PATH
    );
    let key = "test-secret";
    let form = |var2: &str, var3: &str, hash: &str| {
        let mut f = vec![
            ("key", key.to_string()),
            ("command", payu::REFUND_COMMAND.to_string()),
            ("var1", mihpayid.clone()),
            ("var2", var2.to_string()),
            ("var3", var3.to_string()),
        ];
        f.push(("hash", hash.to_string()));
        encode(&f)
    };
    let good = payu::command_hash(key, payu::REFUND_COMMAND, &mihpayid, key);
    let ct = "application/x-www-form-urlencoded";
    let (_, v) = post(url.clone(), ct, form("", "10.00", &good), None).await;
    assert_eq!(v["msg"], "Parameter missing", "{v}");
    let (_, v) = post(url.clone(), ct, form("tok1", "10.00", "00"), None).await;
    assert_eq!(v["msg"], "Invalid Hash.", "{v}");
    let (_, v) = post(url.clone(), ct, form("tok1", "10.0x", &good), None).await;
    assert_eq!(
        (v["status"].as_i64(), v["error_code"].as_i64()),
        (Some(0), Some(105))
    );
    assert!(t.sandbox.refunds().is_empty());
    let (s, v) = post(url.clone(), ct, form("tok1", "10.00", &good), None).await;
    assert_eq!((s, v["status"].as_i64()), (200, Some(1)), "{v}");
    assert_eq!(v["msg"], "Refund Request Queued");
    // The same token again: refused, the refund is not taken twice.
    let (_, v) = post(url.clone(), ct, form("tok1", "10.00", &good), None).await;
    assert_eq!(v["msg"], "Token already exists.", "{v}");
    assert_eq!(t.sandbox.refunds().len(), 1);
    // The status of every action on the payment lists it by token.
    let sh = payu::command_hash(key, payu::STATUS_COMMAND, &mihpayid, key);
    let st = encode(&[
        ("key", key),
        ("command", payu::STATUS_COMMAND),
        ("var1", &mihpayid),
        ("var2", "payuid"),
        ("hash", &sh),
    ]);
    let (_, v) = post(url, ct, st, None).await;
    let actions = v["transaction_details"][mihpayid.as_str()]
        .as_object()
        .unwrap();
    assert_eq!(actions.values().next().unwrap()["token"], "tok1", "{v}");
}

#[tokio::test]
async fn the_phonepe_twin_checks_refund_calls() {
    let t = twin(ConnectorKind::Phonepe, "").await;
    let (pid, _) = t.paid("o1", 10_000).await;
    let base = format!("http://{}", t.sandbox.addr());
    let (_, tok) = post(
        format!("{base}/v1/oauth/token"),
        "application/x-www-form-urlencoded",
        "client_id=test-secret&client_version=1&client_secret=test-secret&grant_type=client_credentials".into(),
        None,
    )
    .await;
    let auth = format!("O-Bearer {}", tok["access_token"].as_str().unwrap());
    let refund = |b: Value, authed: bool| {
        post(
            format!("{base}/payments/v2/refund"),
            "application/json",
            b.to_string(),
            authed.then_some(auth.as_str()),
        )
    };
    let ok = json!({"merchantRefundId": "rf_a", "originalMerchantOrderId": pid, "amount": 1_000});
    assert_eq!(refund(ok.clone(), false).await.0, 401);
    for bad in [
        json!({"originalMerchantOrderId": pid, "amount": 1_000}),
        json!({"merchantRefundId": "rf_a", "originalMerchantOrderId": pid, "amount": 99}),
        json!({"merchantRefundId": "rf_a", "originalMerchantOrderId": pid, "amount": "10.00"}),
        json!({"merchantRefundId": "rf_a", "originalMerchantOrderId": "nope", "amount": 1_000}),
    ] {
        let (s, v) = refund(bad.clone(), true).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    assert!(t.sandbox.refunds().is_empty());
    let (s, v) = refund(ok.clone(), true).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("PENDING")), "{v}");
    // The same merchantRefundId answers the same refund.
    let (_, again) = refund(ok, true).await;
    assert_eq!(again["refundId"], v["refundId"]);
    assert_eq!(t.sandbox.refunds().len(), 1);
    let r = reqwest::Client::new()
        .get(format!("{base}/payments/v2/refund/rf_nope/status"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn the_paytm_twin_checks_refund_calls() {
    let t = twin(ConnectorKind::Paytm, "").await;
    let (pid, txn) = t.paid("o1", 10_000).await;
    let base = format!("http://{}", t.sandbox.addr());
    let key = "Kx9mQ2vT7pL4wZ8n";
    let body = |amount: &str, kind: &str, rid: &str| {
        json!({"mid": "SANDBX12345678901234", "txnType": kind, "orderId": pid, "txnId": txn,
               "refId": rid, "refundAmount": amount})
    };
    let send = |b: Value, signed: bool| {
        let text = if signed {
            paytm::signed(&b, key).unwrap()
        } else {
            format!(r#"{{"body":{b},"head":{{"signature":"bm9wZQ=="}}}}"#)
        };
        post(
            format!("{base}{}", paytm::REFUND_PATH),
            "application/json",
            text,
            None,
        )
    };
    let code = |v: &Value| {
        v["body"]["resultInfo"]["resultCode"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let (_, v) = send(body("10.00", "REFUND", "rf_a"), false).await;
    assert_eq!(code(&v), "2005", "{v}");
    let (_, v) = send(body("10.0.0", "REFUND", "rf_a"), true).await;
    assert_eq!(code(&v), "619", "{v}");
    let (_, v) = send(body("10.00", "SALE", "rf_a"), true).await;
    assert_eq!(code(&v), "600", "{v}");
    assert!(t.sandbox.refunds().is_empty());
    let (_, v) = send(body("10.00", "REFUND", "rf_a"), true).await;
    assert_eq!(
        (code(&v), v["body"]["resultInfo"]["resultStatus"].as_str()),
        ("601".to_string(), Some("PENDING")),
        "{v}"
    );
    let (_, v) = send(body("10.00", "REFUND", "rf_a"), true).await;
    assert_eq!(code(&v), paytm::ALREADY_RAISED, "{v}");
    assert_eq!(t.sandbox.refunds().len(), 1);
    let st = json!({"mid": "SANDBX12345678901234", "orderId": pid, "refId": "rf_nope"});
    let (_, v) = post(
        format!("{base}{}", paytm::REFUND_STATUS_PATH),
        "application/json",
        paytm::signed(&st, key).unwrap(),
        None,
    )
    .await;
    assert_eq!(code(&v), "631", "{v}");
}

#[tokio::test]
async fn the_adyen_twin_checks_refund_calls() {
    let t = twin(ConnectorKind::Adyen, "").await;
    let (_, psp) = t.paid("o1", 10_000).await;
    let base = format!("http://{}", t.sandbox.addr());
    let send = |path: String, b: Value, key: Option<&'static str>, authed: bool| {
        let mut rb = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(b.to_string());
        if authed {
            rb = rb.header("x-api-key", "k");
        }
        if let Some(k) = key {
            rb = rb.header("idempotency-key", k);
        }
        async move {
            let r = rb.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    let path = format!("/v71/payments/{psp}/refunds");
    let ok = json!({"merchantAccount": "M", "amount": {"currency": "INR", "value": 1_000},
                    "reference": "rf_a"});
    let (s, v) = send(path.clone(), ok.clone(), Some("rf_a"), false).await;
    assert_eq!((s, v["errorCode"].as_str()), (401, Some("000")), "{v}");
    for (bad, code) in [
        (
            json!({"amount": {"currency": "INR", "value": 1_000}}),
            "14_005",
        ),
        (
            json!({"merchantAccount": "M", "amount": {"currency": "INR", "value": "10.00"}}),
            "100",
        ),
        (
            json!({"merchantAccount": "M", "amount": {"currency": "INR", "value": 10.5}}),
            "100",
        ),
        (
            json!({"merchantAccount": "M", "amount": {"value": 1_000}}),
            "101",
        ),
    ] {
        let (s, v) = send(path.clone(), bad.clone(), None, true).await;
        assert_eq!(
            (s, v["errorCode"].as_str()),
            (422, Some(code)),
            "{bad}: {v}"
        );
    }
    let (s, v) = send("/v71/payments/NOPE/refunds".into(), ok.clone(), None, true).await;
    assert_eq!((s, v["errorCode"].as_str()), (422, Some("167")), "{v}");
    assert!(t.sandbox.refunds().is_empty());
    let (s, first) = send(path.clone(), ok.clone(), Some("rf_a"), true).await;
    assert_eq!(
        (s, first["status"].as_str()),
        (201, Some("received")),
        "{first}"
    );
    assert_eq!(first["paymentPspReference"], psp.as_str());
    // The same idempotency key and body: the same refund, not a second one.
    let (s, again) = send(path.clone(), ok.clone(), Some("rf_a"), true).await;
    assert_eq!((s, &again["pspReference"]), (201, &first["pspReference"]));
    assert_eq!(t.sandbox.refunds().len(), 1);
    // The same key with another body is refused.
    let mut other = ok.clone();
    other["amount"]["value"] = 2_000.into();
    let (s, v) = send(path.clone(), other, Some("rf_a"), true).await;
    assert_eq!((s, v["errorCode"].as_str()), (422, Some("704")), "{v}");
    // Above what is left.
    let mut big = ok.clone();
    big["amount"]["value"] = 9_001.into();
    let (s, v) = send(path.clone(), big, Some("rf_b"), true).await;
    assert_eq!((s, v["errorCode"].as_str()), (422, Some("137")), "{v}");
    assert_eq!(t.sandbox.refunds().len(), 1);
}

#[tokio::test]
async fn the_juspay_ec_twin_checks_refund_calls() {
    let t = twin(ConnectorKind::JuspayEc, "").await;
    let (pid, _) = t.paid("o1", 10_000).await;
    let base = format!("http://{}", t.sandbox.addr());
    let url = format!("{base}/orders/{pid}/refunds");
    let auth = "Basic dGVzdC1zZWNyZXQ6";
    let send = |url: String, pairs: Vec<(&'static str, &'static str)>, authed: bool| {
        let mut rb = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-merchantid", "m")
            .body(encode(&pairs));
        if authed {
            rb = rb.header("authorization", auth);
        }
        async move {
            let r = rb.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    let ok = vec![("unique_request_id", "a1b2c3d4e5"), ("amount", "10.00")];
    assert_eq!(send(url.clone(), ok.clone(), false).await.0, 401);
    let code = |v: &Value| v["error_code"].as_str().unwrap_or("").to_string();
    for (bad, want) in [
        (vec![("amount", "10.00")], "Mandatory fields are missing"),
        (
            vec![
                ("unique_request_id", "rf_0190f0e1c2d37a4b8c9d0e1f"),
                ("amount", "10.00"),
            ],
            "invalid.unique_request_id",
        ),
        (
            vec![("unique_request_id", "a1"), ("amount", "0")],
            "invalid amount",
        ),
        (
            vec![("unique_request_id", "a1"), ("amount", "10.0.0")],
            "invalid amount",
        ),
    ] {
        let (s, v) = send(url.clone(), bad.clone(), true).await;
        assert_eq!((s, code(&v)), (400, want.to_string()), "{bad:?}: {v}");
    }
    let (s, v) = send(format!("{base}/orders/nope/refunds"), ok.clone(), true).await;
    assert_eq!((s, v["status"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    assert!(t.sandbox.refunds().is_empty());
    let (s, v) = send(url.clone(), ok.clone(), true).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["refunds"][0]["unique_request_id"], "a1b2c3d4e5");
    assert_eq!(v["refunds"][0]["status"], "PENDING", "{v}");
    // The same unique_request_id again, and the same amount under another id within
    // 5 seconds: both duplicate.call, nothing refunded twice.
    let (s, v) = send(url.clone(), ok.clone(), true).await;
    assert_eq!((s, code(&v)), (400, "duplicate.call".to_string()), "{v}");
    let (_, v) = send(
        url.clone(),
        vec![("unique_request_id", "other1"), ("amount", "10.00")],
        true,
    )
    .await;
    assert_eq!(code(&v), "duplicate.call", "{v}");
    let (_, v) = send(
        url.clone(),
        vec![("unique_request_id", "other2"), ("amount", "90.01")],
        true,
    )
    .await;
    assert_eq!(code(&v), "invalid.amount.exceeded", "{v}");
    assert_eq!(t.sandbox.refunds().len(), 1);
    // The order status lists the refund.
    let st: Value = reqwest::Client::new()
        .get(format!("{base}/orders/{pid}"))
        .header("authorization", auth)
        .header("x-merchantid", "m")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["refunds"][0]["unique_request_id"], "a1b2c3d4e5", "{st}");
}

#[tokio::test]
async fn the_ebanx_twin_checks_refund_calls() {
    let t = twin(ConnectorKind::Ebanx, "").await;
    let (_, hash) = t.paid("o1", 10_000).await;
    let base = format!("http://{}", t.sandbox.addr());
    let send =
        |path: &'static str, b: String| post(format!("{base}{path}"), "application/json", b, None);
    let body = |key: &str, op: &str, amount: &str, desc: &str, code: &str| {
        format!(
            r#"{{"integration_key":"{key}","operation":"{op}","hash":"{hash}","amount":{amount},"description":"{desc}","merchant_refund_code":"{code}"}}"#
        )
    };
    let code = |v: &Value| v["status_code"].as_str().unwrap_or("").to_string();
    // Errors come with HTTP 200 and EBANX's error object.
    for (b, want) in [
        (body("", "request", "10.00", "r", "c1"), "BP-SA-1"),
        (body("k", "cancel", "10.00", "r", "c1"), "BP-REF-1"),
        (body("k", "request", "10.00", "", "c1"), "BP-REF-2"),
        (
            body("k", "request", "10.00", "r", "rf_0190f0e1c2d37a4b8c9d0e1f"),
            "BP-REF-3",
        ),
        (body("k", "request", "10.001", "r", "c1"), "BP-REF-4"),
        (body("k", "request", "0", "r", "c1"), "BP-REF-4"),
        (body("k", "request", "100.01", "r", "c1"), "BP-REF-6"),
    ] {
        let (s, v) = send("/ws/refund", b.clone()).await;
        assert_eq!((s, code(&v)), (200, want.to_string()), "{b}: {v}");
    }
    let unknown = body("k", "request", "10.00", "r", "c1").replace(&hash, "nope");
    let (_, v) = send("/ws/refund", unknown).await;
    assert_eq!(code(&v), "BP-REF-5", "{v}");
    assert!(t.sandbox.refunds().is_empty());
    let (_, v) = send("/ws/refund", body("k", "request", "10.00", "r", "c1")).await;
    assert_eq!(v["status"], "SUCCESS", "{v}");
    assert_eq!(
        (
            v["refund"]["merchant_refund_code"].as_str(),
            v["refund"]["status"].as_str()
        ),
        (Some("c1"), Some("RE"))
    );
    // EBANX documents no uniqueness of merchant_refund_code: the same code again is
    // a second refund (switchyard only resends after its query found none).
    let (_, v) = send("/ws/refund", body("k", "request", "20.00", "r", "c1")).await;
    assert_eq!(v["status"], "SUCCESS", "{v}");
    assert_eq!(t.sandbox.refunds().len(), 2);
    // The query lists both under the payment.
    let (_, q) = send(
        "/ws/query",
        format!(r#"{{"integration_key":"k","hash":"{hash}"}}"#),
    )
    .await;
    let refunds = q["payment"]["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2, "{q}");
    assert!(refunds.iter().all(|r| r["merchant_refund_code"] == "c1"));
}
