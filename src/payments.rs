//! The initiation flow: plan → idempotency + write-ahead intent → gateway attempts
//! under the failover rules → completion in the ledger → normalized response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::config::{Snapshot, StickyKey};
use crate::connectors::{Created, InitiateRequest, Outcome};
use crate::health::Observation;
use crate::http::ApiError;
use crate::ledger::{AttemptRecord, Begin, Completion, Intent, StoredResponse};
use crate::model::{PaymentRequest, PaymentStatus, Reason, new_payment_id};
use crate::routing::{plan, sticky_hash};
use crate::state::AppState;

/// Default time a non-final payment may stay pending before the watchdog checks it.
pub const DEFAULT_PENDING_TTL: Duration = Duration::from_secs(7 * 60);

/// An answer for the caller: status code, JSON body, whether it is a replay.
#[derive(Debug)]
pub struct Answer {
    pub http_status: u16,
    pub body: Vec<u8>,
    pub replayed: bool,
}

/// SHA-256 over a canonical form of the body (object keys sorted), so the same
/// request with its keys in another order is still the same request.
pub fn request_hash(body: &Value) -> String {
    fn canon(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                    out.push(b':');
                    canon(&m[k], out);
                }
                out.push(b'}');
            }
            Value::Array(a) => {
                out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    canon(x, out);
                }
                out.push(b']');
            }
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
    }
    let mut buf = Vec::with_capacity(256);
    canon(body, &mut buf);
    hex::encode(Sha256::digest(&buf))
}

/// Runs one `POST /v1/payments`.
pub async fn initiate(
    state: &AppState,
    idempotency_key: &str,
    body: &Value,
    req: PaymentRequest,
) -> Result<Answer, ApiError> {
    let snap = state.config.load_full();
    state.budget.deposit(snap.server.retry_budget_percent);
    let key = match snap.server.sticky_key {
        StickyKey::OrderId => &req.order_id,
        StickyKey::IdempotencyKey => idempotency_key,
    };
    let admission = state.admission.load();
    let h2 = crate::health::admission_hash(key);
    let avail = |r: usize, g: usize| admission.admits(snap.generation, r, g, h2);
    let plan = match plan(&snap.routes, &req, sticky_hash(key), avail) {
        Ok(Some(p)) => p,
        Ok(None) => return Err(ApiError::NoRoute),
        Err(r) => {
            return Err(ApiError::NoGatewayAvailable {
                route: snap.routes[r].name.clone(),
            });
        }
    };
    drop(admission);
    let route = snap.routes[plan.route].name.clone();
    let now = OffsetDateTime::now_utc();
    let payment_id = new_payment_id();
    let intent = Intent {
        payment_id: payment_id.clone(),
        order_id: req.order_id.clone(),
        idempotency_key: idempotency_key.to_string(),
        request_hash: request_hash(body),
        amount: req.amount,
        currency: req.currency,
        method: req.method,
        route: route.clone(),
        gateway: snap.gateways[plan.gateways[0]].spec.name.clone(),
        created_at: now,
        ttl_deadline: now + DEFAULT_PENDING_TTL,
    };
    match state
        .metrics
        .time_ledger_write("begin", state.ledger.begin(intent))
        .await
    {
        Ok(Begin::New) => {}
        Ok(Begin::Replay(stored)) => {
            return Ok(Answer {
                http_status: stored.http_status,
                body: stored.body,
                replayed: true,
            });
        }
        Ok(Begin::Conflict) => return Err(ApiError::IdempotencyConflict),
        Ok(Begin::InProgress) => return Err(ApiError::RequestInProgress),
        Err(e) => {
            tracing::error!(error = %e, "ledger could not record the intent");
            return Err(ApiError::Unavailable("ledger is not writable".into()));
        }
    }

    let run = Attempts {
        state,
        snap: &snap,
        req: &req,
        payment_id: &payment_id,
        key: idempotency_key,
        route: &route,
    };
    let result = run.go(&plan.gateways).await;
    let (http_status, body, completion) = run.answer(result);
    let stored = StoredResponse {
        http_status,
        body: body.clone(),
    };
    let completion = Completion {
        response: stored,
        ..completion
    };
    match state
        .metrics
        .time_ledger_write("complete", state.ledger.complete(completion))
        .await
    {
        // Early callbacks (orphans) linked into the outbox: wake the forwarder.
        Ok(linked) if linked > 0 => state.outbox_notify.notify_one(),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, payment_id = %payment_id, "ledger could not record the completion")
        }
    }
    Ok(Answer {
        http_status,
        body,
        replayed: false,
    })
}

