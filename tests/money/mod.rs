//! Money-test harness: the real initiation and callback flows over a real ledger,
//! with two scripted gateways (`a` idempotent, `b` not) whose answers the test
//! chooses call by call, and a restart that reopens the ledger file.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};
use switchyard::callbacks::{Ack, CallbackError, normalize};
use switchyard::config::{self, Snapshot};
use switchyard::connectors::upstream::UpstreamError;
use switchyard::connectors::{
    CallbackData, Connector, ConnectorKind, Created, InitiateRequest, Outcome, ParseError,
    SignatureError, StatusReport, VerifyOptions,
};
use switchyard::ledger::callbacks::{ApplyResult, apply};
use switchyard::ledger::{Ledger, LedgerOptions, StoredResponse};
use switchyard::metrics::Metrics;
use switchyard::model::{
    Currency, Customer, Incoming, Method, NextAction, Paise, PaymentRequest, PaymentStatus, Reason,
    RefundInfo,
};
use switchyard::payments::{Attempted, PaymentError, Payments, Render, RetryBudget};
use switchyard::state::AppState;

/// What a scripted gateway answers to one initiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 2xx with a gateway payment id `{gateway}-{n}` and this status.
    Created(PaymentStatus),
    Declined,
    NotSent,
    /// 503: documented not processed.
    Busy,
    /// 500 after the gateway read the request.
    Broken,
    SentUnknown,
    /// Waits for [`Script::open_gate`], then answers `Created` with this status.
    Gated(PaymentStatus),
    /// Never answers (the request deadline or a dropped future ends it).
    Hang,
}

/// The answers to come (shared by both gateways, in call order) and the calls made.
pub struct Script {
    steps: Mutex<VecDeque<Step>>,
    /// Gateway name of every initiation call, in order.
    pub calls: Mutex<Vec<String>>,
    next_gpid: AtomicU64,
    /// One permit per call received.
    arrived: tokio::sync::Semaphore,
    gate: tokio::sync::Semaphore,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            steps: Mutex::default(),
            calls: Mutex::default(),
            next_gpid: AtomicU64::new(0),
            arrived: tokio::sync::Semaphore::new(0),
            gate: tokio::sync::Semaphore::new(0),
        }
    }
}

impl Script {
    pub fn set(&self, steps: &[Step]) {
        *self.steps.lock().unwrap() = steps.iter().copied().collect();
        self.calls.lock().unwrap().clear();
        self.arrived.forget_permits(usize::MAX);
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    /// Waits until one more initiation call has reached a gateway.
    pub async fn wait_for_call(&self) {
        self.arrived.acquire().await.unwrap().forget();
    }
    /// Lets one `Step::Gated` answer.
    pub fn open_gate(&self) {
        self.gate.add_permits(1);
    }
    /// The counter the next `Created` uses in its gateway payment id.
    pub fn next_gpid(&self) -> u64 {
        self.next_gpid.load(Ordering::SeqCst)
    }
}

struct Scripted {
    name: String,
    script: Arc<Script>,
}

#[async_trait]
impl Connector for Scripted {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Generic
    }

    async fn initiate(&self, _req: InitiateRequest<'_>) -> Outcome {
        self.script.calls.lock().unwrap().push(self.name.clone());
        let step = self
            .script
            .steps
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Step::NotSent);
        self.script.arrived.add_permits(1);
        let step = match step {
            Step::Gated(status) => {
                self.script.gate.acquire().await.unwrap().forget();
                Step::Created(status)
            }
            Step::Hang => std::future::pending().await,
            other => other,
        };
        match step {
            Step::Created(status) => {
                let n = self.script.next_gpid.fetch_add(1, Ordering::SeqCst);
                Outcome::Created(Created {
                    gateway_payment_id: Some(format!("{}-{n}", self.name)),
                    status,
                    next_action: NextAction::AwaitCustomer,
                    raw_status: status.as_str().into(),
                })
            }
            Step::Declined => Outcome::Declined {
                code: "insufficient_funds".into(),
                reason: Reason::InsufficientFunds,
                message: "declined".into(),
            },
            Step::NotSent => Outcome::NotSent {
                detail: "refused".into(),
            },
            Step::Busy => Outcome::Error5xx {
                http_status: 503,
                not_processed: true,
                detail: "busy".into(),
            },
            Step::Broken => Outcome::Error5xx {
                http_status: 500,
                not_processed: false,
                detail: "broken".into(),
            },
            Step::SentUnknown | Step::Gated(_) | Step::Hang => Outcome::SentUnknown {
                detail: "timeout".into(),
            },
        }
    }

    async fn status(&self, _: &str, _: Option<&str>) -> Result<StatusReport, UpstreamError> {
        Err(UpstreamError::NotSupported("scripted".into()))
    }

    /// The test's own format: every callback posted to this gateway's path counts as
    /// verified with this gateway's secret.
    fn verify_callback(
        &self,
        _: &HeaderMap,
        _: &[u8],
        _: VerifyOptions,
    ) -> Result<(), SignatureError> {
        Ok(())
    }

    fn parse_callback(&self, _: &HeaderMap, body: &[u8]) -> Result<CallbackData, ParseError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let status = s("status").and_then(|t| PaymentStatus::parse(&t));
        Ok(CallbackData {
            gateway_event_id: s("id").unwrap_or_default(),
            kind: Some("payment"),
            payment_id: s("payment_ref"),
            gateway_payment_id: s("gpid"),
            status,
            raw_status: s("status").unwrap_or_default(),
            amount: v.get("amount").and_then(Value::as_i64).map(Paise),
            currency: s("currency"),
            tpv_failed: v
                .get("tpv_failed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..CallbackData::default()
        })
    }
}

