//! Simulated gateways. Each sandbox server listens on a gateway's `base_url` port and
//! speaks that connector's dialect (just the endpoints the connectors call), with
//! knobs for latency, success rate, 5xx rate, timeout rate and "down"
//! (connection refused). It is the upstream in benchmarks, so the request path is
//! lean: atomics for knobs and counters, one random draw, no per-request logging,
//! no stored state (status answers are derived from the id).
//!
//! Control API, on every sandbox server and on the optional control listener:
//! `POST /_sandbox/{gateway}` with any of `{latency_ms, success_rate, error_5xx_rate,
//! error_status, timeout_rate, down}` and the callback knobs `{callbacks,
//! callback_delay_ms, duplicate_rate, drop_rate, out_of_order_rate}` (see
//! [`callbacks`]), and `GET /_sandbox/{gateway}` (knobs, counters, callback stats). `{gateway}` may name any sandbox in the same [`run`] (or [`Controls`]),
//! so a gateway that is down can be brought back through another server.
//!
//! Knobs apply to the payment-creating call (Razorpay `create/upi` and
//! `payment_links`, Cashfree `orders/sessions` and `links`, generic `POST
//! /v1/payments`); the preceding order call always answers at once. `down` applies to
//! the whole listener: it is closed (connect → refused) and open connections are
//! dropped, and it is re-bound on the same address when `down` is cleared.

pub mod callbacks;
mod control;
pub(crate) mod dialects;
pub mod refunds;
mod state;
pub mod truth;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::connectors::{ConnectorKind, GatewaySpec};

use callbacks::Callbacks;
pub use callbacks::{
    CallbackConfig, CallbackKnobs, CallbackKnobsPatch, CallbackStats, RetryPolicy,
};
pub use control::Controls;
use state::Shared;

/// The behaviour of one sandbox gateway.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    pub latency_ms: u64,
    /// Share of answered initiations that are created (the rest: a 4xx decline).
    pub success_rate: f64,
    /// Share of initiations answered with `error_status`.
    pub error_5xx_rate: f64,
    /// The status for `error_5xx_rate` (500 by default; 503 means "not processed").
    pub error_status: u16,
    /// Share of initiations read and never answered.
    pub timeout_rate: f64,
    /// Listener closed: connections are refused.
    pub down: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            latency_ms: 0,
            success_rate: 1.0,
            error_5xx_rate: 0.0,
            error_status: 500,
            timeout_rate: 0.0,
            down: false,
        }
    }
}

/// A partial update of [`Knobs`] (the control API body).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobsPatch {
    pub latency_ms: Option<u64>,
    pub success_rate: Option<f64>,
    pub error_5xx_rate: Option<f64>,
    pub error_status: Option<u16>,
    pub timeout_rate: Option<f64>,
    pub down: Option<bool>,
    pub callbacks: Option<bool>,
    pub callback_delay_ms: Option<u64>,
    pub duplicate_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    pub out_of_order_rate: Option<f64>,
}

impl KnobsPatch {
    /// The callback knobs of this patch.
    pub fn callbacks(&self) -> CallbackKnobsPatch {
        CallbackKnobsPatch {
            callbacks: self.callbacks,
            callback_delay_ms: self.callback_delay_ms,
            duplicate_rate: self.duplicate_rate,
            drop_rate: self.drop_rate,
            out_of_order_rate: self.out_of_order_rate,
        }
    }
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Payment-creating requests received.
    pub initiations: u64,
    pub created: u64,
    pub declined: u64,
    pub errors_5xx: u64,
    pub timeouts: u64,
    /// Status queries answered.
    pub status_queries: u64,
}

/// A running sandbox gateway. Dropping the handle leaves the server running; call
/// [`SandboxHandle::stop`] to end it.
#[derive(Clone)]
pub struct SandboxHandle {
    shared: Arc<Shared>,
}

