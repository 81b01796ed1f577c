//! What the edge refuses before a handler runs, each refusal in the error shape:
//!
//! - a URI over [`MAX_URI`] bytes: 414 `uri_too_long`; more than [`MAX_HEADERS`]
//!   headers or [`MAX_HEADER_BYTES`] of them: 431 `headers_too_large` (hyper's own
//!   limits sit above these and answer bare, so ours answer first);
//! - a caller's `X-Request-Id` that is not 1–64 characters of `[A-Za-z0-9._:-]`
//!   is replaced by a fresh id (it is attached to every log line of the request);
//! - [`Shed`]: initiations over `max_inflight_payments` get 503 `overloaded` with
//!   `Retry-After` before their body is read, so before any intent is written;
//! - [`CallbackGate`]: verified callbacks over a gateway's rate get 429
//!   `rate_limited` (gateways redeliver); refused ones log through a throttle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use crate::metrics::Metrics;
use crate::model::Throttle;

pub const MAX_URI: usize = 8 * 1024;
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Longest caller-supplied request id kept.
pub const MAX_REQUEST_ID: usize = 64;

/// Middleware (outermost): head limits and the request id check.
pub async fn head_limits(State(metrics): State<Metrics>, mut req: Request, next: Next) -> Response {
    let refused = if req.uri().to_string().len() > MAX_URI {
        Some(ApiError::UriTooLong { limit: MAX_URI })
    } else {
        let h = req.headers();
        let bytes: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
        (h.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES).then_some(ApiError::HeadersTooLarge {
            limit: MAX_HEADER_BYTES,
        })
    };
    if let Some(e) = refused {
        metrics.http_errors.with_label_values(&[e.code()]).inc();
        return e.into_response();
    }
    let ok = req
        .headers()
        .get("x-request-id")
        .map(|v| valid_request_id(v.as_bytes()));
    if ok == Some(false) {
        // Dropped: SetRequestIdLayer (inside this one) makes a fresh one.
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}

pub fn valid_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// `method_not_allowed_fallback`: 405 in the error shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The initiation concurrency limit. Why a semaphore tried without waiting rather
/// than a queue: a queued initiation adds its wait to every accepted request's
/// latency without adding throughput (the gateways and the ledger's fsync are the
/// bottleneck), and a caller told "503, retry after 1 s" before anything was
/// written has nothing to reconcile. tower's `load_shed` over
/// `concurrency_limit` does the same; a semaphore keeps the limit on the one route
/// that moves money, not on probes, reads or callbacks.
#[derive(Debug)]
pub struct Shed {
    slots: Arc<Semaphore>,
}

impl Shed {
    pub fn new(max_inflight: usize) -> Self {
        Shed {
            slots: Arc::new(Semaphore::new(max_inflight.max(1))),
        }
    }

    /// A slot for one initiation, or 503 `overloaded`.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| ApiError::Overloaded {
                retry_after_secs: 1,
            })
    }
}

/// Per-gateway token buckets for verified callbacks, per-gateway throttles for
/// the warnings about refused ones (keys are configured gateway names only), and
/// the permits for costly signature checks.
#[derive(Debug)]
pub struct CallbackGate {
    gateways: Mutex<HashMap<Arc<str>, GateState>>,
    /// Costly checks ([`Connector::verify_is_costly`](crate::connectors::Connector::verify_is_costly))
    /// at once, process-wide: one fewer than the CPUs (at least one), so a flood of
    /// forged bodies can never take every core from the payments.
    costly: Arc<Semaphore>,
}

/// How long a costly check waits for a permit before the callback is answered 429
/// (the gateway redelivers): room for ~200 checks queued behind one permit in a
/// release build (1.2 ms each), ~5 in a debug one (~46 ms each), so two authentic
/// webhooks at once are both taken in either.
pub const COSTLY_WAIT: Duration = Duration::from_millis(250);

impl Default for CallbackGate {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        CallbackGate::with_costly_permits(cpus.saturating_sub(1).max(1))
    }
}

#[derive(Debug)]
struct GateState {
    tokens: f64,
    at: Instant,
    refused_log: Arc<Throttle>,
}

impl CallbackGate {
    pub fn with_costly_permits(permits: usize) -> Self {
        CallbackGate {
            gateways: Mutex::default(),
            costly: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// A permit for one costly signature check, waiting at most [`COSTLY_WAIT`];
    /// `None`: every permit is busy (answer 429).
    pub async fn costly_permit(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(COSTLY_WAIT, Arc::clone(&self.costly).acquire_owned())
            .await
            .ok()?
            .ok()
    }

    /// Takes one token from `gateway`'s bucket (`rate` per second, a burst of one
    /// second's worth); `false` when it is empty. `rate == 0`: no limit.
    pub fn take(&self, gateway: &Arc<str>, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let now = Instant::now();
        let mut map = self.gateways.lock().unwrap_or_else(PoisonError::into_inner);
        let g = map
            .entry(Arc::clone(gateway))
            .or_insert_with(|| GateState::new(now, rate));
        let cap = f64::from(rate);
        let elapsed = now.saturating_duration_since(g.at).as_secs_f64();
        g.tokens = (g.tokens + elapsed * cap).min(cap);
        g.at = now;
        if g.tokens >= 1.0 {
            g.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The throttle for warnings about `gateway`'s refused callbacks.
    pub fn refused_log(&self, gateway: &Arc<str>) -> Arc<Throttle> {
        let mut map = self.gateways.lock().unwrap_or_else(PoisonError::into_inner);
        let g = map
            .entry(Arc::clone(gateway))
            .or_insert_with(|| GateState::new(Instant::now(), 0));
        Arc::clone(&g.refused_log)
    }
}

impl GateState {
    fn new(now: Instant, rate: u32) -> Self {
        GateState {
            tokens: f64::from(rate),
            at: now,
            refused_log: Arc::new(Throttle::new(Duration::from_secs(10))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(valid_request_id(b"req-1.a:b_c"));
        assert!(!valid_request_id(b""));
        assert!(!valid_request_id(&[b'a'; 65]));
        assert!(!valid_request_id(b"a b"));
        assert!(!valid_request_id("é".as_bytes()));
    }

    #[test]
    fn shed_admits_up_to_the_limit_then_refuses_until_one_ends() {
        let shed = Shed::new(2);
        let a = shed.admit().unwrap();
        let _b = shed.admit().unwrap();
        assert_eq!(shed.admit().unwrap_err().code(), "overloaded");
        drop(a);
        let _c = shed.admit().unwrap();
    }

    #[test]
    fn bucket_allows_a_burst_of_one_second_then_refuses() {
        let gate = CallbackGate::default();
        let g: Arc<str> = Arc::from("a");
        let allowed = (0..200).filter(|_| gate.take(&g, 100)).count();
        assert!((100..=102).contains(&allowed), "{allowed}");
        assert!(
            gate.take(&Arc::from("other"), 100),
            "buckets are per gateway"
        );
        assert!((0..1000).all(|_| gate.take(&g, 0)), "0 = no limit");
    }

    #[tokio::test(start_paused = true)]
    async fn costly_checks_wait_briefly_for_a_permit_then_give_up() {
        let gate = CallbackGate::with_costly_permits(1);
        let held = gate.costly_permit().await.expect("a free permit");
        let t = tokio::time::Instant::now();
        assert!(gate.costly_permit().await.is_none(), "both at once");
        assert_eq!(t.elapsed(), COSTLY_WAIT);
        drop(held);
        assert!(gate.costly_permit().await.is_some(), "free again");
    }
}
