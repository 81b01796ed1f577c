//! A small HTTP/1.1 load generator for switchyard's `POST /v1/payments`.
//!
//! Two modes:
//! - **closed loop**: N connections, each sends its next request as soon as the previous
//!   answer arrived (maximum throughput at concurrency N);
//! - **open loop**: requests are scheduled at a constant rate, and latency is measured
//!   from each request's *intended* send time, so a stall of the target shows up in the
//!   percentiles instead of silently lowering the offered load (no coordinated omission).
//!
//! Each worker owns one keep-alive connection (reconnecting when it breaks). Latencies go
//! into HDR histograms (µs, 3 significant digits), merged at the end. Every failure is
//! counted by class; nothing on the request path panics.
//!
//! Scenarios ([`scenario`]: latency, callbacks, soak, reload, incident) start the
//! system under test as processes ([`stack`]) and print a table and JSON.

#![forbid(unsafe_code)]

pub mod client;
pub mod http;
pub mod payload;
pub mod report;
pub mod rollback;
pub mod run;
pub mod scenario;
pub mod stack;

pub use payload::TargetKind;
pub use report::Report;
pub use run::{Mode, Plan, run};
