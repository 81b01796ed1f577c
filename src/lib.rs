//! # switchyard
//!
//! A payment-initiation proxy for Indian merchants. A checkout backend sends
//! `POST /v1/payments`; switchyard validates it, checks idempotency, picks a gateway
//! by rule and weighted sticky split, writes an intent row to its ledger, calls the
//! gateway in that gateway's own dialect, fails over only when that is provably safe,
//! and answers with a normalized response.
//!
//! ## Module map (one-way layers, bottom to top; `tests/layers.rs` enforces it)
//! 0. [`model`] (money in paise, ids, VPAs, `Secret`, `scrub`, `Throttle`), [`metrics`].
//! 1. [`connectors`] (dialects, the shared `amount` parser and `npci` table,
//!    `GatewaySpec` and `Idempotency`, the upstream client), [`routing`]
//!    (rules, sticky weighted split, `GatewayIdx`, `Ramp`), [`ledger`] (SQLite WAL,
//!    exclusive lock and integrity check at open, group-commit writer that signals
//!    the forwarder; precedence and the money checks of docs/MONEY.md).
//! 2. [`alerts`] (queue and webhook delivery), [`pipeline`] (outbox → sinks, replay).
//! 3. [`config`]: TOML → validate → compiled [`config::Snapshot`]; one load path
//!    (`[upi_limits]` in [`config::limits`]).
//! 4. [`health`]: windows, detectors, state machine, admission, the health task.
//! 5. [`payments`] (initiation and failover, retry budget, UPI limits),
//!    [`callbacks`] (ingest, normalize, watchdog, orphan sweep), [`refunds`]
//!    (refunds to the gateway that holds the money, their status checks and the
//!    automatic policy), [`reload`] (hot reload through [`reload::Live`]),
//!    [`sandbox`] (with ground-truth recording).
//! 6. [`state`]: what the edge hands every handler.
//! 7. [`http`]: the edge (accept loop with connection limits and timeouts, head
//!    limits, load shedding); the one route table, the one error → HTTP map, the
//!    status page.
//! 8. [`app`]: CLI, commands, explain, serve, demo, logging.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod app;
pub mod callbacks;
pub mod config;
pub mod connectors;
pub mod health;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod model;
pub mod payments;
pub mod pipeline;
pub mod refunds;
pub mod reload;
pub mod routing;
pub mod sandbox;
pub mod state;
