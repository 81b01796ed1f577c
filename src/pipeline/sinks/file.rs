//! `file`: one JSON event per line, appended, fsynced once per batch. The embedded
//! default sink (`<ledger dir>/events.jsonl`).
//!
//! Whole records only: a batch is appended with one `write_all`; if it fails (disk
//! full, file-size limit, I/O error) the file is truncated back to its length
//! before the batch, so a retry never glues a record onto a torn one. A torn tail
//! left by a crash (or by a truncate that failed too) is cut back to the last
//! newline before the next append. The forwarder retries the batch with backoff,
//! so delivery resumes by itself once space returns.

use std::io::{Read, Seek, SeekFrom, Write};
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
            .read(true)
            .append(true)
            .open(path)?;
        append_whole(&mut f, buf)
    }
}

/// Appends `buf` (whole lines) to `f`, or leaves `f` as it was.
fn append_whole(f: &mut std::fs::File, buf: &[u8]) -> std::io::Result<()> {
    let len = clean_length(f)?;
    if len < f.metadata()?.len() {
        f.set_len(len)?;
    }
    match f.write_all(buf).and_then(|()| f.sync_data()) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Undo the partial record; if even that fails, the next append cuts it.
            let _ = f.set_len(len).and_then(|()| f.sync_data());
            Err(e)
        }
    }
}

/// The file's length up to and including its last newline (0 when it has none).
fn clean_length(f: &mut std::fs::File) -> std::io::Result<u64> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1))?;
    f.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(len);
    }
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
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

    #[test]
    fn a_torn_tail_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":").unwrap();
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        append_whole(&mut f, b"{\"c\":3}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"c\":3}\n"
        );
        // No newline at all: everything is torn.
        std::fs::write(&path, "{\"b\":").unwrap();
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        assert_eq!(clean_length(&mut f).unwrap(), 0);
    }
}
