//! The compiled, immutable configuration the service runs on. Built once per
//! load or reload and swapped in whole through `ArcSwap`; the hot path only reads it.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use std::time::Duration;

use crate::connectors::Connector;
use crate::connectors::GatewaySpec;
use crate::model::Secret;
use crate::routing::Route;

use crate::routing::GatewayIdx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickyKey {
    OrderId,
    IdempotencyKey,
}

/// Settings that need a restart to change (listeners, ledger). A reload that changes
/// them is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub ledger_path: PathBuf,
    pub group_commit_max: usize,
    pub synchronous_full: bool,
    pub ledger_integrity: crate::ledger::Integrity,
    /// The listeners' connection limits and timeouts.
    pub edge: Edge,
}

/// Connection handling at the public listener (`http::serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_inflight_payments: usize,
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_inflight_payments: 256,
        }
    }
}

/// Request-path policy from `[server]`.
#[derive(Debug, Clone)]
pub struct ServerPolicy {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_attempts: u32,
    pub retry_budget_percent: u32,
    pub sticky_key: StickyKey,
    pub public_url: Option<String>,
    /// The order-level guard: what a new payment for an order that already has a
    /// live or succeeded one may do (`order_guard_live`, `order_guard_succeeded`).
    pub order_guard: crate::ledger::money::OrderPolicy,
    pub max_amount_paise: i64,
}

/// One gateway as compiled: its settings and the connector built for them.
pub struct Gateway {
    /// `spec.name`, shared cheaply with the health feed.
    pub name: Arc<str>,
    pub spec: GatewaySpec,
    pub connector: Arc<dyn Connector>,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// The config in force, shared by everything that reads it; swapped whole on reload.
pub type SharedConfig = Arc<ArcSwap<Snapshot>>;

/// Everything the service needs to route a request, as one immutable value.
#[derive(Debug)]
pub struct Snapshot {
    /// Increments on every successful load or reload.
    pub generation: u64,
    /// Where the config came from (for messages).
    pub source: String,
    pub bootstrap: Bootstrap,
    pub server: ServerPolicy,
    pub admin_token: Option<Secret>,
    /// `[admin] status_public`: `GET /status` on the admin listener needs no token.
    pub status_public: bool,
    pub gateways: Vec<Gateway>,
    pub gateway_index: HashMap<String, GatewayIdx>,
    pub routes: Vec<Route>,
    /// `[[alert]]` webhooks.
    pub alerts: Vec<crate::alerts::AlertSpec>,
    /// `[pipeline]` and `[[sink]]` (read when the forwarder starts).
    pub pipeline: crate::pipeline::PipelineConfig,
    pub callbacks: CallbackPolicy,
    pub watchdog: WatchdogPolicy,
    /// `[health]`: rollback thresholds and recovery pacing.
    pub health: super::health::HealthPolicy,
    /// `[upi_limits]`: per-transaction UPI caps, checked before routing.
    pub upi_limits: super::limits::UpiLimits,
    /// `[refunds]`: refund resolution and the automatic policy.
    pub refunds: RefundPolicy,
}

impl Snapshot {
    pub fn gateway(&self, name: &str) -> Option<(GatewayIdx, &Gateway)> {
        let idx = *self.gateway_index.get(name)?;
        Some((idx, &self.gateways[idx]))
    }
}

/// `[callbacks]` as compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackPolicy {
    pub max_body_bytes: usize,
    /// `None`: no replay-window check.
    pub replay_tolerance: Option<Duration>,
    pub late_success_refund: bool,
    /// Unlinked orphans older than this are forwarded (flagged `orphan`, hold).
    pub orphan_grace: Duration,
    /// Verified callbacks per second per gateway (0: unlimited).
    pub rate_limit_per_second: u32,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        CallbackPolicy {
            max_body_bytes: 65_536,
            replay_tolerance: Some(Duration::from_secs(300)),
            late_success_refund: false,
            orphan_grace: Duration::from_secs(120),
            rate_limit_per_second: 2000,
        }
    }
}

/// `[watchdog]` as compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogPolicy {
    pub enabled: bool,
    pub ttl: Duration,
    pub ttl_by_method: HashMap<crate::model::Method, Duration>,
    pub first_check_after: Duration,
    pub check_interval: Duration,
    pub max_checks: u32,
    pub scan_interval: Duration,
    /// After TTL + this, a payment still unresolved after every check is `expired` + `stale`.
    pub expire_after: Duration,
}

impl WatchdogPolicy {
    pub fn ttl_for(&self, method: Option<crate::model::Method>) -> Duration {
        method
            .and_then(|m| self.ttl_by_method.get(&m).copied())
            .unwrap_or(self.ttl)
    }
}

impl Default for WatchdogPolicy {
    fn default() -> Self {
        WatchdogPolicy {
            enabled: true,
            ttl: Duration::from_secs(420),
            ttl_by_method: HashMap::new(),
            first_check_after: Duration::from_secs(90),
            check_interval: Duration::from_secs(90),
            max_checks: 3,
            scan_interval: Duration::from_secs(15),
            expire_after: Duration::from_secs(600),
        }
    }
}

/// `[refunds]` as compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPolicy {
    pub first_check_after: Duration,
    pub check_interval: Duration,
    pub max_checks: u32,
    pub max_attempts: u32,
    pub scan_interval: Duration,
    pub auto: AutoRefundPolicy,
}

impl Default for RefundPolicy {
    fn default() -> Self {
        RefundPolicy {
            first_check_after: Duration::from_secs(90),
            check_interval: Duration::from_secs(900),
            max_checks: 8,
            max_attempts: 3,
            scan_interval: Duration::from_secs(15),
            auto: AutoRefundPolicy::default(),
        }
    }
}

/// `[refunds.auto]`: which `refund_required` reasons are refunded automatically.
/// All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoRefundPolicy {
    pub tpv_failed: bool,
    pub duplicate_payment: bool,
    pub late_success: bool,
    pub dry_run: bool,
}

impl AutoRefundPolicy {
    /// Whether `reason` (`tpv_failed` | `duplicate_payment` | `late_success`) is on.
    pub fn enabled(&self, reason: &str) -> bool {
        match reason {
            "tpv_failed" => self.tpv_failed,
            "duplicate_payment" => self.duplicate_payment,
            "late_success" => self.late_success,
            _ => false,
        }
    }
}
