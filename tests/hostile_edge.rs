//! Hostile clients at the public listener (issue 16): slowloris and idle
//! connections are closed, connections over the cap get a clean 503, framework
//! errors carry the error shape, overload is shed before an intent is written,
//! and a caller's request id is checked. Every wait is bounded.

mod common;

use std::time::Duration;

use common::{Behaviour, FakeGateway, Running, bind, gateway, payment};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server with `server` extra `[server]` keys over one gateway at `gw`.
async fn start(server: &str, gw: std::net::SocketAddr) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"3s\"\n{server}\n\
         [ledger]\npath = {:?}\n\n{}\
         [[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = 100 }}]\n",
        db.display().to_string(),
        gateway("a", gw, false)
    );
    let snap = switchyard::config::load_str(&text, "t.toml", &|_| Some("s".into()), 1).unwrap();
    (Running::start(bind(snap).await), dir)
}

/// Reads until the peer closes; `true` if it closed within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn slowloris_idle_and_kept_alive_connections_are_closed() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let (srv, _dir) = start(
        "header_read_timeout = \"500ms\"\nidle_timeout = \"500ms\"",
        gw.addr,
    )
    .await;
    // Slowloris: one byte of a request head every 100 ms, forever.
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    let drip = tokio::spawn(async move {
        let head = b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for b in head.iter().cycle() {
            tick.tick().await;
            if slow.write_all(&[*b]).await.is_err() {
                return true;
            }
        }
        false
    });
    // Silent from the accept on.
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    // Kept alive after one answer.
    let mut kept = TcpStream::connect(srv.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(
        std::str::from_utf8(&buf[..n])
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );

    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "idle connection still open"
    );
    assert!(
        closed_within(&mut kept, Duration::from_secs(5)).await,
        "keep-alive connection still open"
    );
    let cut = tokio::time::timeout(Duration::from_secs(5), drip).await;
    assert!(matches!(cut, Ok(Ok(true))), "slowloris still connected");
}

#[tokio::test]
async fn connections_over_the_cap_get_a_clean_503_and_the_rest_are_served() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let (srv, _dir) = start("max_connections = 3\nidle_timeout = \"30s\"", gw.addr).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            std::str::from_utf8(&buf[..n])
                .unwrap()
                .starts_with("HTTP/1.1 200")
        );
        held.push(s);
    }
    let mut extra = TcpStream::connect(srv.addr).await.unwrap();
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(5), extra.read_to_string(&mut text))
        .await
        .expect("the refusal comes at once")
        .ok();
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.contains("\"code\":\"overloaded\"") && text.contains("retry-after: 1"),
        "{text}"
    );
    let refused = srv
        .state
        .metrics
        .connections
        .with_label_values(&["public", "refused"])
        .get();
    assert_eq!(refused, 1);
    // One leaves: the next is served.
    drop(held.pop());
    let ok = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let r = reqwest::get(format!("http://{}/healthz", srv.addr)).await;
            if r.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(ok.is_ok(), "a slot freed by a closed connection is reused");
}

async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> (u16, serde_json::Value, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let v = serde_json::from_str(body).unwrap_or_default();
    (status, v, text)
}

