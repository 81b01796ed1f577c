//! `redis`: `XADD <stream> [MAXLEN ~ n] * event <json>` per event, a batch in one
//! pipeline. Uses the `redis` crate (the maintained Rust client) with its tokio
//! multiplexed connection. Streams do not deduplicate: a batch retried after a lost
//! reply may add an event twice, and consumers dedupe by `event_id`.

use tokio::sync::Mutex;

use super::{Partial, Sink, SinkError};
use crate::ledger::delivery::OutboxRow;

pub struct RedisSink {
    client: redis::Client,
    stream: String,
    maxlen: Option<u64>,
    conn: Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl RedisSink {
    pub fn new(url: &str, stream: &str, maxlen: Option<u64>) -> Result<Self, SinkError> {
        Ok(RedisSink {
            client: redis::Client::open(url).map_err(|e| SinkError(format!("redis url: {e}")))?,
            stream: stream.to_string(),
            maxlen,
            conn: Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl Sink for RedisSink {
    async fn deliver(&self, events: &[OutboxRow]) -> Result<(), Partial> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            let c = self
                .client
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| Partial::none(format!("redis connect: {e}")))?;
            *guard = Some(c);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(Partial::none("redis: no connection"));
        };
        let mut pipe = redis::pipe();
        for e in events {
            let cmd = pipe.cmd("XADD").arg(&self.stream);
            if let Some(n) = self.maxlen {
                cmd.arg("MAXLEN").arg("~").arg(n);
            }
            cmd.arg("*").arg("event").arg(&e.body);
        }
        let result: Result<Vec<String>, _> = pipe.query_async(conn).await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                *guard = None;
                Err(Partial::none(format!("redis XADD: {e}")))
            }
        }
    }
}
