//! Sandbox callbacks: for every payment a sandbox gateway accepts, a signed callback
//! in that dialect's real format (generic `X-Switchyard-Signature`, Razorpay
//! `X-Razorpay-Signature`, Cashfree's timestamped `x-webhook-signature`), signed with
//! the connectors' own signing functions so switchyard's verifiers accept it, POSTed
//! to `<callback base URL>/<gateway name>`.
//!
//! The outcome agrees with the sandbox's status answers (the same deterministic draw
//! from the success rate). Knobs ([`CallbackKnobs`], live through the control API):
//! on/off, delay, duplicate rate, drop rate, out-of-order rate; the rates use a
//! seedable RNG. Non-2xx answers and connection errors are retried with backoff;
//! counters ([`CallbackStats`]: sent, acked, failed, ...) are in the control API.

pub(crate) mod format;
mod knobs;
mod refunds;
mod send;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::connectors::GatewaySpec;
use knobs::KnobState;
pub use knobs::{CallbackKnobs, CallbackKnobsPatch, CallbackStats};
pub use send::RetryPolicy;
use send::Target;

/// How the sandboxes of one [`crate::sandbox::run`] send callbacks.
#[derive(Debug, Clone, Default)]
pub struct CallbackConfig {
    /// `http://host:port/v1/callbacks`: each gateway posts to `<base_url>/<name>`.
    /// `None`: no callbacks.
    pub base_url: Option<String>,
    /// The starting knobs.
    pub knobs: CallbackKnobs,
    /// Seed for the rate knobs (repeatable runs); `None` draws one.
    pub seed: Option<u64>,
    pub retry: RetryPolicy,
    /// Per-attempt timeout; `None` for none.
    pub timeout: Option<Duration>,
}

impl CallbackConfig {
    /// Callbacks to `base_url` with default knobs.
    pub fn to(base_url: impl Into<String>) -> Self {
        CallbackConfig {
            base_url: Some(base_url.into()),
            timeout: Some(Duration::from_secs(10)),
            ..Default::default()
        }
    }
}

/// What the sandbox accepted: enough to write the callback.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// switchyard's payment id (generic `merchant_txn_id`, Razorpay note, Cashfree `order_id`).
    pub payment_id: String,
    /// The sandbox's own id for the payment.
    pub gateway_payment_id: String,
    /// Razorpay's `order_...` or the merchant's order id (generic).
    pub order_id: Option<String>,
    /// Paise.
    pub amount: i64,
    /// The final outcome (as the status endpoint answers it).
    pub succeeded: bool,
    pub at: OffsetDateTime,
    /// Request fields a dialect echoes back in its callback (PayU's hashed fields).
    pub echo: Vec<(String, String)>,
    /// The money came from another account than the registered one (ground truth).
    pub tpv_failed: bool,
}

impl Accepted {
    pub(crate) fn new(
        payment_id: &str,
        gateway_payment_id: &str,
        order_id: Option<&str>,
        amount: i64,
        succeeded: bool,
    ) -> Self {
        Accepted {
            payment_id: payment_id.to_string(),
            gateway_payment_id: gateway_payment_id.to_string(),
            order_id: order_id.map(str::to_string),
            amount,
            succeeded,
            at: OffsetDateTime::now_utc(),
            echo: Vec::new(),
            tpv_failed: false,
        }
    }

    /// The same, echoing `fields` of the request in the callback.
    pub(crate) fn with_echo(mut self, fields: Vec<(String, String)>) -> Self {
        self.echo = fields;
        self
    }
}

/// One sandbox gateway's callback sender.
pub(crate) struct Callbacks {
    pub(crate) state: Arc<KnobState>,
    /// Swapped whole by [`Callbacks::configure`] (the demo learns its server's port
    /// after the sandboxes are bound).
    target: ArcSwapOption<Target>,
}

/// The secret switchyard verifies this gateway's callbacks with.
fn secret_of(spec: &GatewaySpec) -> Option<String> {
    (crate::sandbox::dialects::of(spec.kind).callback_secret)(&spec.credentials)
        .map(|s| s.expose().to_string())
}

impl Callbacks {
    /// No callbacks until [`Callbacks::configure`].
    pub(crate) fn disabled() -> Self {
        Callbacks {
            state: Arc::new(KnobState::new(CallbackKnobs::default(), None)),
            target: ArcSwapOption::empty(),
        }
    }

    /// Sends callbacks for `spec` as `cfg` says: its knobs and seed replace the
    /// current ones; without a base URL or a webhook secret, callbacks stop.
    pub(crate) fn configure(&self, spec: &GatewaySpec, cfg: &CallbackConfig) {
        self.state.apply(cfg.knobs.into());
        self.state.reseed(cfg.seed);
        let (Some(base), Some(secret)) = (cfg.base_url.as_deref(), secret_of(spec)) else {
            if cfg.base_url.is_some() {
                tracing::warn!(gateway = %spec.name, "no webhook secret: sandbox callbacks off");
            }
            self.target.store(None);
            return;
        };
        let mut b = reqwest::Client::builder().pool_max_idle_per_host(256);
        if let Some(t) = cfg.timeout {
            b = b.timeout(t);
        }
        let target = b.build().ok().map(|client| {
            Arc::new(Target {
                kind: spec.kind,
                url: format!("{}/{}", base.trim_end_matches('/'), spec.name),
                secret,
                client,
                retry: cfg.retry,
                inflight: Semaphore::new(512),
            })
        });
        self.target.store(target);
    }

    pub(crate) fn url(&self) -> Option<String> {
        self.target.load().as_ref().map(|t| t.url.clone())
    }

    /// Whether accepted payments get callbacks (so handlers can skip the work).
    pub(crate) fn active(&self) -> bool {
        self.target.load().is_some() && self.state.knobs().callbacks
    }

    /// Plans and spawns the callbacks for one accepted payment; never blocks.
    pub(crate) fn accepted(&self, a: Accepted) {
        self.accepted_with(a, None);
    }

    /// Sends one final callback, whatever the drop and duplicate knobs say (orphans of
    /// a ground-truth run: the point is that they arrive).
    pub(crate) fn always(&self, a: Accepted) {
        self.always_after(a, Duration::ZERO);
    }

    /// [`Callbacks::always`], `delay` from now.
    pub(crate) fn always_after(&self, a: Accepted, delay: Duration) {
        let Some(target) = self.target.load_full() else {
            return;
        };
        let plan = knobs::Plan {
            delay,
            steps: vec![(format::Phase::Final, 1)],
        };
        tokio::spawn(send::deliver(target, self.state.clone(), a, plan));
    }

    /// [`Callbacks::accepted`] with a ground-truth fate (a failure first, a late
    /// delivery). Returns false when the drop knob swallowed the callbacks.
    pub(crate) fn accepted_with(
        &self,
        a: Accepted,
        fate: Option<crate::sandbox::truth::Fate>,
    ) -> bool {
        let Some(target) = self.target.load_full() else {
            return false;
        };
        let Some(mut plan) = self.state.plan() else {
            return false;
        };
        if let Some(f) = fate {
            plan.delay += f.extra_delay;
            if f.fail_first {
                plan.steps.insert(0, (format::Phase::FailedFirst, 1));
            }
        }
        tokio::spawn(send::deliver(target, self.state.clone(), a, plan));
        true
    }
}
