//! `nats`: JetStream publish to `subject` with `Nats-Msg-Id` = `event_id`, so the
//! server drops a re-sent event inside the stream's duplicate window; each publish
//! waits for its PubAck. The stream (capturing `subject`) is created if missing when
//! the sink connects. Uses `async-nats`, the NATS maintainers' client.

use async_nats::jetstream;
use tokio::sync::Mutex;

use super::{Partial, Sink};
use crate::ledger::delivery::OutboxRow;

pub struct NatsSink {
    url: String,
    subject: String,
    stream: String,
    js: Mutex<Option<jetstream::Context>>,
}

impl NatsSink {
    pub fn new(url: &str, subject: &str, stream: &str) -> Self {
        NatsSink {
            url: url.to_string(),
            subject: subject.to_string(),
            stream: stream.to_string(),
            js: Mutex::new(None),
        }
    }

    async fn connect(&self) -> Result<jetstream::Context, String> {
        let client = async_nats::connect(&self.url)
            .await
            .map_err(|e| format!("nats connect: {e}"))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: self.stream.clone(),
            subjects: vec![self.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|e| format!("nats stream {}: {e}", self.stream))?;
        Ok(js)
    }
}

#[async_trait::async_trait]
impl Sink for NatsSink {
    async fn deliver(&self, events: &[OutboxRow]) -> Result<(), Partial> {
        let mut guard = self.js.lock().await;
        if guard.is_none() {
            *guard = Some(self.connect().await.map_err(Partial::none)?);
        }
        let Some(js) = guard.as_ref() else {
            return Err(Partial::none("nats: no connection"));
        };
        // Publish the whole batch, then collect the acks in order.
        let mut acks = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", e.event_id.as_str());
            match js
                .publish_with_headers(self.subject.clone(), headers, e.body.clone().into())
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(err) => {
                    let delivered = settle(acks).await.unwrap_or_else(|(n, _)| n).min(i);
                    *guard = None;
                    return Err(Partial {
                        delivered,
                        error: super::SinkError(format!("nats publish: {err}")),
                    });
                }
            }
        }
        settle(acks)
            .await
            .map(|_| ())
            .map_err(|(delivered, error)| Partial {
                delivered,
                error: super::SinkError(error),
            })
    }
}

/// Awaits the acks in order: `Ok(count)` when all came, else how many did first.
async fn settle(acks: Vec<jetstream::context::PublishAckFuture>) -> Result<usize, (usize, String)> {
    let n = acks.len();
    for (i, ack) in acks.into_iter().enumerate() {
        if let Err(e) = ack.await {
            return Err((i, format!("nats ack: {e}")));
        }
    }
    Ok(n)
}
