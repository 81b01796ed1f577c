//! End to end against each gateway's sandbox twin (Adyen, EBANX, Juspay EC): a
//! payment through switchyard's API → the twin's signed callback in the real
//! format → `POST /v1/callbacks/<gateway>` → the event at the sink; and, with the
//! callback dropped, the status query answers the payment's final state. Juspay EC
//! also in its JWT webhook mode (a JWS inside a JWE, from the twin's test keys).

mod common;
mod juspay_jwt;

use common::TestServer;
use common::pipeline::{FakeSink, eventually};
use switchyard::connectors::ConnectorKind;
use switchyard::sandbox::{CallbackConfig, CallbackKnobsPatch, SandboxGateway, SandboxHandle};

/// The Adyen HMAC key the twin signs with (Adyen's published example key).
const ADYEN_HMAC_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

struct Env {
    server: TestServer,
    sink: FakeSink,
    twin: SandboxHandle,
    _secrets: tempfile::TempDir,
}

async fn env(kind: ConnectorKind) -> Env {
    env_with(kind, None).await
}

/// A twin of `kind`, a switchyard routing everything to it, a sink, and the twin's
/// callbacks pointed at the server; `keys`: the gateway's webhook keys instead of
/// the default ones.
async fn env_with(kind: ConnectorKind, keys: Option<&str>) -> Env {
    let name = kind.as_str();
    let (addr, twin) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), kind, name)
        .await
        .unwrap();
    let secrets = tempfile::tempdir().unwrap();
    // Every `*_env` resolves to "test-secret"; the webhook secrets that must have a
    // shape come from files.
    let webhook = match kind {
        ConnectorKind::Adyen => {
            let p = secrets.path().join("adyen_hmac");
            std::fs::write(&p, ADYEN_HMAC_KEY).unwrap();
            format!("webhook_secret_file = {:?}", p.display().to_string())
        }
        ConnectorKind::Ebanx => format!(
            "webhook_secret_file = {:?}",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/sandbox/keys/ebanx_sandbox_cert.pem"
            )
        ),
        _ => "webhook_secret_env = \"W\"".to_string(),
    };
    let webhook = keys.map_or(webhook, str::to_string);
    let sink = FakeSink::start(false).await;
    let body = format!(
        "[[gateway]]\nname = \"{name}\"\nconnector = \"{name}\"\nbase_url = \"http://{addr}\"\n\
         timeout = \"2s\"\nconnect_timeout = \"500ms\"\nkey_id_env = \"K\"\nkey_secret_env = \"S\"\n{webhook}\n\n\
         [[route]]\nname = \"all\"\nsplit = [{{ gateway = \"{name}\", weight = 100 }}]\n\n\
         [pipeline]\npoll = \"20ms\"\n\n[[sink]]\nname = \"recon\"\nkind = \"http\"\nurl = \"{}\"\n\
         secret_env = \"RECON\"\ntimeout = \"2s\"\n",
        sink.url()
    );
    let server = TestServer::start(&body).await;
    let spec = {
        let snap = server.state.config.load();
        snap.gateway(name).unwrap().1.spec.clone()
    };
    twin.send_callbacks(
        &spec,
        &CallbackConfig::to(format!("http://{}/v1/callbacks", server.addr)),
    );
    Env {
        server,
        sink,
        twin,
        _secrets: secrets,
    }
}

fn payment(order: &str, method: &str) -> serde_json::Value {
    let mut p = serde_json::json!({"order_id": order, "amount": 29_950, "method": method,
        "customer": {"id": "cust_1", "email": "a@example.com", "phone": "+919876543210"}});
    if method == "upi_collect" {
        p["vpa"] = "asha.k@okaxis".into();
    }
    p
}

/// Pays, waits for the callback's event at the sink, and checks it.
async fn paid_and_called_back(e: &Env, order: &str, method: &str) -> serde_json::Value {
    let (status, v, _) = e.server.pay(order, payment(order, method)).await;
    assert!(status == 200 || status == 201, "{order}: {status} {v}");
    let pid = v["payment_id"].as_str().unwrap().to_string();
    assert!(v["next_action"].is_object(), "{order}: {v}");
    eventually(20, "the callback's event at the sink", || {
        e.sink
            .received()
            .iter()
            .any(|ev| ev["payment_id"] == pid.as_str() && ev["source"] == "callback")
    })
    .await;
    let ev = e
        .sink
        .received()
        .into_iter()
        .find(|ev| ev["payment_id"] == pid.as_str() && ev["source"] == "callback")
        .unwrap();
    assert_eq!(ev["amount"], 29_950, "{order}: paise at the sink: {ev}");
    assert_eq!(ev["status"], "succeeded", "{order}: {ev}");
    v
}