impl SandboxHandle {
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }
    pub fn name(&self) -> &str {
        &self.shared.name
    }
    pub fn knobs(&self) -> Knobs {
        self.shared.knobs()
    }
    /// Replaces every knob.
    pub fn set(&self, k: Knobs) {
        self.shared.apply(KnobsPatch {
            latency_ms: Some(k.latency_ms),
            success_rate: Some(k.success_rate),
            error_5xx_rate: Some(k.error_5xx_rate),
            error_status: Some(k.error_status),
            timeout_rate: Some(k.timeout_rate),
            down: Some(k.down),
            ..Default::default()
        });
    }
    /// Changes only the given knobs.
    pub fn patch(&self, p: KnobsPatch) {
        self.shared.apply(p);
    }
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
    pub fn callback_knobs(&self) -> CallbackKnobs {
        self.shared.callbacks.state.knobs()
    }
    /// Changes only the given callback knobs.
    pub fn patch_callbacks(&self, p: CallbackKnobsPatch) {
        self.shared.callbacks.state.apply(p);
    }
    /// Callback counters (sent, acked, failed, ...).
    pub fn callback_stats(&self) -> CallbackStats {
        self.shared.callbacks.state.stats()
    }
    /// Where this gateway's callbacks go (`None`: callbacks are not configured).
    pub fn callback_url(&self) -> Option<String> {
        self.shared.callbacks.url()
    }
    /// (Re)configures this gateway's callbacks: to `<cfg.base_url>/<spec.name>`,
    /// signed with `spec`'s webhook secret, with `cfg`'s knobs and seed.
    pub fn send_callbacks(&self, spec: &GatewaySpec, cfg: &CallbackConfig) {
        self.set_credentials(&spec.credentials);
        self.shared.callbacks.configure(spec, cfg);
    }
    /// The credentials switchyard holds for this gateway, so dialects that sign
    /// requests (PayU's hash, PhonePe's token, Paytm's checksum) check them as the
    /// real gateway would. Without them those checks are skipped.
    pub fn set_credentials(&self, c: &crate::connectors::Credentials) {
        self.shared
            .credentials
            .store(std::sync::Arc::new(c.clone()));
    }
    /// Turns ground-truth recording on or off, with its fault rates (see [`truth`]).
    pub fn record_truth(&self, k: truth::TruthKnobs, seed: Option<u64>) {
        self.shared.truth.set(k, seed);
    }
    /// Every payment this gateway handled and what really happened to it.
    pub fn truth(&self) -> Vec<truth::TruthRecord> {
        self.shared.truth.all()
    }
    /// Sends a paid callback for a payment nobody initiated through switchyard (an
    /// orphan: paid outside, a lost intent), recorded in the truth.
    pub fn send_orphan(&self, reference: &str, amount: i64) {
        let gpid = format!("gen_orph{}a{amount}", self.shared.next_seq());
        self.shared
            .truth
            .record_orphan(&self.shared.name, reference, &gpid, amount);
        self.shared.callbacks.always(callbacks::Accepted::new(
            reference, &gpid, None, amount, true,
        ));
    }
    /// Every refund this gateway took, in order (ground truth).
    pub fn refunds(&self) -> Vec<refunds::SbxRefund> {
        self.shared.refunds.all()
    }
    pub fn refund_knobs(&self) -> refunds::RefundKnobs {
        self.shared.refunds.knobs()
    }
    /// Replaces the refund knobs.
    pub fn set_refund_knobs(&self, k: refunds::RefundKnobs) {
        self.shared.refunds.set_knobs(k);
    }
    /// Stops accepting and drops open connections.
    pub fn stop(&self) {
        self.shared.stop.send_replace(true);
    }
}

/// Builds sandbox gateways.
pub struct SandboxGateway;

impl SandboxGateway {
    /// Binds `addr` (port 0 for any) and serves `kind`'s dialect plus the control API
    /// for itself.
    pub async fn bind(
        addr: SocketAddr,
        kind: ConnectorKind,
        name: &str,
    ) -> io::Result<(SocketAddr, SandboxHandle)> {
        Self::bind_with(addr, kind, name, &Controls::new()).await
    }

    /// Like [`SandboxGateway::bind`], registering the gateway in `controls` so any
    /// server sharing them can control it.
    pub async fn bind_with(
        addr: SocketAddr,
        kind: ConnectorKind,
        name: &str,
        controls: &Controls,
    ) -> io::Result<(SocketAddr, SandboxHandle)> {
        Self::start(addr, kind, name, controls, Callbacks::disabled()).await
    }

