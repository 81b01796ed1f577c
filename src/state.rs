//! The application state the HTTP edge hands to every handler: the flows
//! ([`Payments`], [`Callbacks`]) and what the admin API reads and controls, built
//! once at startup from one config snapshot.
//!
//! It holds handles only. The channels' receiving ends (the health feed, the alert
//! queue) go to whoever spawns their tasks ([`AppState::new`] returns them).

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use crate::alerts::{ALERT_QUEUE, Alert, Alerter};
use crate::callbacks::Callbacks;
use crate::config::{SharedConfig, Snapshot};
use crate::health::{
    Admission, FEED_CAPACITY, HealthContext, HealthControl, HealthFeed, Observation,
};
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::payments::{Payments, RetryBudget};
use crate::refunds::Refunds;
use crate::reload::{Live, Reloader};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The config in force; swapped whole on reload.
    pub config: SharedConfig,
    pub ledger: Ledger,
    pub metrics: Metrics,
    /// Effective per-route shares the request path reads (published by health).
    pub admission: Arc<Admission>,
    /// The health controller: the task, admin commands and reloads go through it.
    pub health_ctl: HealthControl,
    /// Outcomes for the health task (`try_send`; never waits).
    pub health: HealthFeed,
    /// Alerts for the webhook delivery task (`try_send`; never waits).
    pub alerts: Alerter,
    /// Hot reload: the config's path, the reload lock, the generation channel.
    pub reload: Reloader,
    /// The initiation flow.
    pub payments: Payments,
    /// The callback flow (and the watchdog's).
    pub callbacks: Callbacks,
    /// The refund flow (and the refund pass's).
    pub refunds: Refunds,
}

/// The receiving ends of the state's queues, for the tasks that drain them.
pub struct Receivers {
    pub health: mpsc::Receiver<Observation>,
    pub alerts: mpsc::Receiver<Alert>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(snapshot: Snapshot, ledger: Ledger, metrics: Metrics) -> (Self, Receivers) {
        metrics.config_generation.set(snapshot.generation as i64);
        let health_ctl = HealthControl::new(&snapshot);
        let admission = Arc::new(Admission::default());
        let eff = health_ctl.sync(&snapshot);
        eff.publish(&metrics, &snapshot);
        admission.store(eff);
        let (health, health_rx) = HealthFeed::channel(FEED_CAPACITY);
        let (alerts, alerts_rx) = Alerter::channel(ALERT_QUEUE);
        let reload = Reloader::new(snapshot.generation);
        let config: SharedConfig = Arc::new(ArcSwap::from_pointee(snapshot));
        let payments = Payments {
            config: Arc::clone(&config),
            ledger: ledger.clone(),
            metrics: metrics.clone(),
            admission: Arc::clone(&admission),
            health: health.clone(),
            budget: Arc::new(RetryBudget::default()),
        };
        let callbacks = Callbacks {
            config: Arc::clone(&config),
            ledger: ledger.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
        };
        let refunds = Refunds {
            config: Arc::clone(&config),
            ledger: ledger.clone(),
            metrics: metrics.clone(),
            alerts: alerts.clone(),
            auto_lock: Default::default(),
        };
        let state = AppState(Arc::new(Inner {
            config,
            ledger,
            metrics,
            admission,
            health_ctl,
            health,
            alerts,
            reload,
            payments,
            callbacks,
            refunds,
        }));
        let receivers = Receivers {
            health: health_rx,
            alerts: alerts_rx,
        };
        (state, receivers)
    }

    /// What the health task and the admin health commands act on.
    pub fn health_context(&self) -> HealthContext {
        HealthContext {
            config: Arc::clone(&self.config),
            ctl: self.health_ctl.clone(),
            admission: Arc::clone(&self.admission),
            metrics: self.metrics.clone(),
            ledger: self.ledger.clone(),
            alerts: self.alerts.clone(),
        }
    }

    /// The `[[alert]]` webhooks in force, for the alert delivery task.
    pub fn webhooks(&self) -> crate::alerts::deliver::Webhooks {
        let config = Arc::clone(&self.config);
        Arc::new(move || config.load().alerts.clone())
    }

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

impl Live for AppState {
    fn reloader(&self) -> &Reloader {
        &self.reload
    }
    fn current(&self) -> Arc<Snapshot> {
        self.config.load_full()
    }
    fn swap(&self, snapshot: Snapshot) {
        self.swap_config(snapshot);
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn alerts(&self) -> &Alerter {
        &self.alerts
    }
}