#[tokio::test]
async fn every_4xx_has_the_error_shape() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let (srv, _dir) = start("max_amount_paise = 100000000", gw.addr).await;
    let c = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", srv.addr);
    let code = |v: &serde_json::Value| v["error"]["code"].as_str().unwrap_or("").to_string();

    let r = c.delete(url("/v1/payments")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(code(&r.json().await.unwrap()), "method_not_allowed");

    let long = format!("/v1/payments/{}", "a".repeat(10_000));
    let r = c.get(url(&long)).send().await.unwrap();
    assert_eq!(r.status(), 414);
    assert_eq!(code(&r.json().await.unwrap()), "uri_too_long");

    let mut req = c.get(url("/healthz"));
    for i in 0..150 {
        req = req.header(format!("x-h{i}"), "v");
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(code(&r.json().await.unwrap()), "headers_too_large");
    let r = c
        .get(url("/healthz"))
        .header("x-big", "b".repeat(40_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);

    let r = c
        .post(url("/v1/payments"))
        .header("idempotency-key", "k1")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(code(&r.json().await.unwrap()), "unsupported_media_type");

    let r = c
        .post(url("/v1/callbacks/a"))
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // 413 on callbacks: counted as too_large, not malformed.
    let r = c
        .post(url("/v1/callbacks/a"))
        .body(vec![b'x'; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(code(&r.json().await.unwrap()), "payload_too_large");
    let m = &srv.state.metrics.callbacks;
    assert_eq!(m.with_label_values(&["a", "too_large"]).get(), 1);
    assert_eq!(
        m.with_label_values(&["a", "malformed"]).get(),
        1,
        "only the br one"
    );

    for amount in [100_000_001i64, i64::MAX] {
        let mut body = payment("big");
        body["amount"] = amount.into();
        let r = c
            .post(url("/v1/payments"))
            .header("idempotency-key", format!("amt{}", amount % 1000))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{amount}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["field"], "amount");
    }
    assert_eq!(gw.hits(), 0, "no bad amount reached the gateway");

    // A hostile request id is replaced, a good one kept.
    let r = c
        .get(url("/healthz"))
        .header("x-request-id", "x".repeat(5_000))
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id.len() <= 64 && !id.contains("xxxx"), "{id}");
    let r = c
        .get(url("/healthz"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-42");

    // A raw request with a bad method on a known path.
    let (status, v, _) = raw(
        srv.addr,
        b"PATCH /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((status, code(&v).as_str()), (405, "method_not_allowed"));
}

/// Heads hyper refuses itself, before any router runs (a malformed request line, a
/// bad header, more headers than it parses): once a bare 400/431 with no body.
#[tokio::test]
async fn hypers_own_refusals_have_the_error_shape() {
    let gw = FakeGateway::start(Behaviour::Create).await;
    let (srv, _dir) = start("", gw.addr).await;
    let many: String = (0..250).map(|i| format!("x-h{i}: v\r\n")).collect();
    // (A head over hyper's 256 KiB buffer takes the same path; it is not sent here
    // because the server closes with unread bytes, and the reset may race the answer.)
    let cases: [(Vec<u8>, u16, &str); 3] = [
        (b"GARBAGE\r\n\r\n".to_vec(), 400, "invalid_request"),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n".to_vec(),
            400,
            "invalid_request",
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n").into_bytes(),
            431,
            "headers_too_large",
        ),
    ];
    for (request, want, want_code) in cases {
        let (status, v, text) = raw(srv.addr, &request).await;
        assert_eq!(status, want, "{text}");
        assert_eq!(v["error"]["code"], want_code, "{text}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{text}"
        );
    }
    let counted = |c: &str| srv.state.metrics.http_errors.with_label_values(&[c]).get();
    assert_eq!(counted("invalid_request"), 2);
    assert_eq!(counted("headers_too_large"), 1);
}

#[tokio::test]
async fn overload_is_shed_before_the_intent_is_written() {
    let gw = FakeGateway::start(Behaviour::Hang).await;
    let (srv, _dir) = start("max_inflight_payments = 2", gw.addr).await;
    let c = reqwest::Client::new();
    let url = format!("http://{}/v1/payments", srv.addr);
    let send = |key: &'static str, order: &'static str| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            c.post(url)
                .header("idempotency-key", key)
                .json(&payment(order))
                .send()
                .await
                .unwrap()
        }
    };
    let first = tokio::spawn(send("k1", "o1"));
    let second = tokio::spawn(send("k2", "o2"));
    gw.wait_for_request().await;
    gw.wait_for_request().await;
    let r = send("k3", "o3").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "overloaded");
    let none = srv.state.ledger.payments_by_order("o3").await.unwrap();
    assert!(none.is_empty(), "a shed payment left no intent");
    // The two in flight end (gateway timeout: unknown, resolved later), and the
    // next one is admitted again.
    assert_eq!(first.await.unwrap().status(), 504);
    assert_eq!(second.await.unwrap().status(), 504);
    let again = send("k4", "o4");
    let waiting = tokio::spawn(again);
    gw.wait_for_request().await;
    assert_eq!(waiting.await.unwrap().status(), 504);
}
