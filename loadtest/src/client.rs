//! One keep-alive HTTP/1.1 connection per worker (hyper's client connection over a
//! hyper-util Tokio adapter) and the classification of every outcome.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::payload::Payload;

/// A parsed, loopback-only target URL.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub authority: String,
    pub path: String,
}

impl Target {
    /// Accepts `http://HOST:PORT/path` where HOST resolves to a loopback address only.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("bad url {url:?}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported: {url}");
        }
        let auth = uri.authority().context("url has no host")?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        let port = auth.port_u16().unwrap_or(80);
        let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .with_context(|| format!("cannot resolve {host}"))?
            .collect();
        let Some(addr) = addrs.iter().copied().find(|a| a.ip().is_loopback()) else {
            bail!(
                "refusing non-loopback target {url}: load is only generated against 127.0.0.1/::1"
            );
        };
        if addrs.iter().any(|a| !a.ip().is_loopback()) {
            bail!("refusing {url}: {host} also resolves to non-loopback addresses");
        }
        let path = uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        Ok(Target {
            addr,
            authority: auth.as_str().to_string(),
            path,
        })
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A complete response with this status.
    Status(u16),
    /// The TCP connect or the HTTP handshake failed (nothing sent).
    Connect,
    /// No complete answer within the request timeout.
    Timeout,
    /// The connection broke while sending or receiving.
    Io,
}

/// A worker's connection: opened lazily, dropped after any failure.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    connect_timeout: Duration,
    /// The body of the last complete answer (empty after a failure).
    last_body: Bytes,
}

impl Conn {
    pub fn new(target: Target, connect_timeout: Duration) -> Self {
        Conn {
            target,
            sender: None,
            connect_timeout,
            last_body: Bytes::new(),
        }
    }

    async fn connect(&self) -> Option<SendRequest<Full<Bytes>>> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(self.target.addr))
                .await
                .ok()?
                .ok()?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors surface on send.
            let _ = conn.await;
        });
        Some(sender)
    }

    /// The body of the last complete answer ([`Conn::send`] returned a status), else empty.
    pub fn last_body(&self) -> &Bytes {
        &self.last_body
    }

    /// Sends one payment and reads the whole answer, within `timeout` (connect included).
    pub async fn send(&mut self, p: Payload, timeout: Duration) -> Outcome {
        self.last_body = Bytes::new();
        match tokio::time::timeout(timeout, self.send_inner(p)).await {
            Ok(o) => {
                if !matches!(o, Outcome::Status(_)) {
                    self.sender = None;
                }
                o
            }
            Err(_) => {
                // The connection may still carry the late answer: never reuse it.
                self.sender = None;
                Outcome::Timeout
            }
        }
    }

    async fn send_inner(&mut self, p: Payload) -> Outcome {
        if let Some(s) = self.sender.as_mut() {
            // An idle connection the server closed: reconnect instead of failing.
            if s.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            match self.connect().await {
                Some(s) => self.sender = Some(s),
                None => return Outcome::Connect,
            }
        }
        let Some(sender) = self.sender.as_mut() else {
            return Outcome::Connect;
        };
        let mut req = Request::post(self.target.path.as_str())
            .header(hyper::header::HOST, self.target.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if !p.idempotency_key.is_empty() {
            req = req.header("idempotency-key", p.idempotency_key);
        }
        for (k, v) in p.headers {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(p.body));
        let Ok(req) = req else {
            return Outcome::Io;
        };
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(_) => return Outcome::Io,
        };
        let status = resp.status().as_u16();
        match resp.into_body().collect().await {
            Ok(b) => {
                self.last_body = b.to_bytes();
                Outcome::Status(status)
            }
            Err(_) => Outcome::Io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        let t = Target::parse("http://127.0.0.1:8080/v1/payments").unwrap();
        assert_eq!(t.path, "/v1/payments");
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert!(Target::parse("http://10.1.2.3:80/").is_err());
        assert!(Target::parse("https://127.0.0.1/").is_err());
    }
}
