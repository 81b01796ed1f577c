//! Properties over hostile input (the CI half of `fuzz/`, issue 16): the request
//! validator, every connector's callback signature check and parser, the config
//! loader and every dialect's gateway-response parsing never panic; bad input is
//! never a 5xx; a 2xx without the gateway's payment id is never `Created`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use switchyard::connectors::{
    self, ConnectorKind, Credentials, GatewaySpec, InitiateRequest, Outcome, VerifyOptions,
};
use switchyard::model::{Currency, Customer, Method, Paise, PaymentRequest, Secret, Vpa};

/// JSON values up to a small depth, biased toward the payment request's fields.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<i64>().prop_map(Into::into),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,40}".prop_map(Into::into),
        Just("upi_collect".into()),
        Just("a@b".into()),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Into::into),
            prop::collection::btree_map(
                prop_oneof![
                    Just("order_id".to_string()),
                    Just("amount".to_string()),
                    Just("method".to_string()),
                    Just("vpa".to_string()),
                    Just("customer".to_string()),
                    Just("tags".to_string()),
                    Just("currency".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn spec(kind: ConnectorKind, base_url: &str) -> GatewaySpec {
    GatewaySpec {
        name: "f".into(),
        kind,
        base_url: base_url.into(),
        credentials: Credentials {
            key_id: Some(Secret::new("kid")),
            key_secret: Some(Secret::new("ks")),
            webhook_secret: Some(Secret::new(match kind {
                ConnectorKind::JuspayUpi => include_str!("keys/juspay_test_public.pem"),
                _ => "whsec",
            })),
        },
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        pool_size: 1,
        idempotent: false,
    }
}

fn headers(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            h.append(k, v);
        }
    }
    h
}

fn header_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                Just("x-switchyard-signature".to_string()),
                Just("x-switchyard-timestamp".to_string()),
                Just("x-razorpay-signature".to_string()),
                Just("x-webhook-signature".to_string()),
                Just("x-webhook-timestamp".to_string()),
                Just("signature".to_string()),
                "[a-z-]{1,12}",
            ],
            prop_oneof!["sha256=[0-9a-f]{0,64}", "[0-9]{0,14}", "\\PC{0,30}"],
        ),
        0..5,
    )
}

/// `PROPTEST_CASES` (a longer run, docs/SECURITY.md), else 256.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn the_request_validator_never_panics_and_refuses_with_a_4xx(v in json_value()) {
        if let Err(e) = switchyard::http::parse_payment(&v) {
            prop_assert!(e.status().is_client_error(), "{e:?}");
        }
    }

    #[test]
    fn callback_checks_and_parsers_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        json in json_value(),
        h in header_pairs(),
    ) {
        let opts = VerifyOptions { tolerance: Some(Duration::from_secs(300)), now: time::OffsetDateTime::now_utc() };
        let hm = headers(&h);
        for kind in ConnectorKind::ALL {
            let c = connectors::build(&spec(kind, "http://127.0.0.1:9")).unwrap();
            let _ = c.verify_callback(&hm, &body, opts);
            let _ = c.parse_callback(&hm, &body);
            let as_json = serde_json::to_vec(&json).unwrap();
            let _ = c.verify_callback(&hm, &as_json, opts);
            let _ = c.parse_callback(&hm, &as_json);
        }
    }

    #[test]
    fn the_config_loader_never_panics(text in "(\\[[a-z]{1,8}\\]\n|[a-z_]{1,12} = (\"\\PC{0,12}\"|[0-9]{1,6}|true|\\[\\])\n|\\PC{0,20}\n){0,12}") {
        let _ = switchyard::config::load_str(&text, "fuzz.toml", &|_| Some("x".into()), 1);
    }
}

/// A gateway whose next answer the property chooses.
struct Scripted {
    addr: std::net::SocketAddr,
    next: Arc<Mutex<(u16, Vec<u8>)>>,
}

async fn scripted() -> Scripted {
    let next = Arc::new(Mutex::new((200u16, Vec::new())));
    let n = Arc::clone(&next);
    let app = axum::Router::new().fallback(move || {
        let (status, body) = n.lock().unwrap().clone();
        async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
                body,
            )
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    Scripted { addr, next }
}

fn request() -> PaymentRequest {
    PaymentRequest {
        order_id: "ord_f".into(),
        amount: Paise(49_900),
        currency: Currency::Inr,
        method: Method::UpiCollect,
        vpa: Some(Vpa::parse("asha.k@okaxis").unwrap()),
        customer: Customer::default(),
        description: None,
        tags: BTreeMap::new(),
        metadata: None,
    }
}

/// Answers without any of the dialects' id fields.
fn body_without_ids() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| {
            let mut s = serde_json::to_vec(&v).unwrap();
            // No dialect's id key survives (id, razorpay_payment_id, cf_payment_id...).
            let text = String::from_utf8_lossy(&s).replace("id", "xx");
            s = text.into_bytes();
            s
        }),
        Just(br#"{"status":"created"}"#.to_vec()),
        Just(br#"{"data":{"payload":{}}}"#.to_vec()),
    ]
}

#[test]
fn gateway_answers_never_panic_and_a_2xx_without_an_id_is_never_created() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gw = rt.block_on(scripted());
    let base = format!("http://{}", gw.addr);
    let dialects: Vec<_> = [
        ConnectorKind::Generic,
        ConnectorKind::Razorpay,
        ConnectorKind::Cashfree,
    ]
    .into_iter()
    .map(|k| (k, connectors::build(&spec(k, &base)).unwrap()))
    .collect();
    let req = request();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(96),
        ..ProptestConfig::default()
    });
    let strategy = (
        prop_oneof![Just(200u16), Just(201), Just(202), 100u16..600],
        prop_oneof![
            body_without_ids(),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap())
        ],
    );
    runner
        .run(&strategy, |(status, body)| {
            let without_id = !String::from_utf8_lossy(&body).contains("id");
            *gw.next.lock().unwrap() = (status.max(200), body);
            for (kind, c) in &dialects {
                let ir = InitiateRequest {
                    payment_id: "sy_F",
                    idempotency_key: "k",
                    request: &req,
                    callback_url: None,
                };
                let out = rt.block_on(c.initiate(ir));
                if (200..300).contains(&status.max(200)) && without_id {
                    prop_assert!(
                        !matches!(out, Outcome::Created(_)),
                        "{kind:?}: a 2xx without an id was Created: {out:?}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn bad_input_at_the_edge_is_never_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = rt.block_on(async {
        let gw = common::FakeGateway::start(common::Behaviour::Create).await;
        common::TestServer::start(&format!(
            "{}[[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 100 }}]\n",
            common::gateway("a", gw.addr, false)
        ))
        .await
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(128),
        ..ProptestConfig::default()
    });
    let strategy = (
        prop_oneof![
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..300),
        ],
        header_pairs(),
        "[A-Za-z0-9_-]{0,70}",
    );
    runner
        .run(&strategy, |(body, h, key)| {
            rt.block_on(async {
                for path in ["/v1/payments", "/v1/callbacks/a", "/v1/callbacks/nope"] {
                    let mut req = srv
                        .client
                        .post(srv.url(path))
                        .header("content-type", "application/json")
                        .header("idempotency-key", key.clone())
                        .body(body.clone());
                    for (k, v) in &h {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    let Ok(r) = req.send().await else { continue };
                    let s = r.status().as_u16();
                    prop_assert!(
                        s < 500,
                        "{path}: {s} for {:?}",
                        String::from_utf8_lossy(&body)
                    );
                }
                Ok(())
            })
        })
        .unwrap();
}