/// With the callback dropped, the connector's status query gives the final state.
async fn status_after_dropped_callback(e: &Env, order: &str, method: &str) {
    e.twin.patch_callbacks(CallbackKnobsPatch {
        drop_rate: Some(1.0),
        ..Default::default()
    });
    let (status, v, _) = e.server.pay(order, payment(order, method)).await;
    assert!(status == 200 || status == 201, "{order}: {status} {v}");
    let pid = v["payment_id"].as_str().unwrap();
    let gid = v["gateway_payment_id"].as_str();
    let conn = {
        let snap = e.server.state.config.load();
        std::sync::Arc::clone(&snap.gateways[0].connector)
    };
    let rep = conn.status(pid, gid).await.unwrap();
    assert_eq!(rep.status.as_str(), "succeeded", "{order}: {rep:?}");
    assert_eq!(rep.amount.map(|p| p.get()), Some(29_950), "{order}");
    assert_eq!(
        e.twin.callback_stats().dropped,
        1,
        "{order}: the callback was dropped"
    );
}

#[tokio::test]
async fn adyen_end_to_end() {
    let e = env(ConnectorKind::Adyen).await;
    for (i, m) in ["upi_collect", "upi_intent", "upi_qr"]
        .into_iter()
        .enumerate()
    {
        let v = paid_and_called_back(&e, &format!("ady_{i}"), m).await;
        assert!(v["gateway_payment_id"].as_str().unwrap().starts_with("SBX"));
    }
    // Cards go through a payment link: a redirect; Adyen's links are queryable.
    status_after_dropped_callback(&e, "ady_card", "card").await;
}

#[tokio::test]
async fn ebanx_end_to_end() {
    let e = env(ConnectorKind::Ebanx).await;
    // The notification names the hash only: switchyard queries /ws/query for it.
    for (i, m) in ["upi_intent", "upi_qr"].into_iter().enumerate() {
        paid_and_called_back(&e, &format!("ebx_{i}"), m).await;
    }
    status_after_dropped_callback(&e, "ebx_drop", "upi_intent").await;
}

#[tokio::test]
async fn juspay_ec_end_to_end() {
    let e = env(ConnectorKind::JuspayEc).await;
    for (i, m) in ["upi_collect", "upi_intent", "upi_qr"]
        .into_iter()
        .enumerate()
    {
        paid_and_called_back(&e, &format!("jus_{i}"), m).await;
    }
    status_after_dropped_callback(&e, "jus_drop", "upi_collect").await;
}

/// The twins refuse what the gateways refuse, in the gateways' own error shapes, and
/// switchyard refuses a callback whose signature does not verify.
#[tokio::test]
async fn twins_refuse_what_the_gateways_refuse() {
    let c = reqwest::Client::new();
    // Adyen: no X-API-Key → 401; an amount that is not an integer → 422.
    let (a, _h) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), ConnectorKind::Adyen, "a")
        .await
        .unwrap();
    let body = serde_json::json!({"merchantAccount": "M", "reference": "r",
        "amount": {"currency": "INR", "value": 1.5}, "paymentMethod": {"type": "upi_qr"}});
    let r = c
        .post(format!("http://{a}/v71/payments"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(format!("http://{a}/v71/payments"))
        .header("x-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errorType"], "validation");
    // EBANX: errors with HTTP 200 and its error object.
    let (e, _h) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), ConnectorKind::Ebanx, "e")
        .await
        .unwrap();
    let ask = |b: &'static str| {
        let c = c.clone();
        async move {
            let v: serde_json::Value = c
                .post(format!("http://{e}/ws/direct"))
                .header("content-type", "application/json")
                .body(b)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["status_code"].as_str().unwrap_or("").to_string()
        }
    };
    assert_eq!(
        ask(r#"{"operation":"request","payment":{}}"#).await,
        "BP-SA-1"
    );
    assert_eq!(
        ask(r#"{"integration_key":"k","operation":"request","payment":{"merchant_payment_code":"p","currency_code":"INR","amount_total":1.005,"payment_type_code":"upi-intent"}}"#).await,
        "BP-DR-5"
    );
    // Juspay: no Basic auth → 401.
    let (j, _h) =
        SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), ConnectorKind::JuspayEc, "j")
            .await
            .unwrap();
    let r = c
        .post(format!("http://{j}/orders"))
        .body("order_id=x&amount=1.00")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // switchyard refuses a forged callback for each.
    for kind in [
        ConnectorKind::Adyen,
        ConnectorKind::Ebanx,
        ConnectorKind::JuspayEc,
    ] {
        let env = env(kind).await;
        let r = env
            .server
            .client
            .post(env.server.url(&format!("/v1/callbacks/{}", kind.as_str())))
            .header("authorization", "Basic Zm9yZ2VkOmZvcmdlZA==")
            .header("x-signaturecontent", "Zm9yZ2Vk")
            .body(r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"eventCode":"AUTHORISATION","success":"true","additionalData":{"hmacSignature":"Zm9yZ2Vk"}}}]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{kind:?}");
    }
}