/// The stored response: 201 for a created payment, else 402, with the ids.
struct JsonRender;

impl Render for JsonRender {
    fn render(&self, a: &Attempted) -> StoredResponse {
        let body = json!({
            "payment_id": a.payment_id,
            "status": a.status,
            "gateway": a.gateway,
            "gateway_payment_id": a.gateway_payment_id,
        });
        StoredResponse {
            http_status: if a.error.is_none() { 201 } else { 402 },
            body: body.to_string().into_bytes(),
        }
    }
}

pub struct World {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    extra: String,
    pub state: AppState,
    pub payments: Payments,
    pub script: Arc<Script>,
}

fn snapshot(path: &std::path::Path, extra: &str, script: &Arc<Script>) -> Snapshot {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_attempts = 3\n{extra}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n\n[ledger]\npath = {:?}\n\n\
         [[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:9\"\nidempotent = true\n\n\
         [[gateway]]\nname = \"b\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:9\"\n\n\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 100 }}]\nfallback = [\"b\"]\n",
        path.display().to_string()
    );
    let mut snap = match config::load_str(&text, "money.toml", &|_| Some("s".into()), 1) {
        Ok(s) => s,
        Err(e) => panic!("money test config invalid:\n{e}"),
    };
    for g in &mut snap.gateways {
        g.connector = Arc::new(Scripted {
            name: g.spec.name.clone(),
            script: Arc::clone(script),
        });
    }
    snap
}

fn build(path: &std::path::Path, extra: &str, script: &Arc<Script>) -> (AppState, Payments) {
    let ledger = Ledger::open(
        path,
        LedgerOptions {
            group_commit_max: 64,
            synchronous_full: false,
            // The restart opens the file again while the old handles drop.
            exclusive: false,
            ..LedgerOptions::default()
        },
    )
    .unwrap();
    let (state, _receivers) = AppState::new(
        snapshot(path, extra, script),
        ledger,
        Metrics::new(prometheus::Registry::new()),
    );
    // A budget that never runs out: the failover rules, not the budget, are on test.
    let payments = Payments {
        budget: Arc::new(RetryBudget::new(1000)),
        ..state.payments.clone()
    };
    (state, payments)
}

pub fn request(order: &str, amount: i64) -> PaymentRequest {
    PaymentRequest {
        order_id: order.to_string(),
        amount: Paise(amount),
        currency: Currency::Inr,
        method: Method::UpiIntent,
        vpa: None,
        customer: Customer::default(),
        description: None,
        tags: Default::default(),
        metadata: None,
    }
}

impl World {
    /// `server_extra`: more `[server]` keys.
    pub async fn new(server_extra: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let script = Arc::new(Script::default());
        let (state, payments) = build(&path, server_extra, &script);
        World {
            _dir: dir,
            path,
            extra: server_extra.to_string(),
            state,
            payments,
            script,
        }
    }

    /// Stops the ledger (everything acknowledged is committed) and opens it again.
    pub async fn restart(&mut self) {
        self.state.ledger.shutdown().await.unwrap();
        let (state, payments) = build(&self.path, &self.extra, &self.script);
        self.state = state;
        self.payments = payments;
    }

    /// One `POST /v1/payments` with these gateway answers: the stored response
    /// (status, body, replayed) or the refusal.
    pub async fn pay(
        &self,
        key: &str,
        order: &str,
        amount: i64,
        steps: &[Step],
    ) -> Result<(u16, Value, bool), PaymentError> {
        self.script.set(steps);
        let body = json!({"order_id": order, "amount": amount, "method": "upi_intent"});
        let a = self
            .payments
            .initiate(key, &body, request(order, amount), &JsonRender)
            .await?;
        let v: Value = serde_json::from_slice(&a.response.body).unwrap();
        Ok((a.response.http_status, v, a.replayed))
    }

    /// [`pay`](Self::pay) on its own task (for answers the test holds).
    pub fn pay_spawned(
        &self,
        key: &str,
        order: &str,
        amount: i64,
        steps: &[Step],
    ) -> tokio::task::JoinHandle<Result<(u16, Value, bool), PaymentError>> {
        self.script.set(steps);
        let payments = self.payments.clone();
        let (key, order) = (key.to_string(), order.to_string());
        tokio::spawn(async move {
            let body = json!({"order_id": order, "amount": amount, "method": "upi_intent"});
            let a = payments
                .initiate(&key, &body, request(&order, amount), &JsonRender)
                .await?;
            let v: Value = serde_json::from_slice(&a.response.body).unwrap();
            Ok((a.response.http_status, v, a.replayed))
        })
    }

    /// The newest payment id of an order.
    pub async fn payment_of(&self, order: &str) -> String {
        self.state.ledger.payments_by_order(order).await.unwrap()[0]
            .payment_id
            .clone()
    }

    /// A callback posted to `/v1/callbacks/{gateway}` (verified with its secret).
    pub async fn callback(&self, gateway: &str, body: Value) -> Result<Ack, CallbackError> {
        self.state
            .callbacks
            .ingest(gateway, &HeaderMap::new(), body.to_string().as_bytes())
            .await
    }

    /// A status check's answer for `payment_id` at `gateway`, applied as the
    /// watchdog applies it.
    pub async fn status_check(
        &self,
        gateway: &str,
        payment_id: &str,
        status: PaymentStatus,
        gateway_payment_id: Option<&str>,
    ) -> ApplyResult {
        let report = StatusReport {
            tpv_failed: false,
            status,
            reason: None,
            gateway_payment_id: gateway_payment_id.map(str::to_string),
            utr: None,
            rrn: None,
            raw_status: status.as_str().to_string(),
            raw_code: None,
            amount: None,
        };
        self.status_report(gateway, payment_id, report).await
    }

    /// A status check's whole answer for `payment_id` at `gateway`, applied as the
    /// watchdog applies it.
    pub async fn status_report(
        &self,
        gateway: &str,
        payment_id: &str,
        report: StatusReport,
    ) -> ApplyResult {
        let inc = normalize::from_status(
            gateway,
            payment_id,
            &report,
            time::OffsetDateTime::now_utc(),
        );
        self.state
            .ledger
            .write(move |c| apply(c, &inc, false))
            .await
            .unwrap()
            .result
    }

    /// A refund the gateway processed (a dashboard refund learned from its
    /// webhook), applied as the callback path applies it.
    pub async fn refund_webhook(
        &self,
        gateway: &str,
        payment_id: &str,
        gateway_payment_id: &str,
        refund_id: &str,
        amount: i64,
    ) -> ApplyResult {
        let inc = Incoming {
            event_id: switchyard::model::event_id(gateway, &format!("refund:{refund_id}")),
            gateway: gateway.to_string(),
            source: "callback".into(),
            kind: "refund".into(),
            payment_ref: Some(payment_id.to_string()),
            merchant_order_id: None,
            gateway_payment_id: Some(gateway_payment_id.to_string()),
            utr: None,
            rrn: None,
            status: Some(PaymentStatus::Refunded),
            reason: None,
            raw_status: "processed".into(),
            raw_code: None,
            amount: Some(amount),
            currency: Some("INR".into()),
            occurred_at: None,
            received_at: time::OffsetDateTime::now_utc(),
            payer_vpa_masked: None,
            tpv_failed: false,
            refund: Some(RefundInfo {
                refund_id: Some(refund_id.to_string()),
                refund_status: "succeeded".into(),
                amount: Some(amount),
                reference: None,
                gateway_refund_id: Some(refund_id.to_string()),
                merchant_refund_id: None,
            }),
        };
        self.state
            .ledger
            .write(move |c| apply(c, &inc, false))
            .await
            .unwrap()
            .result
    }

    /// The outbox bodies of a payment, in order.
    pub async fn outbox(&self, payment_id: &str) -> Vec<Value> {
        let id = payment_id.to_string();
        self.state
            .ledger
            .query(move |c| {
                let mut s =
                    c.prepare("SELECT body FROM outbox WHERE payment_id = ?1 ORDER BY seq")?;
                let rows = s
                    .query_map([&id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .map(|b| serde_json::from_str(&b).unwrap())
                    .collect())
            })
            .await
            .unwrap()
    }

    pub async fn status(&self, payment_id: &str) -> PaymentStatus {
        self.state
            .ledger
            .payment(payment_id)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    /// Rows of one SQL query with one text parameter, each column as text.
    pub async fn rows(&self, sql: &'static str, arg: &str) -> Vec<Vec<Option<String>>> {
        let a = arg.to_string();
        self.state
            .ledger
            .query(move |c| {
                let mut s = c.prepare(sql)?;
                let n = s.column_count();
                let rows = s
                    .query_map([&a], |r| {
                        (0..n)
                            .map(|i| {
                                r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                                    rusqlite::types::Value::Null => None,
                                    rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                                    rusqlite::types::Value::Text(t) => Some(t),
                                    other => Some(format!("{other:?}")),
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap()
    }
}

/// A callback body in the scripted gateways' format.
pub fn cb(
    id: &str,
    payment_ref: Option<&str>,
    gpid: Option<&str>,
    status: PaymentStatus,
    amount: i64,
    tpv_failed: bool,
) -> Value {
    json!({"id": id, "payment_ref": payment_ref, "gpid": gpid, "status": status.as_str(),
        "amount": amount, "currency": "INR", "tpv_failed": tpv_failed})
}
