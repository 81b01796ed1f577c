//! The compiled, immutable configuration the service runs on. Built once per
//! load or reload and swapped in whole through `ArcSwap`; the hot path only reads it.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::connectors::Connector;
use crate::routing::Route;

/// Index of a gateway in [`Snapshot::gateways`].
pub type GatewayIdx = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickyKey {
    OrderId,
    IdempotencyKey,
}

/// A secret read from the environment or a file at load time. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    Generic,
    Razorpay,
    Cashfree,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 3] = [
        ConnectorKind::Generic,
        ConnectorKind::Razorpay,
        ConnectorKind::Cashfree,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Generic => "generic",
            ConnectorKind::Razorpay => "razorpay",
            ConnectorKind::Cashfree => "cashfree",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Credentials resolved from their references.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub key_id: Option<Secret>,
    pub key_secret: Option<Secret>,
    pub webhook_secret: Option<Secret>,
}

/// One gateway as compiled: its settings and the connector built for them.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    pub name: String,
    pub kind: ConnectorKind,
    pub base_url: String,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub pool_size: usize,
    pub idempotent: bool,
}

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
    pub gateways: Vec<Gateway>,
    pub gateway_index: HashMap<String, GatewayIdx>,
    pub routes: Vec<Route>,
    /// `[health]`: rollback thresholds and recovery pacing.
    pub health: super::health::HealthPolicy,
}

impl Snapshot {
    pub fn gateway(&self, name: &str) -> Option<(GatewayIdx, &Gateway)> {
        let idx = *self.gateway_index.get(name)?;
        Some((idx, &self.gateways[idx]))
    }
}
