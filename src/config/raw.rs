//! The file format, exactly as written: serde structs with `deny_unknown_fields`.
//! Nothing here is validated; `validate` checks it and `compile` turns it into a
//! [`Snapshot`](super::Snapshot).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub ledger: RawLedger,
    #[serde(default, rename = "gateway")]
    pub gateways: Vec<RawGateway>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RawRoute>,
    #[serde(default)]
    pub health: super::health::RawHealth,
}

/// `[server]`: the public listener (bootstrap) and request-path policy (hot).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Bootstrap: `"0.0.0.0:8080"`.
    pub listen: Option<String>,
    /// Largest accepted request body in bytes (default 16384).
    pub max_body_bytes: Option<u64>,
    /// Upper bound on one `POST /v1/payments`, all attempts included (default `"15s"`).
    pub request_timeout: Option<String>,
    /// How long in-flight requests may finish after SIGTERM (default `"10s"`).
    pub shutdown_grace: Option<String>,
    /// Gateway attempts per payment, first included (default 2).
    pub max_attempts: Option<u32>,
    /// Retries allowed as a percentage of recent requests (default 20).
    pub retry_budget_percent: Option<u32>,
    /// `"order_id"` (default) or `"idempotency_key"`: what the sticky hash uses.
    pub sticky_key: Option<String>,
    /// Base URL the gateways call back on (`{public_url}/v1/callbacks/{gateway}`).
    pub public_url: Option<String>,
}

/// `[admin]`: the admin listener (bootstrap) and its bearer token (by reference).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub listen: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
}

/// `[ledger]`: the embedded SQLite ledger (bootstrap).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLedger {
    /// Database file; relative paths are relative to the working directory.
    pub path: Option<String>,
    /// Most writes that share one transaction and one fsync (default 512).
    pub group_commit_max: Option<u32>,
    /// `"full"` (default: fsync per group commit) or `"normal"`.
    pub synchronous: Option<String>,
}

/// `[[gateway]]`: one upstream payment gateway.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    pub name: Option<String>,
    /// `"generic"`, `"razorpay"` or `"cashfree"`.
    pub connector: Option<String>,
    pub base_url: Option<String>,
    pub key_id_env: Option<String>,
    pub key_id_file: Option<String>,
    pub key_secret_env: Option<String>,
    pub key_secret_file: Option<String>,
    pub webhook_secret_env: Option<String>,
    pub webhook_secret_file: Option<String>,
    /// TCP connect timeout (default `"2s"`).
    pub connect_timeout: Option<String>,
    /// Whole-request timeout once connected (default `"8s"`).
    pub timeout: Option<String>,
    /// Idle keep-alive connections kept per host (default 64).
    pub pool_size: Option<u32>,
    /// Whether the gateway honours our idempotency key, making a retry after an
    /// ambiguous timeout safe on the same gateway (default false).
    pub idempotent: Option<bool>,
}

/// `[[route]]`: rules are tried in file order; the first match wins.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: Option<String>,
    #[serde(default, rename = "match")]
    pub matcher: RawMatch,
    #[serde(default)]
    pub split: Vec<RawSplit>,
    #[serde(default)]
    pub fallback: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Any of these methods (empty: any method).
    #[serde(default)]
    pub method: Vec<String>,
    /// Inclusive lower bound in paise.
    pub min_amount: Option<i64>,
    /// Inclusive upper bound in paise.
    pub max_amount: Option<i64>,
    pub currency: Option<String>,
    /// Every tag listed must be present with this value.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSplit {
    pub gateway: Option<String>,
    pub weight: Option<u32>,
    /// Progressive rollout of this entry (`[health]` gates each step).
    pub ramp: Option<super::health::RawRamp>,
}
