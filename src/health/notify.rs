//! Making events known: a tracing event, the `rollbacks_total` metric, an alert
//! (text plus structured evidence) and, for transitions, a row in the ledger's
//! audit table. Never blocks the caller: the
//! audit write runs on its own task.

use time::OffsetDateTime;

use super::controller::Event;
use super::task::HealthContext;
use crate::alerts::{Alert, Severity};
use crate::ledger::audit::{AuditRow, insert};

/// Emits every event; returns the audit writes' join handle (tests await it).
pub fn emit(state: &HealthContext, events: Vec<Event>) -> Option<tokio::task::JoinHandle<()>> {
    if events.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for e in events {
        log(&e);
        let m = &state.metrics;
        // `gateway_state` is set by `task::publish` for every gateway.
        if let Some(g) = &e.gateway
            && e.kind == "rollback"
        {
            m.rollbacks
                .with_label_values(&[g, e.trigger.as_str()])
                .inc();
        }
        let at = OffsetDateTime::now_utc();
        if e.transition {
            rows.push(AuditRow {
                at: (at.unix_timestamp_nanos() / 1_000_000) as i64,
                gateway: e.gateway.clone().unwrap_or_default(),
                from_state: e.from.to_string(),
                to_state: e.to.to_string(),
                trigger: e.trigger.as_str().to_string(),
                actor: e.actor.clone(),
                reason: e.reason.clone(),
                evidence: e.evidence.to_string(),
            });
        }
        state.alerts.send(Alert {
            kind: e.kind,
            severity: e.severity,
            gateway: e.gateway,
            route: e.route,
            text: e.text,
            evidence: e.evidence,
            at,
        });
    }
    if rows.is_empty() {
        return None;
    }
    let ledger = state.ledger.clone();
    Some(tokio::spawn(async move {
        let n = rows.len();
        let res = ledger
            .write(move |c| {
                for r in &rows {
                    insert(c, r)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = res {
            tracing::error!(error = %e, rows = n, "audit rows not written");
        }
    }))
}

fn log(e: &Event) {
    let gateway = e.gateway.as_deref().unwrap_or("");
    let route = e.route.as_deref().unwrap_or("");
    let evidence = e.evidence.to_string();
    match e.severity {
        Severity::Critical | Severity::Warning => tracing::warn!(
            target: "switchyard::health",
            kind = e.kind, gateway, route, from = e.from, to = e.to,
            trigger = e.trigger.as_str(), actor = %e.actor, evidence = %evidence,
            "{}", e.text
        ),
        Severity::Info => tracing::info!(
            target: "switchyard::health",
            kind = e.kind, gateway, route, from = e.from, to = e.to,
            trigger = e.trigger.as_str(), actor = %e.actor, evidence = %evidence,
            "{}", e.text
        ),
    }
}
