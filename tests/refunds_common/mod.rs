//! Shared by the refund integration tests: a switchyard server in front of one
//! sandbox twin per dialect, payments made through it and settled as succeeded.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard::connectors::ConnectorKind;
use switchyard::ledger::callbacks::apply;
use switchyard::model::{Incoming, PaymentStatus};
use switchyard::sandbox::{CallbackConfig, SandboxGateway, SandboxHandle};
use time::OffsetDateTime;

use crate::common::TestServer;

pub const KINDS: [ConnectorKind; 9] = [
    ConnectorKind::Generic,
    ConnectorKind::Razorpay,
    ConnectorKind::Cashfree,
    ConnectorKind::Payu,
    ConnectorKind::Phonepe,
    ConnectorKind::Paytm,
    ConnectorKind::Adyen,
    ConnectorKind::JuspayEc,
    ConnectorKind::Ebanx,
];

/// The Adyen HMAC key the twin signs its notifications with (Adyen's published
/// example key, docs.adyen.com verify-hmac-signatures).
pub const ADYEN_HMAC_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

/// Whether `kind` sends a signed refund webhook. PayU's refund callback is unsigned
/// (and only sent to a `var5` URL switchyard never gives): its refunds are settled
/// by the refund pass's status query.
pub fn sends_refund_webhooks(kind: ConnectorKind) -> bool {
    kind != ConnectorKind::Payu
}

/// Whether the refund call's answer carries the refund's outcome. PayU ("Refund
/// Request Queued"), PhonePe (`state: PENDING`) and Paytm (`601`, asynchronous)
/// only register the refund: the outcome comes by webhook or status query.
pub fn answers_final(kind: ConnectorKind) -> bool {
    matches!(
        kind,
        ConnectorKind::Generic | ConnectorKind::Razorpay | ConnectorKind::Cashfree
    )
}

/// Whether the gateway's refund lookup can tell a refund's outcome. Adyen has no
/// refund lookup: the refund pass replays the call on its idempotency key, which
/// makes a lost call and answers `received`, never the outcome (only the `REFUND`
/// webhook, which Adyen redelivers until acknowledged, settles it).
pub fn queries_refund_outcome(kind: ConnectorKind) -> bool {
    kind != ConnectorKind::Adyen
}

/// Our refund id as the gateway holds it: Juspay EC's `unique_request_id` and
/// EBANX's `merchant_refund_code` are at most 20 characters (the tail of ours).
pub fn at_gateway(kind: ConnectorKind, refund_id: &str) -> String {
    match kind {
        ConnectorKind::JuspayEc | ConnectorKind::Ebanx => {
            switchyard::connectors::refund::short_refund_id(refund_id, 20).to_string()
        }
        _ => refund_id.to_string(),
    }
}

/// Whether the gateway reports a settled refund's own bank reference (ARN / refund
/// UTR). Adyen's standard `REFUND` notification and EBANX's refund object carry none.
pub fn gives_refund_arn(kind: ConnectorKind) -> bool {
    !matches!(kind, ConnectorKind::Adyen | ConnectorKind::Ebanx)
}

pub struct Twin {
    pub server: TestServer,
    pub sandbox: SandboxHandle,
    pub name: String,
    pub kind: ConnectorKind,
    /// Secret files for the kinds whose credentials have a shape (Paytm's key,
    /// Adyen's hex HMAC key).
    _dir: tempfile::TempDir,
}

/// A server whose one route goes to the sandbox twin of `kind` (webhooks on,
/// sent back to the server), plus `extra` config.
pub async fn twin(kind: ConnectorKind, extra: &str) -> Twin {
    let name = format!("sbx_{}", kind.as_str());
    let dir = tempfile::tempdir().unwrap();
    // Paytm's merchant key is an AES key (16 characters); the harness's env
    // secret ("test-secret") is not one.
    let creds = if kind == ConnectorKind::Paytm {
        let file = |n: &str, v: &str| {
            let p = dir.path().join(n);
            std::fs::write(&p, v).unwrap();
            format!("{:?}", p.display().to_string())
        };
        let key = file("key", "Kx9mQ2vT7pL4wZ8n");
        format!(
            "key_id_file = {}\nkey_secret_file = {key}\nwebhook_secret_file = {key}\n",
            file("mid", "SANDBX12345678901234")
        )
    } else if kind == ConnectorKind::Adyen {
        // The notification HMAC key is hex.
        let p = dir.path().join("hmac");
        std::fs::write(&p, ADYEN_HMAC_KEY).unwrap();
        format!(
            "key_id_env = \"K\"\nkey_secret_env = \"K\"\nwebhook_secret_file = {:?}\n",
            p.display().to_string()
        )
    } else if kind == ConnectorKind::Ebanx {
        // EBANX's notifications are verified with its certificate (the twin's).
        format!(
            "key_id_env = \"K\"\nkey_secret_env = \"K\"\nwebhook_secret_file = {:?}\n",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/sandbox/keys/ebanx_sandbox_cert.pem"
            )
        )
    } else {
        "key_id_env = \"K\"\nkey_secret_env = \"K\"\nwebhook_secret_env = \"K\"\n".to_string()
    };
    let (addr, sandbox) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), kind, &name)
        .await
        .unwrap();
    let body = format!(
        "[[gateway]]\nname = \"{name}\"\nconnector = \"{}\"\nbase_url = \"http://{addr}\"\n\
         timeout = \"500ms\"\nconnect_timeout = \"500ms\"\n{creds}\n\
         [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"{name}\", weight = 1 }}]\n\n\
         [watchdog]\nenabled = false\n\n{extra}",
        kind.as_str()
    );
    let server = TestServer::start(&body).await;
    let spec = {
        let snap = server.state.config.load();
        snap.gateway(&name).unwrap().1.spec.clone()
    };
    sandbox.send_callbacks(&spec, &CallbackConfig::to(server.url("/v1/callbacks")));
    Twin {
        server,
        sandbox,
        name,
        kind,
        _dir: dir,
    }
}

