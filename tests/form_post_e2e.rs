//! Cards and netbanking through PayU's and Paytm's hosted pages, end to end: the
//! service answers `next_action: form_post` (PayU: the signed `_payment` form;
//! Paytm: initiateTransaction with `enablePaymentMode`, then the `showPaymentPage`
//! form with the `txnToken`), the test posts the form to the twin as the
//! customer's browser would, the twin completes the payment and sends its signed
//! callback, the event reaches the sink. Forged and incomplete forms are refused
//! with 400 as the gateways refuse them; with the callback dropped, the watchdog's
//! status query resolves the payment.

mod common;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard::callbacks::watchdog::{self, StatusSource};
use switchyard::connectors::upstream::UpstreamError;
use switchyard::connectors::{ConnectorKind, StatusReport};
use switchyard::sandbox::{CallbackConfig, CallbackKnobsPatch, SandboxGateway, SandboxHandle};

use common::TestServer;

/// `(kind, key_id, key_secret)`: PayU merchant key and salt, Paytm MID and a 16-byte
/// merchant key (both also sign the callbacks).
const TWINS: [(ConnectorKind, &str, &str); 2] = [
    (
        ConnectorKind::Payu,
        "gtKFFx",
        "4R38IvwiV57FwVpsgOvTXBdLE4tHUXFW",
    ),
    (
        ConnectorKind::Paytm,
        "SANDBX12345678901234",
        "Kx9mQ2vT7pL4wZ8n",
    ),
];

struct Env {
    srv: TestServer,
    twin: SandboxHandle,
    dir: tempfile::TempDir,
}

async fn env(kind: ConnectorKind, id: &str, key: &str) -> Env {
    let name = kind.as_str();
    let dir = tempfile::tempdir().unwrap();
    let file = |n: &str, v: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, v).unwrap();
        p.display().to_string()
    };
    let (addr, twin) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), kind, name)
        .await
        .unwrap();
    let body = format!(
        "[[gateway]]\nname = \"{name}\"\nconnector = \"{name}\"\nbase_url = \"http://{addr}\"\n\
         key_id_file = {:?}\nkey_secret_file = {:?}\ntimeout = \"3s\"\n\n\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"{name}\", weight = 1 }}]\n\n\
         [[sink]]\nname = \"file\"\nkind = \"file\"\npath = {:?}\n",
        file("key_id", id),
        file("key_secret", key),
        dir.path().join("events.jsonl").display().to_string(),
    );
    let srv = TestServer::start_public(&body, "https://shop.example").await;
    let spec = {
        let snap = srv.state.config.load();
        snap.gateway(name).unwrap().1.spec.clone()
    };
    twin.send_callbacks(&spec, &CallbackConfig::to(srv.url("/v1/callbacks")));
    Env { srv, twin, dir }
}

