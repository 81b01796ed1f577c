//! One-shot HTTP/1.1 requests for the scenarios' control calls (admin API, sandbox
//! control API): a fresh connection each, a timeout, the whole answer as text.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// `(status, body)` of `method path` on `addr`, with `headers` and an optional JSON body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> anyhow::Result<(u16, String)> {
    let call = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut rb = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, addr.to_string());
        if body.is_some() {
            rb = rb.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let req = rb.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    };
    tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .with_context(|| format!("{method} {addr}{path}: timed out"))?
}
