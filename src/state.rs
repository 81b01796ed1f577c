//! Shared application state, built once at startup and handed to every handler.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::alerts::{ALERT_QUEUE, Alert, Alerter};
use crate::budget::RetryBudget;
use crate::config::Snapshot;
use crate::health::{Admission, FEED_CAPACITY, HealthControl, HealthFeed, Observation};
use crate::ledger::Ledger;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The config in force; swapped whole on reload.
    pub config: ArcSwap<Snapshot>,
    pub ledger: Ledger,
    pub metrics: Metrics,
    /// Effective per-route shares the request path reads (published by health).
    pub admission: Admission,
    /// The health controller: the task, admin commands and reloads go through it.
    pub health_ctl: HealthControl,
    pub budget: RetryBudget,
    /// Outcomes for the health task (`try_send`; never waits).
    pub health: HealthFeed,
    /// The feed's receiving end until the health task takes it.
    pub health_rx: Mutex<Option<tokio::sync::mpsc::Receiver<Observation>>>,
    /// Alerts for the webhook delivery task (`try_send`; never waits).
    pub alerts: Alerter,
    /// The alert queue's receiving end until the delivery task takes it.
    pub alerts_rx: Mutex<Option<tokio::sync::mpsc::Receiver<Alert>>>,
    /// Woken after a commit that queued outbox rows, so the forwarder need not poll.
    pub outbox_notify: Arc<tokio::sync::Notify>,
    /// Hot reload: the config's path, the reload lock, the generation channel.
    pub reload: crate::reload::Reloader,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(snapshot: Snapshot, ledger: Ledger, metrics: Metrics) -> Self {
        metrics.config_generation.set(snapshot.generation as i64);
        let health_ctl = HealthControl::new(&snapshot);
        let admission = Admission::default();
        let eff = health_ctl.sync(&snapshot);
        eff.publish(&metrics, &snapshot);
        admission.store(eff);
        let (health, health_rx) = HealthFeed::channel(FEED_CAPACITY);
        let (alerts, alerts_rx) = Alerter::channel(ALERT_QUEUE);
        let reload = crate::reload::Reloader::new(snapshot.generation);
        AppState(Arc::new(Inner {
            config: ArcSwap::from_pointee(snapshot),
            ledger,
            metrics,
            admission,
            health_ctl,
            budget: RetryBudget::default(),
            health,
            health_rx: Mutex::new(Some(health_rx)),
            alerts,
            alerts_rx: Mutex::new(Some(alerts_rx)),
            outbox_notify: Arc::new(tokio::sync::Notify::new()),
            reload,
        }))
    }
}

impl AppState {
    /// Swaps in a new config and brings everything derived from it up to date
    /// (health policy and membership, effective shares, published weights, the
    /// generation gauge). The one entry point for a config swap: hot reload calls
    /// it. Health state survives for gateways that still exist (keyed by name).
    pub fn swap_config(&self, snapshot: Snapshot) {
        self.metrics
            .config_generation
            .set(snapshot.generation as i64);
        let eff = self.health_ctl.sync(&snapshot);
        eff.publish(&self.metrics, &snapshot);
        // Config first, then its table: in between, the generation check admits
        // everything for a moment rather than applying old indices to new routes.
        self.config.store(Arc::new(snapshot));
        self.admission.store(eff);
    }
}

/// `gateway_weight{route,gateway}` from the split tables, in permille.
pub fn publish_weights(metrics: &Metrics, snap: &Snapshot) {
    metrics.gateway_weight.reset();
    for r in &snap.routes {
        for e in r.split.entries() {
            let name = &snap.gateways[e.gateway].spec.name;
            metrics
                .gateway_weight
                .with_label_values(&[&r.name, name])
                .set(r.split.permille(e.gateway) as i64);
        }
    }
}
