//! Running the service: open the ledger, bind, serve, drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::alerts::Alert;
use crate::alerts::deliver::{self, RetryPolicy};
use crate::config::Snapshot;
use crate::health::Observation;
use crate::ledger::{Ledger, LedgerError, LedgerOptions};
use crate::metrics::Metrics;
use crate::state::{AppState, Receivers};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot open the ledger at {path}: {source}")]
    Ledger { path: String, source: LedgerError },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, not yet running server: lets callers learn the port before serving.
pub struct Server {
    pub state: AppState,
    /// The health feed's receiving end, until `run` hands it to the health task.
    health_rx: Option<tokio::sync::mpsc::Receiver<Observation>>,
    /// The alert queue's receiving end, until `run` hands it to alert delivery.
    alerts_rx: Option<tokio::sync::mpsc::Receiver<Alert>>,
    listener: TcpListener,
    /// Bound only when an admin token is configured (or the status page is public):
    /// an admin API nobody can call is not opened.
    admin: Option<TcpListener>,
}

impl Server {
    /// Opens the ledger and binds the public listener from the snapshot's bootstrap keys.
    pub async fn bind(snapshot: Snapshot, metrics: Metrics) -> Result<Server, ServeError> {
        let boot = snapshot.bootstrap.clone();
        let ledger = Ledger::open(
            &boot.ledger_path,
            LedgerOptions {
                group_commit_max: boot.group_commit_max,
                synchronous_full: boot.synchronous_full,
                exclusive: true,
                integrity: boot.ledger_integrity,
                // No wait on the ledger outlives a request's deadline.
                call_timeout: Some(snapshot.server.request_timeout),
            },
        )
        .map_err(|source| ServeError::Ledger {
            path: boot.ledger_path.display().to_string(),
            source,
        })?;
        let listener = TcpListener::bind(boot.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: boot.listen,
                source,
            })?;
        let admin = if snapshot.admin_token.is_some() || snapshot.status_public {
            Some(
                TcpListener::bind(boot.admin_listen)
                    .await
                    .map_err(|source| ServeError::Bind {
                        addr: boot.admin_listen,
                        source,
                    })?,
            )
        } else {
            tracing::warn!("no [admin] token configured: the admin API is not opened");
            None
        };
        let (state, Receivers { health, alerts }) = AppState::new(snapshot, ledger, metrics);
        Ok(Server {
            state,
            health_rx: Some(health),
            alerts_rx: Some(alerts),
            listener,
            admin,
        })
    }

    /// Names the file the config came from (and its text, for `GET /admin/config`),
    /// which turns on hot reload: `SIGHUP`, the file watch and `POST /admin/reload`.
    pub fn with_config_path(
        self,
        path: impl Into<std::path::PathBuf>,
        text: Option<String>,
    ) -> Self {
        self.state.reload.set_source(path.into(), text);
        self
    }

    /// Takes the health feed's receiving end: `run` then starts no health task
    /// (a test drains the observations itself).
    pub fn take_health_feed(&mut self) -> Option<tokio::sync::mpsc::Receiver<Observation>> {
        self.health_rx.take()
    }

    /// Takes the alert queue's receiving end: `run` then starts no alert delivery
    /// (a caller starts its own, e.g. with another [`RetryPolicy`]).
    pub fn take_alert_queue(&mut self) -> Option<tokio::sync::mpsc::Receiver<Alert>> {
        self.alerts_rx.take()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The admin listener's address, when it is open.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then stops accepting, gives in-flight
    /// requests the grace period to finish, and flushes the ledger.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = self.state.clone();
        let grace = state.config.load().server.shutdown_grace;
        let app = crate::http::router(state.clone());
        let (tx, rx) = tokio::sync::watch::channel(false);
        crate::reload::triggers::spawn(&state, rx.clone());
        if let Some(alerts) = self.alerts_rx {
            deliver::spawn(
                alerts,
                state.webhooks(),
                state.metrics.clone(),
                rx.clone(),
                RetryPolicy::default(),
            );
        }
        let pipeline = crate::pipeline::spawn(
            &state.config.load().pipeline,
            &state.ledger,
            &state.metrics,
            rx.clone(),
        );
        crate::callbacks::watchdog::spawn(&state.callbacks, rx.clone());
        crate::refunds::watch::spawn(&state.refunds, rx.clone());
        if let Some(feed) = self.health_rx {
            crate::health::task::spawn(state.health_context(), feed, rx.clone());
        }
        let edge = state.config.load().bootstrap.edge;
        if let Some(admin) = self.admin {
            let mut stop = rx.clone();
            let admin_app = crate::http::admin::router(state.clone());
            let metrics = state.metrics.clone();
            tokio::spawn(async move {
                let served = crate::http::serve::serve(
                    admin,
                    admin_app,
                    edge,
                    "admin",
                    metrics,
                    async move {
                        let _ = stop.wait_for(|v| *v).await;
                    },
                );
                if let Err(e) = served.await {
                    tracing::error!(error = %e, "admin listener failed");
                }
            });
        }
        let server = crate::http::serve::serve(
            self.listener,
            app,
            edge,
            "public",
            state.metrics.clone(),
            async move {
                shutdown.await;
                let _ = tx.send(true);
            },
        );
        let mut rx2 = rx.clone();
        let result = tokio::select! {
            r = server => r.map_err(ServeError::from),
            _ = async {
                let _ = rx2.wait_for(|v| *v).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over; dropping in-flight requests");
                Ok(())
            }
        };
        pipeline.join().await;
        if let Err(e) = state.ledger.shutdown().await {
            tracing::error!(error = %e, "ledger flush on shutdown failed");
        }
        tracing::info!("stopped");
        result
    }
}

/// SIGTERM or SIGINT (Ctrl-C): the one shutdown signal.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Default grace when none is configured.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
