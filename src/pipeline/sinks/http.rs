//! `http`: one `POST` per event, body = the event JSON, signed with
//! `X-Switchyard-Signature: <hex HMAC-SHA256 of the body with the sink's secret>`.
//! Any 2xx is delivered; anything else (or a timeout) is a failed attempt.

use std::time::Duration;

use super::{Partial, Sink, SinkError};
use crate::connectors::sign::hmac_sha256_hex;
use crate::ledger::delivery::OutboxRow;
use crate::model::Secret;

pub const SIGNATURE_HEADER: &str = "x-switchyard-signature";

pub struct HttpSink {
    url: String,
    secret: Secret,
    client: reqwest::Client,
}

impl HttpSink {
    pub fn new(url: &str, secret: Secret, timeout: Duration) -> Result<Self, SinkError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(SinkError::new)?;
        Ok(HttpSink {
            url: url.to_string(),
            secret,
            client,
        })
    }

    async fn post(&self, e: &OutboxRow) -> Result<(), SinkError> {
        let sig = hmac_sha256_hex(self.secret.expose().as_bytes(), &[e.body.as_bytes()]);
        let resp = self
            .client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sig)
            .header("x-switchyard-event-id", &e.event_id)
            .body(e.body.clone())
            .send()
            .await
            .map_err(|err| SinkError(format!("POST failed: {}", without_url(err))))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SinkError(format!("answered {}", status.as_u16())))
        }
    }
}

/// reqwest's error text without the URL (it may carry a token in its query).
fn without_url(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url().to_string()
    }
}

#[async_trait::async_trait]
impl Sink for HttpSink {
    async fn deliver(&self, events: &[OutboxRow]) -> Result<(), Partial> {
        for (i, e) in events.iter().enumerate() {
            if let Err(error) = self.post(e).await {
                return Err(Partial {
                    delivered: i,
                    error,
                });
            }
        }
        Ok(())
    }
}
