//! Sandbox callbacks against a fake receiver on port 0: every dialect's callbacks
//! verify with switchyard's own connector verifiers and parse to the right payment;
//! the delay, duplicate, drop and out-of-order knobs (seeded) and the retries do what
//! they say; the control API shows and changes them.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use switchyard::connectors::{self, Connector, InitiateRequest, Outcome, VerifyOptions};
use switchyard::connectors::{ConnectorKind, Credentials, GatewaySpec};
use switchyard::model::Secret;
use switchyard::model::{Currency, Customer, Method, Paise, PaymentRequest, PaymentStatus, Vpa};
use switchyard::sandbox::{
    CallbackConfig, CallbackKnobs, Controls, KnobsPatch, RetryPolicy, SandboxGateway, SandboxHandle,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const KINDS: [ConnectorKind; 3] = [
    ConnectorKind::Generic,
    ConnectorKind::Razorpay,
    ConnectorKind::Cashfree,
];

/// One callback as the receiver got it.
struct Received {
    gateway: String,
    headers: HeaderMap,
    body: Bytes,
    at: tokio::time::Instant,
}

#[derive(Clone)]
struct Receiver {
    tx: mpsc::UnboundedSender<Received>,
    /// Answer 503 to this many requests first.
    fail_first: Arc<AtomicUsize>,
}

async fn receive(
    State(r): State<Receiver>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let at = tokio::time::Instant::now();
    let _ = r.tx.send(Received {
        gateway,
        headers,
        body,
        at,
    });
    StatusCode::OK
}

/// A fake switchyard callback endpoint on port 0: `(base URL, arrivals, fail-first)`.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let fail_first = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/v1/callbacks/{gateway}", post(receive))
        .with_state(Receiver {
            tx,
            fail_first: fail_first.clone(),
        });
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}/v1/callbacks"), rx, fail_first)
}

fn spec(kind: ConnectorKind, addr: SocketAddr, webhook_secret: &str) -> GatewaySpec {
    GatewaySpec {
        name: format!("{}-sbx", kind.as_str()),
        kind,
        base_url: format!("http://{addr}"),
        credentials: Credentials {
            key_id: Some(Secret::new("key")),
            key_secret: Some(Secret::new("secret")),
            webhook_secret: Some(Secret::new(webhook_secret)),
            ..Default::default()
        },
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_secs(5),
        pool_size: 4,
        idempotent: false,
    }
}

/// A sandbox sending callbacks to `base` and a connector talking to it.
async fn gateway(
    kind: ConnectorKind,
    cfg: &CallbackConfig,
) -> (SandboxHandle, Arc<dyn Connector>, GatewaySpec) {
    let probe = spec(kind, "127.0.0.1:1".parse().unwrap(), "whsec_sbx");
    let (addr, h) = SandboxGateway::bind_sending(
        "127.0.0.1:0".parse().unwrap(),
        &probe,
        &Controls::new(),
        cfg,
    )
    .await
    .unwrap();
    let s = spec(kind, addr, "whsec_sbx");
    (h, connectors::build(&s).unwrap(), s)
}

fn request(method: Method, amount: i64) -> PaymentRequest {
    PaymentRequest {
        order_id: "ord_1".into(),
        amount: Paise(amount),
        currency: Currency::Inr,
        method,
        vpa: (method == Method::UpiCollect).then(|| Vpa::parse("asha.k@okaxis").unwrap()),
        customer: Customer {
            id: Some("cust1".into()),
            email: None,
            phone: Some("9876543210".into()),
        },
        description: None,
        tags: BTreeMap::new(),
        metadata: None,
    }
}

async fn pay(conn: &dyn Connector, payment_id: &str, method: Method, amount: i64) {
    let req = request(method, amount);
    let out = conn
        .initiate(InitiateRequest {
            payment_id,
            idempotency_key: payment_id,
            request: &req,
            callback_url: None,
        })
        .await;
    assert!(matches!(out, Outcome::Created(_)), "{payment_id}: {out:?}");
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        tolerance: Some(Duration::from_secs(300)),
        now: time::OffsetDateTime::now_utc(),
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a callback within 20 s")
        .expect("receiver open")
}