fn drop_callbacks(e: &Env) {
    e.twin.patch_callbacks(CallbackKnobsPatch {
        drop_rate: Some(1.0),
        ..Default::default()
    });
}

/// An Adyen notification batch carries several items, each signed on its own: every
/// item becomes an event, and the answer is Adyen's `[accepted]`.
#[tokio::test]
async fn adyen_batch_is_applied_item_by_item_and_accepted() {
    let e = env(ConnectorKind::Adyen).await;
    drop_callbacks(&e);
    let mut items = Vec::new();
    let mut pids = Vec::new();
    for (i, ok) in [(0, "true"), (1, "false")] {
        let (_, v, _) = e
            .server
            .pay(&format!("ab_{i}"), payment(&format!("ab_{i}"), "upi_qr"))
            .await;
        let pid = v["payment_id"].as_str().unwrap().to_string();
        let mut item = serde_json::json!({
            "amount": {"currency": "INR", "value": 29_950}, "eventCode": "AUTHORISATION",
            "eventDate": "2026-01-02T10:00:00+05:30", "merchantAccountCode": "M",
            "merchantReference": pid, "paymentMethod": "upi_qr",
            "pspReference": v["gateway_payment_id"], "reason": "", "success": ok,
            "additionalData": {}});
        item["additionalData"]["hmacSignature"] =
            switchyard::connectors::adyen::sign_item(ADYEN_HMAC_KEY, &item)
                .unwrap()
                .into();
        items.push(serde_json::json!({ "NotificationRequestItem": item }));
        pids.push(pid);
    }
    let batch = serde_json::json!({"live": "false", "notificationItems": items});
    let r = e
        .server
        .client
        .post(e.server.url("/v1/callbacks/adyen"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "[accepted]");
    eventually(20, "both items' events at the sink", || {
        let got = e.sink.received();
        let st = |p: &str| {
            got.iter()
                .find(|ev| ev["payment_id"] == p && ev["source"] == "callback")
                .map(|ev| ev["status"].clone())
        };
        st(&pids[0]) == Some("succeeded".into()) && st(&pids[1]) == Some("failed".into())
    })
    .await;
}

/// An EBANX notification names a payment only; when the status query cannot be
/// made, the notification is refused with 503 (EBANX redelivers), and accepted once
/// the query answers.
#[tokio::test]
async fn ebanx_notification_waits_for_its_status_query() {
    let e = env(ConnectorKind::Ebanx).await;
    drop_callbacks(&e);
    let (_, v, _) = e.server.pay("eq_1", payment("eq_1", "upi_intent")).await;
    let hash = v["gateway_payment_id"].as_str().unwrap().to_string();
    let body =
        format!("operation=payment_status_change&notification_type=update&hash_codes={hash}");
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/sandbox/keys/ebanx_sandbox_private.pem"
    ))
    .unwrap();
    let sig = switchyard::connectors::ebanx::sign_notification(&key, body.as_bytes()).unwrap();
    let post = || {
        e.server
            .client
            .post(e.server.url("/v1/callbacks/ebanx"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-signaturecontent", sig.clone())
            .body(body.clone())
            .send()
    };
    e.twin.patch(switchyard::sandbox::KnobsPatch {
        down: Some(true),
        ..Default::default()
    });
    assert_eq!(post().await.unwrap().status(), 503);
    e.twin.patch(switchyard::sandbox::KnobsPatch {
        down: Some(false),
        ..Default::default()
    });
    let mut status = 0;
    for _ in 0..50 {
        // The twin re-binds its listener when `down` clears.
        status = post().await.unwrap().status().as_u16();
        if status == 200 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(status, 200);
    let pid = v["payment_id"].as_str().unwrap().to_string();
    eventually(20, "the queried state at the sink", || {
        e.sink
            .received()
            .iter()
            .any(|ev| ev["payment_id"] == pid.as_str() && ev["status"] == "succeeded")
    })
    .await;
}
