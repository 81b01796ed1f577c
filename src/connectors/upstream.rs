//! The HTTP client every connector uses, and the transport half of outcome
//! classification: did the request reach the gateway or not?
//!
//! reqwest reports a failure to connect (refused, DNS, TLS handshake, connect
//! timeout) as `is_connect()`: nothing was written, so the payment cannot exist at
//! the gateway ([`UpstreamError::NotSent`]). Any other failure (a timeout after the
//! connection was up, a reset mid-response, a truncated body) happened after the
//! request may have been written: [`UpstreamError::SentUnknown`].
//!
//! A gateway's answer is read in chunks and refused past [`MAX_RESPONSE_BYTES`]
//! (no gateway answer is near it; a 200 MiB one was buffered whole before), and the
//! whole exchange, body included, is bounded by the gateway's `timeout`. An answer
//! over the cap came after the request was sent: `SentUnknown`.
//!
//! With the `fuzzing` feature (the `fuzz/` targets only), an upstream can be
//! [`Upstream::canned`]: `send` hands the built request to a function that answers
//! it, so every dialect's real request → answer → outcome code runs without a
//! socket.

use std::time::Duration;

use bytes::Bytes;

use crate::connectors::GatewaySpec;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    #[error("request not sent: {0}")]
    NotSent(String),
    #[error("request sent, no answer: {0}")]
    SentUnknown(String),
    #[error("gateway answered HTTP {status}")]
    Status { status: u16, body: String },
    #[error("gateway answer could not be read: {0}")]
    BadResponse(String),
    #[error("cannot build HTTP client: {0}")]
    Build(String),
    /// The connector has no such API (e.g. a callback-only gateway has no status query).
    #[error("not supported by this gateway: {0}")]
    NotSupported(String),
}

impl UpstreamError {
    /// A status query's documented "no such payment" answer, as every connector
    /// reports it (HTTP 404 whatever the gateway's own shape was).
    pub fn not_found(detail: impl Into<String>) -> Self {
        UpstreamError::Status {
            status: 404,
            body: format!("no such payment at the gateway: {}", detail.into()),
        }
    }

    /// Whether this is the gateway saying it has no such payment.
    pub fn is_not_found(&self) -> bool {
        matches!(self, UpstreamError::Status { status: 404, .. })
    }
}

/// A gateway's HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> Result<serde_json::Value, UpstreamError> {
        serde_json::from_slice(&self.body).map_err(|e| UpstreamError::BadResponse(e.to_string()))
    }
}

/// The largest gateway answer read (1 MiB).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Answers a request in place of the network (`fuzzing` feature only).
#[cfg(feature = "fuzzing")]
pub type Responder =
    std::sync::Arc<dyn Fn(&reqwest::Request) -> Result<Response, UpstreamError> + Send + Sync>;

/// One gateway's connection pool and timeouts.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base_url: String,
    #[cfg(feature = "fuzzing")]
    canned: Option<Responder>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    pub fn new(spec: &GatewaySpec) -> Result<Self, UpstreamError> {
        let client = reqwest::Client::builder()
            .connect_timeout(spec.connect_timeout)
            .timeout(spec.timeout)
            .pool_max_idle_per_host(spec.pool_size)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| UpstreamError::Build(e.to_string()))?;
        Ok(Upstream {
            client,
            base_url: spec.base_url.trim_end_matches('/').to_string(),
            #[cfg(feature = "fuzzing")]
            canned: None,
        })
    }

    /// An upstream whose every request is answered by `answer`, never sent.
    #[cfg(feature = "fuzzing")]
    pub fn canned(spec: &GatewaySpec, answer: Responder) -> Result<Self, UpstreamError> {
        Ok(Upstream {
            canned: Some(answer),
            ..Upstream::new(spec)?
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request and reads the body (at most [`MAX_RESPONSE_BYTES`]),
    /// classifying transport failures.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Response, UpstreamError> {
        #[cfg(feature = "fuzzing")]
        if let Some(answer) = &self.canned {
            let req = req.build().map_err(classify)?;
            return answer(&req).and_then(|r| {
                if r.body.len() > MAX_RESPONSE_BYTES {
                    Err(UpstreamError::SentUnknown("answer over the cap".into()))
                } else {
                    Ok(r)
                }
            });
        }
        let mut resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let too_large = || {
            UpstreamError::SentUnknown(format!(
                "HTTP {status} answer larger than {MAX_RESPONSE_BYTES} bytes; not read"
            ))
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            body: body.freeze(),
        })
    }
}

/// NotSent only when the connection itself failed; anything later is ambiguous.
fn classify(e: reqwest::Error) -> UpstreamError {
    if e.is_connect() || e.is_builder() {
        UpstreamError::NotSent(e.to_string())
    } else {
        UpstreamError::SentUnknown(e.to_string())
    }
}

/// Statuses a gateway uses to say it did not process the request (safe to fail over).
pub fn not_processed(status: u16) -> bool {
    matches!(status, 429 | 503)
}
