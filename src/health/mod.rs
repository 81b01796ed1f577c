//! Gateway health and automatic rollback (DESIGN.md §5, docs/ROLLBACK.md).
//!
//! - [`feed`]: the bounded, never-blocking outcome feed into the health task.
//! - [`window`]: one-second buckets over the window (attempts, failures, latency).
//! - [`detectors`]: hard down, 5xx spike, sustained latency; [`sprt`]: the
//!   sequential success-rate test.
//! - [`machine`]: the per-gateway state machine, cooldowns, recovery gate.
//! - [`controller`] and its tick ([`tick`], [`step`]), [`shares`] (effective shares, panic
//!   mode, progressive rollout), [`manual`] (admin commands), [`view`] (admin JSON).
//! - [`admission`]: the published table the request path reads (`ArcSwap`).
//! - [`task`]: the task driving it all; [`notify`]: logs, metrics, alerts, audit.
//! - [`sim`]: the rollback simulation (simulated time, seeded).

pub mod admission;
pub mod controller;
pub mod detectors;
pub mod feed;
pub mod machine;
pub mod manual;
pub mod notify;
pub mod shares;
pub mod sim;
pub mod sprt;
pub mod step;
pub mod task;
pub mod tick;
pub mod view;
pub mod window;

#[cfg(test)]
mod tests;

pub use admission::{Admission, Effective, admission_hash};
pub use controller::{Controller, Event, RouteMembers};
pub use feed::{AttemptClass, FEED_CAPACITY, HealthFeed, Observation};
pub use manual::{Command, CommandError};
pub use task::{HealthContext, HealthControl};
