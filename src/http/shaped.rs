//! hyper's own answers in the error shape. A request head hyper cannot parse never
//! reaches the router: hyper writes a bare `400 Bad Request` (a malformed request
//! line or header), `414 URI Too Long` or `431 Request Header Fields Too Large` (a
//! head over its buffer or header count) with an empty body, and closes.
//! [`Shaped`] wraps a connection's IO and rewrites exactly those answers into
//! `{"error": {code, message}}` (`invalid_request`, `uri_too_long`,
//! `headers_too_large`), counted in `http_errors_total` like every other refusal.
//!
//! hyper's canned answer is recognised by its form: written from the start of a
//! buffer, status 400/414/431, no `content-type` and an empty body. Every answer the
//! router makes for these statuses carries a JSON body with a `content-type`, so
//! none of ours is ever rewritten.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use prometheus::IntCounterVec;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::ApiError;
use super::limits::{MAX_HEADER_BYTES, MAX_URI};

/// hyper's canned heads are a status line, `content-length: 0` and a `date`.
const MAX_CANNED: usize = 512;

/// A connection's IO with hyper's bare parse-error answers rewritten.
pub struct Shaped<T> {
    inner: T,
    /// Our answer in place of hyper's, and how much of it is written.
    pending: Vec<u8>,
    written: usize,
    errors: Option<IntCounterVec>,
}

impl<T> Shaped<T> {
    pub fn new(inner: T, errors: Option<IntCounterVec>) -> Self {
        Shaped {
            inner,
            pending: Vec::new(),
            written: 0,
            errors,
        }
    }
}

/// If `buf` starts with one of hyper's canned answers: its length and ours.
fn replacement(buf: &[u8]) -> Option<(usize, Vec<u8>, &'static str)> {
    if !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let window = &buf[..buf.len().min(MAX_CANNED)];
    let end = window.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let status = lines.next()?.get(9..12)?;
    let (error, reason) = match status {
        "400" => (
            ApiError::InvalidRequest {
                message: "the request line or a header could not be parsed".into(),
                field: None,
            },
            "Bad Request",
        ),
        "414" => (ApiError::UriTooLong { limit: MAX_URI }, "URI Too Long"),
        "431" => (
            ApiError::HeadersTooLarge {
                limit: MAX_HEADER_BYTES,
            },
            "Request Header Fields Too Large",
        ),
        _ => return None,
    };
    let mut kept = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "content-length" if value.trim() == "0" => {}
            // Anything with a body or a type is not hyper's canned answer.
            "content-length" | "content-type" | "transfer-encoding" => return None,
            "connection" => {}
            _ => kept.push(line),
        }
    }
    let body = serde_json::to_vec(&error.body()).ok()?;
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some((end, out, error.code()))
}

impl<T: AsyncWrite + Unpin> Shaped<T> {
    /// Writes what is left of our answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Takes hyper's canned answer at the start of `buf`, if it is one: its length.
    fn take_canned(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Option<io::Result<usize>> {
        let (n, ours, code) = replacement(buf)?;
        if let Some(c) = &self.errors {
            c.with_label_values(&[code]).inc();
        }
        self.pending = ours;
        self.written = 0;
        // The rest is written on the next write or flush if the socket is full.
        match self.drain(cx) {
            Poll::Ready(Err(e)) => Some(Err(e)),
            _ => Some(Ok(n)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Shaped<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Shaped<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(r) = self.take_canned(cx, buf) {
            return Poll::Ready(r);
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        let mut bufs = bufs;
        while let [first, rest @ ..] = bufs
            && first.is_empty()
        {
            bufs = rest;
        }
        let Some(first) = bufs.first() else {
            return Poll::Ready(Ok(0));
        };
        if let Some(r) = self.take_canned(cx, first) {
            return Poll::Ready(r);
        }
        // A canned answer queued behind the end of the previous one is written
        // on the next call, from the start of its slice.
        let upto = bufs
            .iter()
            .skip(1)
            .position(|b| replacement(b).is_some())
            .map_or(bufs.len(), |i| i + 1);
        Pin::new(&mut self.inner).poll_write_vectored(cx, &bufs[..upto])
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(out: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), len);
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn hypers_canned_answers_get_the_error_shape() {
        let date = "date: Fri, 04 Dec 2026 01:16:12 GMT";
        for (status, code) in [
            ("400 Bad Request", "invalid_request"),
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
        ] {
            let canned = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n{date}\r\n\r\n");
            let (n, out, c) = replacement(canned.as_bytes()).unwrap();
            assert_eq!((n, c), (canned.len(), code));
            let text = String::from_utf8(out.clone()).unwrap();
            assert!(
                text.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{text}"
            );
            assert!(text.contains("content-type: application/json\r\n"));
            assert!(text.contains(date));
            assert_eq!(body_of(&out)["error"]["code"], code);
        }
    }

    #[test]
    fn our_own_answers_are_left_alone() {
        for head in [
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n",
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 12\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "{\"error\": 1}",
        ] {
            assert!(replacement(head.as_bytes()).is_none(), "{head}");
        }
    }

    #[tokio::test]
    async fn the_rewrite_goes_through_a_connection() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (a, mut b) = tokio::io::duplex(64);
        let mut w = Shaped::new(a, None);
        let task = tokio::spawn(async move {
            w.write_all(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
            )
            .await
            .unwrap();
            w.shutdown().await.unwrap();
        });
        let mut out = Vec::new();
        b.read_to_end(&mut out).await.unwrap();
        task.await.unwrap();
        assert_eq!(body_of(&out)["error"]["code"], "headers_too_large");
    }
}
