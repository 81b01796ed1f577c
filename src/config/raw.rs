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
    #[serde(default, rename = "alert")]
    pub alerts: Vec<RawAlert>,
    #[serde(default)]
    pub pipeline: RawPipeline,
    #[serde(default, rename = "sink")]
    pub sinks: Vec<RawSink>,
    #[serde(default)]
    pub callbacks: RawCallbacks,
    #[serde(default)]
    pub watchdog: RawWatchdog,
    #[serde(default)]
    pub health: super::health::RawHealth,
    #[serde(default)]
    pub upi_limits: super::limits::RawUpiLimits,
    #[serde(default)]
    pub refunds: RawRefunds,
}

/// `[refunds]`: refund resolution and the automatic policy (hot).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRefunds {
    /// No status check of a pending refund sooner than this after the call (default `"90s"`).
    pub first_check_after: Option<String>,
    /// Spacing between checks of one refund (default `"15m"`).
    pub check_interval: Option<String>,
    /// Status checks per refund before it is declared stale (default 8).
    pub max_checks: Option<u32>,
    /// Gateway refund calls per refund: the first plus resends of the same refund
    /// id after a "no such refund" answer (default 3).
    pub max_attempts: Option<u32>,
    /// How often due refunds and flagged events are looked for (default `"15s"`).
    pub scan_interval: Option<String>,
    #[serde(default)]
    pub auto: RawRefundsAuto,
}

/// `[refunds.auto]`: automatic refunds for `refund_required` events, per reason.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRefundsAuto {
    /// Success with a third-party-validation failure (default false).
    pub tpv_failed: Option<bool>,
    /// A second successful payment for the same order (default false).
    pub duplicate_payment: Option<bool>,
    /// Success after the payment was failed/expired (default false).
    pub late_success: Option<bool>,
    /// Only report (audit + alert) what would be refunded (default false).
    pub dry_run: Option<bool>,
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
    /// A new payment for an order with a live payment the gateway confirmed:
    /// `"pin"` (default: only on that payment's gateway) or `"refuse"` (409
    /// `order_payment_in_progress`).
    pub order_guard_live: Option<String>,
    /// A new payment for an order with a succeeded payment: `"refuse"` (default, 409
    /// `order_already_paid`) or `"pin"`.
    pub order_guard_succeeded: Option<String>,
    /// A new payment for an order whose live payment's outcome is in doubt
    /// (`unknown`, `initiated`): `"refuse"` (default, 409 `order_payment_in_doubt`)
    /// or `"pin"`.
    pub order_guard_in_doubt: Option<String>,
    /// Largest `amount` accepted, in paise (default 10^12: far above any UPI cap).
    pub max_amount_paise: Option<i64>,
    /// Bootstrap: a connection must send a request's whole head within this (default `"10s"`).
    pub header_read_timeout: Option<String>,
    /// Bootstrap: a keep-alive connection with no request in flight is closed after this (default `"60s"`).
    pub idle_timeout: Option<String>,
    /// Bootstrap: open connections per listener (default 4096, and never above the fd limit).
    pub max_connections: Option<u32>,
    /// Bootstrap: initiations in flight before new ones are shed with 503 `overloaded` (default 256).
    pub max_inflight_payments: Option<u32>,
}

/// `[admin]`: the admin listener (bootstrap) and its bearer token (by reference).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub listen: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    /// Serve `GET /status` without the token (read-only; default false).
    pub status_public: Option<bool>,
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
    /// Check run at start: `"quick"` (default), `"full"` or `"off"`.
    pub integrity_check: Option<String>,
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
    /// During a webhook-secret rotation: the previous secret, still accepted.
    pub previous_webhook_secret_env: Option<String>,
    pub previous_webhook_secret_file: Option<String>,
    /// Juspay EC JWT webhooks (juspay_ec only, both or neither): the merchant's
    /// private key (PEM) and Juspay's public key (PEM).
    pub jwt_private_key_env: Option<String>,
    pub jwt_private_key_file: Option<String>,
    pub jwt_public_key_env: Option<String>,
    pub jwt_public_key_file: Option<String>,
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

