//! One task per sink: read the outbox after the sink's cursor, settle the batch,
//! repeat; when caught up, wait for a wake-up from the ledger writer's side
//! (`outbox_notify`, fanned out to every sink) or the poll interval.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::forwarder::{Forwarder, pause};
use crate::ledger::delivery;

pub(crate) async fn run(
    mut fwd: Forwarder,
    batch: usize,
    poll: Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let sink = fwd.sink.name.clone();
    while !*stop.borrow() {
        let name = sink.clone();
        let rows = fwd
            .ledger
            .query(move |c| {
                let after = delivery::cursor(c, &name)?;
                delivery::rows_after(c, after, batch)
            })
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(%sink, error = %e, "reading the outbox failed");
                if !pause(poll, &mut stop).await {
                    break;
                }
                continue;
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.wait_for(|v| *v) => break,
            }
            continue;
        }
        match fwd.settle(&rows, &mut stop).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                tracing::error!(%sink, error = %e, "recording delivery progress failed");
                if !pause(poll, &mut stop).await {
                    break;
                }
            }
        }
    }
    tracing::debug!(%sink, "sink worker stopped");
}
