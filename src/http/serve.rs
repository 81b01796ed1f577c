//! The listener loop: accept, limit, time out, serve (hyper-util's connection
//! builder; `axum::serve` exposes none of these knobs).
//!
//! - **Connection cap** (`[server] max_connections`, and never more than the
//!   process's file-descriptor limit minus a reserve for the ledger, sinks and
//!   gateway pools): a connection over the cap is answered at once with a 503
//!   `overloaded` and closed, never queued.
//! - **Accept errors** (`EMFILE`, `ENFILE`, `ENOBUFS`...) back off exponentially
//!   from 5 ms to 1 s, so a full fd table costs a few wake-ups a second, not a
//!   spinning core; the warning is throttled and carries a count.
//! - **Header-read timeout** (hyper's, per request head): a slowloris is closed.
//! - **hyper's own 400/414/431** (a head it cannot parse or buffer) are rewritten
//!   into the error shape ([`super::shaped`]).
//! - **Idle timeout**: a connection with no request in flight for `idle_timeout`
//!   (a silent one from its accept on, a keep-alive one after its last answer) is
//!   shut down gracefully.
//! - **Shutdown**: stop accepting, let every connection finish its request in flight.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::config::Edge;
use crate::metrics::Metrics;
use crate::model::Throttle;

/// File descriptors kept free for everything but client connections.
const FD_RESERVE: usize = 256;
/// Largest request head hyper buffers; `limits` answers 414/431 well below it.
const MAX_BUF: usize = 256 * 1024;

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 104\r\n\r\n{\"error\":{\"code\":\"overloaded\",\"message\":\"too many open connections; nothing was done, retry after 1 s\"}}";

/// The connection cap actually applied: the configured one, lowered to fit the
/// soft `RLIMIT_NOFILE` (read from `/proc/self/limits` where there is one).
pub fn effective_max_connections(configured: usize) -> usize {
    match nofile_limit() {
        Some(fds) if fds <= FD_RESERVE * 2 => configured.min((fds / 2).max(1)),
        Some(fds) => configured.min(fds - FD_RESERVE),
        None => configured,
    }
}

fn nofile_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `app` on `listener` under `edge`'s limits until `shutdown` resolves,
/// then waits for the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    edge: Edge,
    name: &'static str,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = effective_max_connections(edge.max_connections);
    if max < edge.max_connections {
        tracing::warn!(
            listener = name,
            configured = edge.max_connections,
            applied = max,
            "max_connections lowered to fit the file-descriptor limit"
        );
    }
    let slots = Arc::new(Semaphore::new(max));
    // Refusals write a few bytes and close; this many at once, the rest are closed.
    let refusals = Arc::new(Semaphore::new(64));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(edge.header_read_timeout)
        .max_buf_size(MAX_BUF)
        .max_headers(super::limits::MAX_HEADERS * 2);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_BUF as u32)
        .max_concurrent_streams(64);
    let builder = Arc::new(builder);
    let (stop_tx, stop_rx) = watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let accept_throttle = Throttle::new(Duration::from_secs(10));
    let refuse_throttle = Throttle::new(Duration::from_secs(10));
    let mut backoff = Duration::ZERO;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let (stream, _peer) = match accepted {
            Ok(s) => {
                backoff = Duration::ZERO;
                s
            }
            Err(e) if per_connection(&e) => continue,
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                metrics
                    .connections
                    .with_label_values(&[name, "accept_error"])
                    .inc();
                if let Some(n) = accept_throttle.allow() {
                    tracing::warn!(listener = name, error = %e, suppressed = n, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics
                .connections
                .with_label_values(&[name, "refused"])
                .inc();
            if let Some(n) = refuse_throttle.allow() {
                tracing::warn!(
                    listener = name,
                    max,
                    suppressed = n,
                    "connection refused: at max_connections"
                );
            }
            if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                tokio::spawn(refuse(stream, permit));
            }
            continue;
        };
        metrics
            .connections
            .with_label_values(&[name, "accepted"])
            .inc();
        let gauge = metrics.connections_open.with_label_values(&[name]);
        gauge.inc();
        open.fetch_add(1, Ordering::Relaxed);
        let (app, builder, stop, open) = (
            app.clone(),
            Arc::clone(&builder),
            stop_rx.clone(),
            Arc::clone(&open),
        );
        let idle = edge.idle_timeout;
        let errors = metrics.http_errors.clone();
        tokio::spawn(async move {
            connection(stream, app, &builder, idle, stop, errors).await;
            open.fetch_sub(1, Ordering::Relaxed);
            gauge.dec();
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it has finished.
    let _all = slots.acquire_many(max as u32).await;
    Ok(())
}

/// Errors about one connection that was already gone: accept the next.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

async fn refuse(mut stream: TcpStream, _permit: tokio::sync::OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        let _ = stream.write_all(REFUSAL).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// In-flight requests and the last time one ended, for the idle timeout.
struct Activity {
    inflight: AtomicUsize,
    /// Milliseconds since `start` of the last request's end (or the accept).
    last_ms: AtomicU64,
    start: Instant,
}

impl Activity {
    fn idle_for(&self) -> Option<Duration> {
        if self.inflight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
        Some(self.start.elapsed().saturating_sub(last))
    }
}

/// RAII: one request in flight on a connection.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: &Arc<Activity>) -> Self {
        a.inflight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(a))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.last_ms
            .store(a.start.elapsed().as_millis() as u64, Ordering::Release);
        a.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn connection(
    stream: TcpStream,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
    errors: prometheus::IntCounterVec,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity {
        inflight: AtomicUsize::new(0),
        last_ms: AtomicU64::new(0),
        start: Instant::now(),
    });
    let act = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let guard = InFlight::new(&act);
        let app = app.clone();
        async move {
            let resp = app.oneshot(req.map(axum::body::Body::new)).await;
            drop(guard);
            resp
        }
    });
    let io = TokioIo::new(super::shaped::Shaped::new(stream, Some(errors)));
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    let mut wake = tokio::time::Instant::now() + idle;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|v| *v), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(wake), if !closing => {
                match activity.idle_for() {
                    Some(d) if d >= idle => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Some(d) => wake = tokio::time::Instant::now() + (idle - d),
                    None => wake = tokio::time::Instant::now() + idle,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_one_well_formed_response() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), len);
        let v: serde_json::Value = serde_json::from_str(body.trim_end()).unwrap();
        assert_eq!(v["error"]["code"], "overloaded");
    }

    #[test]
    fn the_cap_fits_the_fd_limit() {
        assert!(effective_max_connections(usize::MAX) < usize::MAX || nofile_limit().is_none());
        assert_eq!(effective_max_connections(1), 1);
    }
}