    /// Like [`SandboxGateway::bind_with`] for a configured gateway, sending signed
    /// callbacks for the payments it accepts as `callbacks` says (to
    /// `<base_url>/<spec.name>`, signed with the gateway's webhook secret).
    pub async fn bind_sending(
        addr: SocketAddr,
        spec: &GatewaySpec,
        controls: &Controls,
        callbacks: &CallbackConfig,
    ) -> io::Result<(SocketAddr, SandboxHandle)> {
        let (local, h) =
            Self::start(addr, spec.kind, &spec.name, controls, Callbacks::disabled()).await?;
        h.send_callbacks(spec, callbacks);
        Ok((local, h))
    }

    async fn start(
        addr: SocketAddr,
        kind: ConnectorKind,
        name: &str,
        controls: &Controls,
        callbacks: Callbacks,
    ) -> io::Result<(SocketAddr, SandboxHandle)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared::new(name, kind, local, callbacks));
        controls.insert(shared.clone());
        let router = dialects::router(shared.clone()).merge(controls.router());
        tokio::spawn(serve(shared.clone(), router, listener));
        Ok((local, SandboxHandle { shared }))
    }
}

async fn wait_true(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: treat it as "never".
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The accept loop: closes the listener while `down`, re-binds when it clears.
async fn serve(shared: Arc<Shared>, router: Router, listener: TcpListener) {
    let mut down = shared.down.subscribe();
    let mut stop = shared.stop.subscribe();
    let mut listener = Some(listener);
    loop {
        if *stop.borrow() {
            return;
        }
        let Some(l) = listener.as_ref() else {
            // Down: wait until it clears (or stop), then re-bind the same address.
            tokio::select! {
                r = down.wait_for(|v| !*v) => if r.is_err() { return },
                _ = wait_true(&mut stop) => return,
            }
            for _ in 0..50 {
                if let Ok(l) = TcpListener::bind(shared.addr).await {
                    listener = Some(l);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if listener.is_none() {
                return;
            }
            continue;
        };
        tokio::select! {
            acc = l.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(router.clone());
                let mut conn_down = down.clone();
                let mut conn_stop = stop.clone();
                tokio::spawn(async move {
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = wait_true(&mut conn_down) => {}
                        _ = wait_true(&mut conn_stop) => {}
                    }
                });
            }
            _ = wait_true(&mut down) => { listener = None; }
            _ = wait_true(&mut stop) => return,
        }
    }
}

/// Where a gateway's `base_url` listens.
pub async fn listen_addr(base_url: &str) -> io::Result<SocketAddr> {
    let url = reqwest::Url::parse(base_url)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{base_url}: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "base_url has no host"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "base_url has no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve")))
}

/// Runs a sandbox for every gateway on its `base_url` port (plus, when given, a control
/// listener that never goes down) until `shutdown` completes. Accepted payments get
/// signed callbacks as `callbacks` says (to `<base_url>/<gateway name>`).
pub async fn run(
    gateways: &[GatewaySpec],
    control: Option<SocketAddr>,
    callbacks: &CallbackConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<Vec<SandboxHandle>> {
    let controls = Controls::new();
    let mut handles = Vec::with_capacity(gateways.len());
    for g in gateways {
        let addr = listen_addr(&g.base_url).await?;
        let (local, h) = SandboxGateway::bind_sending(addr, g, &controls, callbacks).await?;
        tracing::info!(gateway = %g.name, dialect = g.kind.as_str(), addr = %local,
            callbacks = h.callback_url().as_deref().unwrap_or("off"), "sandbox gateway listening");
        handles.push(h);
    }
    let (stop_tx, mut stop_rx) = watch::channel(false);
    if let Some(addr) = control {
        let l = TcpListener::bind(addr).await?;
        tracing::info!(addr = %l.local_addr()?, "sandbox control API listening");
        let app = controls.router();
        tokio::spawn(async move {
            let _ = axum::serve(l, app)
                .with_graceful_shutdown(async move { wait_true(&mut stop_rx).await })
                .await;
        });
    }
    shutdown.await;
    stop_tx.send_replace(true);
    for h in &handles {
        h.stop();
    }
    Ok(handles)
}