/// Waits (polling, bounded) until `n` callbacks are settled (acked or failed): the
/// receiver sees a callback before the sandbox has read the answer.
async fn settled(h: &SandboxHandle, n: u64) -> switchyard::sandbox::CallbackStats {
    let wait = async {
        loop {
            let st = h.callback_stats();
            if st.acked + st.failed >= n {
                return st;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("callbacks settle")
}

#[tokio::test]
async fn every_dialect_verifies_with_switchyards_verifier_and_parses_to_the_payment() {
    let (base, mut rx, _) = receiver().await;
    for kind in KINDS {
        let (h, conn, spec) = gateway(kind, &CallbackConfig::to(&base)).await;
        assert_eq!(h.callback_url(), Some(format!("{base}/{}", spec.name)));
        for (i, method) in Method::ALL.into_iter().enumerate() {
            let pid = format!("sy_01CB{i}{}", kind.as_str());
            pay(conn.as_ref(), &pid, method, 29_950).await;
            let r = next(&mut rx).await;
            assert_eq!(r.gateway, spec.name);
            conn.verify_callback(&r.headers, &r.body, opts())
                .unwrap_or_else(|e| panic!("{kind:?} {method:?}: {e}"));
            let data = conn.parse_callback(&r.headers, &r.body).unwrap();
            assert_eq!(data.payment_id.as_deref(), Some(pid.as_str()), "{kind:?}");
            assert_eq!(data.amount, Some(Paise(29_950)), "{kind:?} {method:?}");
            assert_eq!(data.kind, Some("payment"));
            assert!(matches!(
                data.status,
                Some(PaymentStatus::Succeeded | PaymentStatus::Failed)
            ));
            // The callback agrees with the sandbox's status answer.
            let gw_id = data.gateway_payment_id.clone();
            if kind != ConnectorKind::Cashfree || method.is_upi() {
                let st = conn.status(&pid, gw_id.as_deref()).await.unwrap();
                assert_eq!(Some(st.status), data.status, "{kind:?} {method:?}");
            }
            // Tampered body and a wrong secret are refused by the same verifier.
            let mut tampered = r.body.to_vec();
            let n = tampered.len();
            tampered[n / 2] ^= 1;
            assert!(conn.verify_callback(&r.headers, &tampered, opts()).is_err());
            let mut other = spec.clone();
            other.credentials.webhook_secret = Some(Secret::new("not-the-secret"));
            other.credentials.key_secret = Some(Secret::new("not-the-secret"));
            let wrong = connectors::build(&other).unwrap();
            assert!(wrong.verify_callback(&r.headers, &r.body, opts()).is_err());
        }
        let st = settled(&h, 5).await;
        assert_eq!((st.sent, st.acked, st.failed), (5, 5, 0), "{kind:?}");
    }
}

#[tokio::test]
async fn seeded_drop_and_duplicate_rates() {
    let (base, mut rx, _) = receiver().await;
    let mut cfg = CallbackConfig::to(&base);
    cfg.seed = Some(42);
    cfg.knobs = CallbackKnobs {
        drop_rate: 0.25,
        duplicate_rate: 0.2,
        ..Default::default()
    };
    let (h, conn, _) = gateway(ConnectorKind::Generic, &cfg).await;
    const N: u64 = 200;
    for i in 0..N {
        pay(
            conn.as_ref(),
            &format!("sy_rate{i}"),
            Method::UpiIntent,
            100,
        )
        .await;
    }
    let st = h.callback_stats();
    // Seeded: close to the rates (binomial, n = 200).
    assert!((30..=70).contains(&st.dropped), "{st:?}");
    assert!((15..=50).contains(&st.duplicated), "{st:?}");
    let expected = N - st.dropped + st.duplicated;
    let mut by_event: HashMap<String, u32> = HashMap::new();
    let mut payments = std::collections::HashSet::new();
    for _ in 0..expected {
        let r = next(&mut rx).await;
        let d = conn.parse_callback(&r.headers, &r.body).unwrap();
        *by_event.entry(d.gateway_event_id).or_default() += 1;
        payments.insert(d.payment_id.unwrap());
    }
    assert_eq!(payments.len() as u64, N - st.dropped);
    let twice = by_event.values().filter(|&&n| n == 2).count() as u64;
    assert_eq!(twice, st.duplicated, "duplicates repeat the event id");
    assert!(by_event.values().all(|&n| n <= 2));
    let st = settled(&h, expected).await;
    assert_eq!((st.sent, st.acked), (expected, expected));
}

#[tokio::test]
async fn out_of_order_sends_the_older_event_after_the_final_one() {
    let (base, mut rx, _) = receiver().await;
    let mut cfg = CallbackConfig::to(&base);
    cfg.knobs.out_of_order_rate = 1.0;
    for kind in KINDS {
        let (h, conn, _) = gateway(kind, &cfg).await;
        pay(conn.as_ref(), "sy_ooo1", Method::UpiCollect, 5_000).await;
        let first = next(&mut rx).await;
        let second = next(&mut rx).await;
        let a = conn.parse_callback(&first.headers, &first.body).unwrap();
        let b = conn.parse_callback(&second.headers, &second.body).unwrap();
        assert!(matches!(
            a.status,
            Some(PaymentStatus::Succeeded | PaymentStatus::Failed)
        ));
        assert_ne!(
            a.raw_status, b.raw_status,
            "{kind:?}: the second is the older event"
        );
        assert_ne!(a.gateway_event_id, b.gateway_event_id);
        assert!(
            b.occurred_at < a.occurred_at,
            "{kind:?}: the later delivery is older"
        );
        conn.verify_callback(&second.headers, &second.body, opts())
            .unwrap();
        assert_eq!(h.callback_stats().reordered, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn callback_delay_holds_the_callback() {
    let (base, mut rx, _) = receiver().await;
    let mut cfg = CallbackConfig::to(&base);
    cfg.timeout = None; // paused time: no request timer to auto-advance into
    cfg.knobs.callback_delay_ms = 30_000;
    let (_h, conn, _) = gateway(ConnectorKind::Razorpay, &cfg).await;
    let t0 = tokio::time::Instant::now();
    pay(conn.as_ref(), "sy_delay", Method::UpiIntent, 100).await;
    tokio::time::sleep(Duration::from_millis(29_900)).await;
    assert!(rx.try_recv().is_err(), "nothing before the delay");
    let r = rx.recv().await.unwrap();
    assert!(r.at - t0 >= Duration::from_secs(30), "{:?}", r.at - t0);
}

#[tokio::test(start_paused = true)]
async fn non_2xx_is_retried_with_backoff_then_given_up() {
    let (base, mut rx, fail_first) = receiver().await;
    let mut cfg = CallbackConfig::to(&base);
    cfg.timeout = None;
    cfg.retry = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(150),
    };
    let (h, conn, _) = gateway(ConnectorKind::Cashfree, &cfg).await;
    fail_first.store(2, Ordering::SeqCst);
    let t0 = tokio::time::Instant::now();
    pay(conn.as_ref(), "sy_retry", Method::UpiCollect, 100).await;
    let r = rx.recv().await.unwrap();
    // Backoff 100 ms then 150 ms (capped) before the third attempt.
    assert!(r.at - t0 >= Duration::from_millis(250), "{:?}", r.at - t0);
    assert_eq!(r.headers["x-webhook-attempt"], "3");
    conn.verify_callback(&r.headers, &r.body, opts()).unwrap();
    let st = settled(&h, 1).await;
    assert_eq!((st.sent, st.acked, st.retries, st.failed), (1, 1, 2, 0));

    fail_first.store(100, Ordering::SeqCst);
    pay(conn.as_ref(), "sy_retry2", Method::UpiCollect, 100).await;
    let st = settled(&h, 2).await;
    assert_eq!((st.sent, st.acked, st.failed), (2, 1, 1));
    assert_eq!(100 - fail_first.load(Ordering::SeqCst), 4, "4 attempts");
}

#[tokio::test]
async fn control_api_shows_and_changes_callback_knobs() {
    let (base, mut rx, _) = receiver().await;
    let (h, conn, spec) = gateway(ConnectorKind::Generic, &CallbackConfig::to(&base)).await;
    let url = format!("http://{}/_sandbox/{}", h.addr(), spec.name);
    let http = reqwest::Client::new();
    let v: serde_json::Value = http
        .post(&url)
        .json(&serde_json::json!({"callbacks": false, "drop_rate": 0.5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["callbacks"]["knobs"]["callbacks"], false);
    assert_eq!(v["callbacks"]["knobs"]["drop_rate"], 0.5);
    pay(conn.as_ref(), "sy_off", Method::UpiIntent, 100).await;
    h.patch(KnobsPatch {
        callbacks: Some(true),
        drop_rate: Some(0.0),
        ..Default::default()
    });
    pay(conn.as_ref(), "sy_on", Method::UpiIntent, 100).await;
    let r = next(&mut rx).await;
    let d = conn.parse_callback(&r.headers, &r.body).unwrap();
    assert_eq!(
        d.payment_id.as_deref(),
        Some("sy_on"),
        "the off one was never sent"
    );
    settled(&h, 1).await;
    let v: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["callbacks"]["stats"]["sent"], 1);
    assert_eq!(v["callbacks"]["stats"]["acked"], 1);
    assert_eq!(
        v["callbacks"]["url"],
        format!("{base}/{}", spec.name).as_str()
    );
}
