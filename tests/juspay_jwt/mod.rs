//! Juspay EC's JWT webhooks end to end: the twin seals each webhook (a JWS by its
//! Juspay key inside a JWE to the merchant's key, src/sandbox/keys/README.md) and
//! switchyard opens it; each mode refuses the other's bodies.

use switchyard::connectors::ConnectorKind;

use super::{Env, env, env_with, paid_and_called_back};

/// A Juspay EC gateway in JWT webhook mode: the merchant's key and the twin's
/// Juspay public key (src/sandbox/keys/README.md).
const JWT_KEYS: &str = concat!(
    "jwt_private_key_file = \"",
    env!("CARGO_MANIFEST_DIR"),
    "/src/sandbox/keys/juspay_ec_merchant_private.pem\"\njwt_public_key_file = \"",
    env!("CARGO_MANIFEST_DIR"),
    "/src/sandbox/keys/juspay_ec_sandbox_public.pem\""
);

#[tokio::test]
async fn a_basic_auth_gateway_refuses_jwt_webhooks() {
    let e = env(ConnectorKind::JuspayEc).await;
    let sealed = {
        use switchyard::connectors::juspay_ec::jwt::{private_key, seal};
        let juspay = private_key(JUSPAY_EC_JUSPAY).unwrap();
        let merchant = private_key(JUSPAY_EC_MERCHANT).unwrap().to_public_key();
        seal(b"{}", &juspay, &merchant, "k").unwrap()
    };
    assert_eq!(
        post_callback(&e, "Basic dGVzdC1zZWNyZXQ=", sealed).await,
        (400, "malformed".into())
    );
}

const JUSPAY_EC_MERCHANT: &str =
    include_str!("../../src/sandbox/keys/juspay_ec_merchant_private.pem");
const JUSPAY_EC_JUSPAY: &str = include_str!("../../src/sandbox/keys/juspay_ec_sandbox_private.pem");

/// `POST /v1/callbacks/juspay_ec` with Basic auth `basic`: status and error code.
async fn post_callback(e: &Env, basic: &str, body: Vec<u8>) -> (u16, String) {
    let r = e
        .server
        .client
        .post(e.server.url("/v1/callbacks/juspay_ec"))
        .header("authorization", basic)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

/// Juspay's JWT webhooks: the twin seals each one (a JWS by its Juspay key inside a
/// JWE to the merchant's key), switchyard opens it; a plain webhook is refused.
#[tokio::test]
async fn juspay_ec_jwt_webhooks_end_to_end() {
    let e = env_with(ConnectorKind::JuspayEc, Some(JWT_KEYS)).await;
    for (i, m) in ["upi_collect", "upi_qr"].into_iter().enumerate() {
        paid_and_called_back(&e, &format!("jwt_{i}"), m).await;
    }
    let plain = br#"{"id":"evt_V2_x","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"jwt_0","status":"CHARGED","amount":299.5}}}"#;
    let basic = "Basic dGVzdC1zZWNyZXQ=";
    assert_eq!(
        post_callback(&e, basic, plain.to_vec()).await,
        (401, "invalid_signature".into())
    );
}

/// A flood of forged JWT bodies (sealed to the merchant's key, so each one costs
/// the RSA decryption, but signed by the wrong key): each is refused (401) or, with
/// every costly-check permit busy, 429; never a 5xx; authentic webhooks still land.
#[tokio::test]
async fn a_forged_jwt_flood_is_refused_within_bounds_and_authentic_webhooks_land() {
    let e = env_with(ConnectorKind::JuspayEc, Some(JWT_KEYS)).await;
    let forged = {
        use switchyard::connectors::juspay_ec::jwt::{private_key, seal};
        let merchant = private_key(JUSPAY_EC_MERCHANT).unwrap();
        let body = br#"{"id":"evt_forged","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"x","status":"CHARGED","amount":1.0}}}"#;
        seal(body, &merchant, &merchant.to_public_key(), "k").unwrap()
    };
    const FLOOD: usize = 48;
    let mut tasks = Vec::new();
    for _ in 0..FLOOD {
        let (client, url, body) = (
            e.server.client.clone(),
            e.server.url("/v1/callbacks/juspay_ec"),
            forged.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for t in tasks {
        let s = t.await.unwrap().unwrap();
        *by_status.entry(s).or_default() += 1;
    }
    println!("forged flood of {FLOOD}: answers by status {by_status:?}");
    assert!(
        by_status.keys().all(|s| *s == 401 || *s == 429),
        "{by_status:?}"
    );
    let metrics = e.server.metrics_text().await;
    let count = |result: &str| -> usize {
        let line =
            format!(r#"switchyard_callbacks_total{{gateway="juspay_ec",result="{result}"}} "#);
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        count("invalid_signature") + count("verify_busy"),
        FLOOD,
        "{by_status:?}"
    );
    assert_eq!(
        count("verify_busy"),
        by_status.get(&429).copied().unwrap_or(0)
    );
    // The twin's sealed webhooks still go in.
    paid_and_called_back(&e, "after_flood", "upi_collect").await;
}

/// Payments' latency with and without a flood of forged JWT bodies beside them
/// (docs/BENCHMARKS.md). `cargo test --release --test gateways_e2e forged_jwt_flood_bench
/// -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn forged_jwt_flood_bench() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let e = env_with(ConnectorKind::JuspayEc, Some(JWT_KEYS)).await;
    let forged = {
        use switchyard::connectors::juspay_ec::jwt::{private_key, seal};
        let merchant = private_key(JUSPAY_EC_MERCHANT).unwrap();
        seal(b"{}", &merchant, &merchant.to_public_key(), "k").unwrap()
    };
    async fn payments(e: &Env, tag: &str, n: usize) -> (f64, f64) {
        let mut lat = Vec::with_capacity(n);
        for i in 0..n {
            let t = std::time::Instant::now();
            let order = format!("{tag}_{i}");
            let (s, v, _) = e.server.pay(&order, super::payment(&order, "upi_qr")).await;
            assert!(s == 201 || s == 402, "{s} {v}");
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        lat.sort_by(f64::total_cmp);
        (lat[n / 2], lat[n * 99 / 100])
    }
    let quiet = payments(&e, "quiet", 300).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for _ in 0..32 {
        let (client, url, body) = (
            e.server.client.clone(),
            e.server.url("/v1/callbacks/juspay_ec"),
            forged.clone(),
        );
        let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                assert!(r.is_ok_and(|r| r.status().as_u16() < 500));
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t = std::time::Instant::now();
    let flooded = payments(&e, "flooded", 300).await;
    let secs = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    println!(
        "payments p50 / p99 (ms): quiet {:.2} / {:.2}; beside {:.0} forged JWT bodies a second: {:.2} / {:.2}",
        quiet.0,
        quiet.1,
        sent.load(Ordering::Relaxed) as f64 / secs,
        flooded.0,
        flooded.1
    );
}
