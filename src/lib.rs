//! # switchyard
//!
//! A payment-initiation proxy for Indian merchants. A checkout backend sends
//! `POST /v1/payments`; switchyard validates it, checks idempotency, picks a gateway
//! by rule and weighted sticky split, writes an intent row to its ledger, calls the
//! gateway in that gateway's own dialect, fails over only when that is provably safe,
//! and answers with a normalized response.
//!
//! ## Module map
//! - [`model`]: money (integer paise), currencies, ids, VPAs (masked), payment vocabulary.
//! - [`config`]: TOML → raw → validate (every error, `file:line:col`) → compiled [`config::Snapshot`].
//! - [`routing`]: rules, precomputed weighted split with a sticky hash, the attempt plan.
//! - [`upstream`]: the HTTP client and transport classification (`NotSent` vs `SentUnknown`).
//! - [`connectors`]: the [`connectors::Connector`] trait and the generic, Razorpay, Cashfree and Juspay UPI dialects.
//! - [`ledger`]: SQLite (WAL) payments/attempts/events/idempotency with a group-commit writer.
//! - [`payments`]: the initiation flow and the failover rules; [`budget`]: the retry budget.
//! - [`http`]: router, handlers, request validation, the one error → HTTP mapping.
//! - [`health`]: gateway availability flags the hot path reads; the outcome feed.
//! - [`alerts`]: alert values and the never-blocking alert queue; `alerts::deliver`: webhook delivery.
//! - [`reload`]: hot reload (SIGHUP, file watch, `POST /admin/reload`) through one path.
//! - [`pipeline`]: the forwarder: outbox → sinks (file, http, redis, nats), dead letters, replay.
//! - [`callbacks`]: `POST /v1/callbacks/{gateway}`: verify, normalize, precedence, durable ACK;
//!   [`watchdog`]: status checks for payments stuck non-final, `stale` events.
//! - [`metrics`]: one `Metrics` struct on a registry passed in.
//! - [`serve`]: bind, serve, graceful shutdown; [`state`]: shared application state.
//! - [`sandbox`]: simulated gateways speaking each dialect, with a control API.
//! - [`cli`], [`commands`], [`demo`], [`logging`]: the binary's subcommands.
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
pub mod reload;
pub mod routing;
pub mod sandbox;
pub mod state;
