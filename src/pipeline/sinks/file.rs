//! `file`: one JSON event per line, appended, fsynced once per batch. The embedded
//! default sink (`<ledger dir>/events.jsonl`).

use std::io::Write;
use std::path::PathBuf;

use super::{Partial, Sink};
use crate::ledger::delivery::OutboxRow;

pub struct FileSink {
    path: PathBuf,
    /// Serializes batches (one writer per file).
    lock: tokio::sync::Mutex<()>,
}

impl FileSink {
    pub fn new(path: PathBuf) -> Self {
        FileSink {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn append(path: &std::path::Path, buf: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(buf)?;
        f.sync_data()
    }
}

#[async_trait::async_trait]
impl Sink for FileSink {
    async fn deliver(&self, events: &[OutboxRow]) -> Result<(), Partial> {
        let mut buf = Vec::with_capacity(events.iter().map(|e| e.body.len() + 1).sum());
        for e in events {
            // The body is one JSON value; a newline inside it (pretty JSON) would
            // break the framing, so it is re-serialized compactly in that case.
            if e.body.contains('\n') {
                let v: serde_json::Value = serde_json::from_str(&e.body).map_err(Partial::none)?;
                buf.extend_from_slice(v.to_string().as_bytes());
            } else {
                buf.extend_from_slice(e.body.as_bytes());
            }
            buf.push(b'\n');
        }
        let _guard = self.lock.lock().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || Self::append(&path, &buf))
            .await
            .map_err(Partial::none)?
            .map_err(|e| Partial::none(format!("{}: {e}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_one_compact_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/events.jsonl");
        let sink = FileSink::new(path.clone());
        let row = |seq: i64, body: &str| OutboxRow {
            seq,
            event_id: format!("e{seq}"),
            payment_id: "p".into(),
            body: body.into(),
            created_at_ms: 0,
        };
        sink.deliver(&[row(1, r#"{"a":1}"#), row(2, "{\n \"b\": 2\n}")])
            .await
            .unwrap();
        sink.deliver(&[row(3, r#"{"c":3}"#)]).await.unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    }
}