/// `[[alert]]`: one webhook that receives alerts (hot-reloadable).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub name: Option<String>,
    /// The webhook URL, written inline...
    pub url: Option<String>,
    /// ...or read from this environment variable (Slack-style URLs carry a token).
    pub url_env: Option<String>,
    /// `"info"`, `"warning"` (default) or `"critical"`: the least severe alert sent.
    pub min_severity: Option<String>,
    /// Per-attempt timeout (default `"5s"`).
    pub timeout: Option<String>,
}

/// `[pipeline]`: the forwarder that delivers outbox events to the sinks.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Delivery attempts per event and sink before it becomes a dead letter (default 30).
    pub max_attempts: Option<u32>,
    /// First retry delay (default `"1s"`), doubled per attempt with jitter...
    pub backoff_initial: Option<String>,
    /// ...up to this (default `"5m"`).
    pub backoff_max: Option<String>,
    /// Events read and sent per batch (default 500).
    pub batch: Option<u32>,
    /// How often a sink looks for events when no wake-up came (default `"1s"`).
    pub poll: Option<String>,
}

/// `[[sink]]`: one destination of the event stream; several fan out independently.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub name: Option<String>,
    /// `"file"`, `"http"`, `"redis"` or `"nats"`.
    pub kind: Option<String>,
    /// file: the JSON-lines file.
    pub path: Option<String>,
    /// http: the endpoint; redis: `redis://...`; nats: `nats://...`.
    pub url: Option<String>,
    /// http: the HMAC key of `X-Switchyard-Signature`, by reference.
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
    /// http: whole-request timeout (default `"10s"`).
    pub timeout: Option<String>,
    /// redis: the stream key; nats: the JetStream stream name.
    pub stream: Option<String>,
    /// redis: `MAXLEN ~` bound of the stream (default: unbounded).
    pub maxlen: Option<u64>,
    /// nats: the subject published to.
    pub subject: Option<String>,
}

/// `[callbacks]`: gateway webhook ingest (hot).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCallbacks {
    /// Largest accepted callback body in bytes (default 65536).
    pub max_body_bytes: Option<u64>,
    /// Replay window for gateways that sign a timestamp (default `"5m"`; `"off"`
    /// disables the check, e.g. to verify recorded fixtures).
    pub replay_tolerance: Option<String>,
    /// Flag a late success (after failed/expired) `refund_required` (default false).
    pub late_success_refund: Option<bool>,
    /// How long an orphan callback may wait to link before it is forwarded with
    /// `flags.orphan` and `order_action = hold` (default `"2m"`).
    pub orphan_grace: Option<String>,
    /// Verified callbacks per second per gateway before 429 (default 2000; 0 = no limit).
    pub rate_limit_per_second: Option<u32>,
}

/// `[watchdog]`: status checks for payments stuck non-final (hot).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWatchdog {
    /// Default true.
    pub enabled: Option<bool>,
    /// How long a payment may stay non-final before it is checked (default `"7m"`).
    pub ttl: Option<String>,
    /// Per-method TTL overrides, e.g. `{ upi_collect = "10m" }`.
    #[serde(default)]
    pub ttl_by_method: BTreeMap<String, String>,
    /// No status check sooner than this after initiation (default `"90s"`, NPCI).
    pub first_check_after: Option<String>,
    /// Spacing between checks of one payment (default `"90s"`, NPCI minimum).
    pub check_interval: Option<String>,
    /// Status checks per payment before it is declared stale (default 3, NPCI).
    pub max_checks: Option<u32>,
    /// How often the watchdog looks for due payments (default `"15s"`).
    pub scan_interval: Option<String>,
    /// How long past its TTL a payment still pending after every check waits
    /// before it is declared `expired` + `stale` (default `"10m"`).
    pub expire_after: Option<String>,
    /// Enforce NPCI's status-check floor (default true): first check at least 90 s
    /// after initiation, checks at least 90 s apart, at most 3 in the first 2 hours.
    /// `false` is for sandboxes and compressed load tests only.
    pub npci_floor: Option<bool>,
}
