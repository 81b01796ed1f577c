//! The health task: drains the outcome feed into the controller, ticks it once a
//! second (and at once when a run of failures says hard down), publishes the
//! effective shares and hands the events to [`super::notify`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::admission::{Admission, Effective, members};
use super::controller::{Controller, Event};
use super::feed::Observation;
use super::notify;
use crate::alerts::Alerter;
use crate::config::{SharedConfig, Snapshot};
use crate::ledger::Ledger;
use crate::metrics::Metrics;

/// Observations handled per lock before the task looks at its timer again.
const BATCH: usize = 1024;

/// The controller behind a mutex (held briefly, never across an await) and the
/// clock it runs on (tokio's, so paused-time tests drive it).
#[derive(Clone)]
pub struct HealthControl {
    inner: Arc<Mutex<Controller>>,
    start: Instant,
}

impl HealthControl {
    pub fn new(snap: &Snapshot) -> HealthControl {
        let seed = snap.generation ^ 0x5eed;
        HealthControl {
            inner: Arc::new(Mutex::new(Controller::new(
                snap.health.clone(),
                members(snap),
                seed,
            ))),
            start: Instant::now(),
        }
    }

    /// Milliseconds since the controller started.
    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// The controller (a poisoned lock is recovered: its data stays consistent
    /// because every update is a plain assignment).
    pub fn lock(&self) -> MutexGuard<'_, Controller> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the controller to a new config and returns the effective table.
    pub fn sync(&self, snap: &Snapshot) -> Effective {
        let now = self.now_ms();
        let mut c = self.lock();
        c.sync(snap.health.clone(), members(snap), now);
        let shares = c.route_shares();
        Effective::build(snap, &shares)
    }
}

/// What the health task and the admin commands act on: the config in force, the
/// controller, the published table, and where events go (metrics, alerts, audit).
#[derive(Clone)]
pub struct HealthContext {
    pub config: SharedConfig,
    pub ctl: HealthControl,
    pub admission: Arc<Admission>,
    pub metrics: Metrics,
    pub ledger: Ledger,
    pub alerts: Alerter,
}

/// Recomputes and publishes the shares; returns the events to emit.
pub fn publish(state: &HealthContext, c: &mut Controller) -> Vec<Event> {
    let snap = state.config.load();
    let shares = c.route_shares();
    let eff = Effective::build(&snap, &shares);
    eff.publish(&state.metrics, &snap);
    state.admission.store(eff);
    let finals = c.finals();
    for (name, g) in &c.gateways {
        let now = g.machine.state.name();
        for st in super::machine::State::NAMES {
            state
                .metrics
                .gateway_state
                .with_label_values(&[name, st])
                .set(i64::from(st == now));
        }
        let (ok, n) = g.window.total().success(finals);
        if n > 0 {
            state
                .metrics
                .gateway_success_ratio
                .with_label_values(&[name])
                .set(ok as f64 / n as f64);
        }
    }
    c.take_events()
}

/// Starts the health task on the feed's receiving end `rx`; it ends when `stop`
/// turns true.
pub fn spawn(
    state: HealthContext,
    mut rx: tokio::sync::mpsc::Receiver<Observation>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let run_tick;
            tokio::select! {
                _ = stop.wait_for(|v| *v) => break,
                obs = rx.recv() => {
                    let Some(obs) = obs else { break };
                    let ctl = &state.ctl;
                    let now = ctl.now_ms();
                    let mut c = ctl.lock();
                    c.observe(now, &obs);
                    for _ in 0..BATCH {
                        match rx.try_recv() {
                            Ok(o) => c.observe(now, &o),
                            Err(_) => break,
                        }
                    }
                    run_tick = c.take_urgent();
                }
                _ = tick.tick() => run_tick = true,
            }
            if run_tick {
                let events = {
                    let now = state.ctl.now_ms();
                    let mut c = state.ctl.lock();
                    c.tick(now);
                    publish(&state, &mut c)
                };
                notify::emit(&state, events);
            }
        }
    })
}