/// What the attempt loop ended with.
struct Finished {
    gateway: usize,
    outcome: Outcome,
    attempts: Vec<AttemptRecord>,
}

struct Attempts<'a> {
    state: &'a AppState,
    snap: &'a Arc<Snapshot>,
    req: &'a PaymentRequest,
    payment_id: &'a str,
    key: &'a str,
    route: &'a str,
}

impl Attempts<'_> {
    async fn go(&self, gateways: &[usize]) -> Finished {
        let max = self.snap.server.max_attempts.max(1) as usize;
        let deadline = Instant::now() + self.snap.server.request_timeout;
        let callback_url = self
            .snap
            .server
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'));
        let mut attempts = Vec::new();
        let mut i = 0; // index into gateways
        let mut gw = gateways[0];
        loop {
            let spec = &self.snap.gateways[gw].spec;
            let cb = callback_url.map(|u| format!("{u}/v1/callbacks/{}", spec.name));
            let ireq = InitiateRequest {
                payment_id: self.payment_id,
                idempotency_key: self.key,
                request: self.req,
                callback_url: cb.as_deref(),
            };
            let t0 = Instant::now();
            let remaining = deadline.saturating_duration_since(t0);
            let outcome = match tokio::time::timeout(
                remaining,
                self.snap.gateways[gw].connector.initiate(ireq),
            )
            .await
            {
                Ok(o) => o,
                Err(_) => Outcome::SentUnknown {
                    detail: "request deadline passed".into(),
                },
            };
            let elapsed = t0.elapsed();
            let m = &self.state.metrics;
            m.upstream_duration
                .with_label_values(&[&spec.name])
                .observe(elapsed.as_secs_f64());
            m.upstream_attempts
                .with_label_values(&[&spec.name, outcome.label()])
                .inc();
            log_outcome(&spec.name, self.payment_id, &outcome);
            self.state.health.send(Observation::Attempt {
                gateway: Arc::clone(&self.snap.gateways[gw].name),
                route: Arc::from(self.route),
                method: self.req.method,
                class: (&outcome).into(),
                latency: elapsed,
            });
            attempts.push(AttemptRecord {
                gateway: spec.name.clone(),
                outcome: outcome.label().to_string(),
                latency_ms: elapsed.as_millis() as u64,
            });
            if attempts.len() >= max {
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                };
            }
            // The next gateway, or the same one for an idempotent gateway's ambiguous answer.
            let next = if outcome.may_fail_over() {
                gateways.get(i + 1).copied().map(|g| (g, i + 1))
            } else if matches!(outcome, Outcome::SentUnknown { .. }) && spec.idempotent {
                Some((gw, i))
            } else {
                None
            };
            let Some((next_gw, next_i)) = next else {
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                };
            };
            if !self.state.budget.try_withdraw() {
                m.retry_budget_exhausted
                    .with_label_values(&[self.route])
                    .inc();
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                };
            }
            let seq = attempts.len() as u32;
            let next_name = &self.snap.gateways[next_gw].spec.name;
            if let Err(e) = self
                .state
                .ledger
                .record_attempt_start(self.payment_id, seq, next_name)
                .await
            {
                tracing::error!(error = %e, "ledger could not record the attempt; not failing over");
                return Finished {
                    gateway: gw,
                    outcome,
                    attempts,
                };
            }
            m.failovers
                .with_label_values(&[&spec.name, next_name, outcome.label()])
                .inc();
            gw = next_gw;
            i = next_i;
        }
    }

    /// The caller's answer and the ledger completion for how the attempts ended.
    fn answer(&self, f: Finished) -> (u16, Vec<u8>, Completion) {
        let gateway = self.snap.gateways[f.gateway].spec.name.clone();
        let (status, reason, raw_status, gpid, result): (_, _, _, _, Result<Value, ApiError>) =
            match &f.outcome {
                Outcome::Created(Created {
                    gateway_payment_id,
                    status,
                    next_action,
                    raw_status,
                }) => {
                    let body = json!({
                        "payment_id": self.payment_id,
                        "order_id": self.req.order_id,
                        "gateway": gateway,
                        "gateway_payment_id": gateway_payment_id,
                        "status": status,
                        "next_action": next_action,
                        "amount": self.req.amount,
                        "currency": self.req.currency,
                        "method": self.req.method,
                        "route": self.route,
                        "attempts": f.attempts,
                    });
                    (
                        *status,
                        None,
                        Some(raw_status.clone()),
                        gateway_payment_id.clone(),
                        Ok(body),
                    )
                }
                Outcome::Declined { code, reason, .. } => (
                    PaymentStatus::Failed,
                    Some(*reason),
                    Some(code.clone()),
                    None,
                    Err(ApiError::GatewayDeclined),
                ),
                // Nothing reached any gateway: the payment cannot exist anywhere.
                Outcome::NotSent { .. } => (
                    PaymentStatus::Failed,
                    Some(Reason::GatewayError),
                    None,
                    None,
                    Err(ApiError::NoGatewayAvailable {
                        route: self.route.to_string(),
                    }),
                ),
                Outcome::Error5xx {
                    not_processed: true,
                    http_status,
                    ..
                } => (
                    PaymentStatus::Failed,
                    Some(Reason::GatewayError),
                    Some(http_status.to_string()),
                    None,
                    Err(ApiError::GatewayError),
                ),
                // A 5xx after the gateway read the request: it may exist; the watchdog resolves it.
                Outcome::Error5xx { http_status, .. } => (
                    PaymentStatus::Unknown,
                    None,
                    Some(http_status.to_string()),
                    None,
                    Err(ApiError::GatewayError),
                ),
                Outcome::SentUnknown { .. } => (
                    PaymentStatus::Unknown,
                    None,
                    None,
                    None,
                    Err(ApiError::GatewayTimeout),
                ),
            };
        let (http_status, body) = match result {
            Ok(b) => (201, b),
            Err(e) => {
                self.state
                    .metrics
                    .http_errors
                    .with_label_values(&[e.code()])
                    .inc();
                let mut b = e.body();
                b["payment_id"] = json!(self.payment_id);
                b["status"] = json!(status);
                b["gateway"] = json!(gateway);
                b["route"] = json!(self.route);
                b["attempts"] = json!(f.attempts);
                if let Some(r) = reason {
                    b["reason"] = json!(r);
                }
                (e.status().as_u16(), b)
            }
        };
        self.state
            .metrics
            .requests
            .with_label_values(&[self.route, &gateway, f.outcome.label()])
            .inc();
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let completion = Completion {
            payment_id: self.payment_id.to_string(),
            idempotency_key: self.key.to_string(),
            gateway,
            gateway_payment_id: gpid,
            status,
            reason,
            raw_status,
            attempts: f.attempts,
            response: StoredResponse {
                http_status,
                body: Vec::new(),
            },
            at: OffsetDateTime::now_utc(),
        };
        (http_status, bytes, completion)
    }
}

/// Gateway error text goes to the log (never to the caller).
fn log_outcome(gateway: &str, payment_id: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Created(_) => tracing::debug!(gateway, payment_id, "gateway created the payment"),
        Outcome::Declined { code, message, .. } => {
            tracing::info!(gateway, payment_id, code = %code, message = %message, "gateway declined")
        }
        Outcome::NotSent { detail } => {
            tracing::warn!(gateway, payment_id, detail = %detail, "request not sent")
        }
        Outcome::Error5xx {
            http_status,
            detail,
            ..
        } => {
            tracing::warn!(gateway, payment_id, http_status, detail = %detail, "gateway 5xx")
        }
        Outcome::SentUnknown { detail } => {
            tracing::warn!(gateway, payment_id, detail = %detail, "gateway did not answer; outcome unknown")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_but_not_values() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":{"y":2,"x":[1,2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":{"x":[1,2],"y":2},"a":1}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a":2,"b":{"y":2,"x":[1,2]}}"#).unwrap();
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(request_hash(&a), request_hash(&c));
    }
}