/// Polls (bounded) until the file sink holds a final event for `pid`.
async fn sink_event(dir: &Path, pid: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
        if let Some(e) = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| {
                e["payment_id"] == pid
                    && matches!(e["status"].as_str(), Some("succeeded" | "failed"))
            })
        {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sink event for {pid}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn payment(srv: &TestServer, pid: &str) -> Value {
    let r = srv.client.get(srv.url(&format!("/v1/payments/{pid}")));
    r.send().await.unwrap().json().await.unwrap()
}

/// Initiates a `method` payment: 201 with a `form_post` next action.
async fn initiate(e: &Env, key: &str, method: &str) -> (String, Value) {
    let body = json!({"order_id": format!("ord_{key}"), "amount": 74_900, "method": method,
        "customer": {"id": "Asha", "email": "asha@example.com", "phone": "9876543210"}});
    let (st, v, _) = e.srv.pay(key, body).await;
    assert_eq!(st, 201, "{method}: {v}");
    assert_eq!(v["attempts"].as_array().map(Vec::len), Some(1), "{v}");
    let na = &v["next_action"];
    assert_eq!(na["type"], "form_post", "{v}");
    assert_eq!(na["method"], "POST", "{v}");
    assert!(
        na["url"].as_str().unwrap().starts_with("http://127.0.0.1:"),
        "{v}"
    );
    (v["payment_id"].as_str().unwrap().to_string(), na.clone())
}

/// Posts the form as a browser does (form-urlencoded), `edit` applied to the fields.
async fn post_form(na: &Value, edit: impl FnOnce(&mut Vec<(String, String)>)) -> (u16, String) {
    let mut fields: Vec<(String, String)> = na["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    edit(&mut fields);
    let r = reqwest::Client::new()
        .post(na["url"].as_str().unwrap())
        .form(&fields)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    for (k, v) in fields.iter_mut() {
        if k == name {
            *v = value.to_string();
        }
    }
}

#[tokio::test]
async fn cards_and_netbanking_through_the_hosted_form_post() {
    for (kind, id, key) in TWINS {
        let e = env(kind, id, key).await;
        for (i, method) in ["card", "netbanking"].into_iter().enumerate() {
            let (pid, na) = initiate(&e, &format!("{}{i}", kind.as_str()), method).await;
            let fields = &na["fields"];
            match kind {
                ConnectorKind::Payu => {
                    assert_eq!(fields["txnid"], pid.as_str());
                    assert_eq!(fields["amount"], "749.00");
                    let want = if method == "card" {
                        "creditcard|debitcard"
                    } else {
                        "netbanking"
                    };
                    assert_eq!(fields["enforce_paymethod"], want);
                    assert_eq!(fields["surl"], "https://shop.example/v1/callbacks/payu");
                    assert_eq!(fields["hash"].as_str().map(str::len), Some(128));
                }
                _ => {
                    assert_eq!(fields["orderId"], pid.as_str());
                    assert_eq!(fields["mid"], id);
                    assert!(fields["txnToken"].is_string());
                    assert!(
                        na["url"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("orderId={pid}"))
                    );
                }
            }
            // Before the browser posts, nothing is paid: no callback, the payment
            // is still initiated.
            assert_eq!(payment(&e.srv, &pid).await["status"], "initiated");

            // Forged and incomplete forms are refused as the gateway refuses them.
            let forged = match kind {
                ConnectorKind::Payu => "amount",
                _ => "txnToken",
            };
            let (st, page) = post_form(&na, |f| set(f, forged, "1.00")).await;
            assert_eq!(st, 400, "{kind:?} forged {forged}: {page}");
            let missing = match kind {
                ConnectorKind::Payu => "hash",
                _ => "mid",
            };
            let (st, page) = post_form(&na, |f| f.retain(|(k, _)| k != missing)).await;
            assert_eq!(st, 400, "{kind:?} without {missing}: {page}");

            // The customer's browser posts the form: paid, called back, at the sink.
            let (st, page) = post_form(&na, |_| {}).await;
            assert_eq!(st, 200, "{kind:?}: {page}");
            assert!(page.contains("<form"), "{page}");
            let ev = sink_event(e.dir.path(), &pid).await;
            assert_eq!(ev["amount"], 74_900, "{ev}");
            assert_eq!(ev["gateway"], kind.as_str());
            let p = payment(&e.srv, &pid).await;
            assert_eq!(p["status"], ev["status"], "{p}");
            assert!(
                p["gateway_payment_id"].is_string(),
                "the gateway's id arrived with the callback: {p}"
            );
            // The same form again pays nothing twice.
            let (st, page) = post_form(&na, |_| {}).await;
            assert_eq!(st, 400, "{kind:?} reposted: {page}");
        }
        assert_eq!(e.twin.callback_stats().failed, 0, "{kind:?}");
    }
}

/// The watchdog's status source, through the configured connectors.
struct Live(switchyard::state::AppState);

#[async_trait]
impl StatusSource for Live {
    async fn status(
        &self,
        gateway: &str,
        payment_id: &str,
        gateway_payment_id: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        let cfg = self.0.config.load();
        let (_, g) = cfg.gateway(gateway).expect("configured gateway");
        g.connector.status(payment_id, gateway_payment_id).await
    }
}

#[tokio::test]
async fn status_query_after_a_dropped_form_post_callback() {
    for (kind, id, key) in TWINS {
        let e = env(kind, id, key).await;
        e.twin.patch_callbacks(CallbackKnobsPatch {
            drop_rate: Some(1.0),
            ..Default::default()
        });
        let (pid, na) = initiate(&e, &format!("drop{}", kind.as_str()), "card").await;
        // Asked before the browser posted: PayU does not know the txnid yet, Paytm
        // has the order pending.
        let cfg = e.srv.state.config.load();
        let (_, g) = cfg.gateway(kind.as_str()).unwrap();
        match g.connector.status(&pid, None).await {
            Err(err) => assert!(err.is_not_found(), "{kind:?}: {err}"),
            Ok(rep) => assert_eq!(
                rep.status,
                switchyard::model::PaymentStatus::Pending,
                "{kind:?}"
            ),
        }
        let (st, page) = post_form(&na, |_| {}).await;
        assert_eq!(st, 200, "{kind:?}: {page}");
        assert_eq!(payment(&e.srv, &pid).await["status"], "initiated");

        let policy = e.srv.state.config.load().watchdog.clone();
        let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        let checked = watchdog::scan(
            &e.srv.state.callbacks,
            &Live(e.srv.state.clone()),
            &policy,
            later,
        )
        .await
        .unwrap();
        assert!(checked >= 1, "{kind:?}: the watchdog checked it");
        let p = payment(&e.srv, &pid).await;
        let status = p["status"].as_str().unwrap_or_default().to_string();
        assert!(
            matches!(status.as_str(), "succeeded" | "failed"),
            "{kind:?}: {p}"
        );
        assert!(p["gateway_payment_id"].is_string(), "{kind:?}: {p}");
        let ev = sink_event(e.dir.path(), &pid).await;
        assert_eq!(ev["status"], status.as_str());
    }
}