impl Twin {
    /// The twin's listener closed (`true`: connections refused) or open again.
    pub fn set_down(&self, down: bool) {
        self.sandbox.patch(switchyard::sandbox::KnobsPatch {
            down: Some(down),
            ..Default::default()
        });
    }

    /// A payment of `amount` made through switchyard at the twin, then settled
    /// `succeeded` by a status answer. Returns `(payment_id, gateway_payment_id)`.
    pub async fn paid(&self, order: &str, amount: i64) -> (String, String) {
        let (status, v, _) = self
            .server
            .pay(
                &format!("k-{order}"),
                json!({"order_id": order, "amount": amount, "method": "upi_intent"}),
            )
            .await;
        // Paytm's processTransaction answer names no gateway id (its TXNID comes
        // later), which the initiation classifies as outcome unknown (504); the
        // payment then exists and is settled below like any other.
        let unknown_at_paytm = self.kind == ConnectorKind::Paytm && status == 504;
        assert!(status == 201 || unknown_at_paytm, "{status}: {v}");
        let pid = v["payment_id"].as_str().unwrap().to_string();
        let gpid = match v["gateway_payment_id"].as_str() {
            Some(g) => g.to_string(),
            // Paytm assigns its TXNID later: learnt from the status answer.
            None => {
                let connector = {
                    let cfg = self.server.state.config.load();
                    std::sync::Arc::clone(&cfg.gateway(&self.name).unwrap().1.connector)
                };
                let rep = connector.status(&pid, None).await.unwrap();
                rep.gateway_payment_id
                    .expect("the status answer names the payment")
            }
        };
        self.settle(&pid, &gpid, amount, PaymentStatus::Succeeded)
            .await;
        (pid, gpid)
    }

    /// Applies a status answer for the payment, as the watchdog would.
    pub async fn settle(&self, pid: &str, gpid: &str, amount: i64, status: PaymentStatus) {
        let inc = Incoming {
            event_id: format!("evt_settle_{pid}_{}", status.as_str()),
            gateway: self.name.clone(),
            source: "status_check".into(),
            kind: "payment".into(),
            payment_ref: Some(pid.to_string()),
            merchant_order_id: None,
            gateway_payment_id: Some(gpid.to_string()),
            utr: None,
            rrn: None,
            status: Some(status),
            reason: None,
            raw_status: "captured".into(),
            raw_code: None,
            amount: Some(amount),
            currency: Some("INR".into()),
            occurred_at: None,
            received_at: OffsetDateTime::now_utc(),
            payer_vpa_masked: None,
            tpv_failed: false,
            refund: None,
        };
        self.server
            .state
            .ledger
            .write(move |c| apply(c, &inc, false))
            .await
            .unwrap();
    }

    /// Waits until the refund `rid` of `pid` is final and returns its view: by its
    /// webhook where the gateway sends one, else by the refund pass's status query
    /// (`at` = when the pass runs: past the first-check delay).
    pub async fn settled(&self, pid: &str, rid: &str, at: OffsetDateTime) -> Value {
        if sends_refund_webhooks(self.kind) {
            eventually("the refund webhook settles the refund", || async {
                self.refund_view(pid, rid).await["status"] != "pending"
            })
            .await;
        } else {
            let policy = self.server.state.config.load().refunds.clone();
            switchyard::refunds::watch::scan(&self.server.state.refunds, &policy, at)
                .await
                .unwrap();
        }
        self.refund_view(pid, rid).await
    }

    /// `POST /v1/payments/{pid}/refunds`: (status, body, replayed).
    pub async fn refund(&self, pid: &str, key: &str, body: Value) -> (u16, Value, bool) {
        let r = self
            .server
            .client
            .post(self.server.url(&format!("/v1/payments/{pid}/refunds")))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let replayed = r.headers().get("idempotent-replayed").is_some();
        (status, r.json().await.unwrap_or_default(), replayed)
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.server
            .client
            .get(self.server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn payment_status(&self, pid: &str) -> String {
        self.get_json(&format!("/v1/payments/{pid}")).await["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn refund_view(&self, pid: &str, rid: &str) -> Value {
        self.get_json(&format!("/v1/payments/{pid}/refunds/{rid}"))
            .await
    }

    /// Outbox bodies of refund events for `pid`.
    pub async fn refund_events(&self, pid: &str) -> Vec<Value> {
        let pid = pid.to_string();
        self.server
            .state
            .ledger
            .query(move |c| {
                let mut stmt = c
                    .prepare("SELECT body FROM outbox WHERE payment_id = ?1 ORDER BY seq")
                    .unwrap();
                let rows: Vec<String> = stmt
                    .query_map([&pid], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                Ok(rows)
            })
            .await
            .unwrap()
            .into_iter()
            .map(|b| serde_json::from_str::<Value>(&b).unwrap())
            .filter(|v| v["kind"] == "refund")
            .collect()
    }
}

/// Waits (bounded, 10 s) until `cond` holds: for asynchronous webhooks arriving
/// from the sandbox, whose timing the test does not control.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
