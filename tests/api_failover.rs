//! Failover only when provably safe, against a real server and fake gateways.

mod common;

use common::{Behaviour, FakeGateway, TestServer, closed_addr, gateway, payment};

fn route(split: &str, fallback: &str) -> String {
    format!("[[route]]\nname = \"default\"\nsplit = [{split}]\nfallback = [{fallback}]\n")
}

#[tokio::test]
async fn connection_refused_fails_over_to_the_next_gateway() {
    let good = FakeGateway::start(Behaviour::Create).await;
    let dead = closed_addr().await;
    let cfg = format!(
        "{}{}{}",
        gateway("dead", dead, false),
        gateway("good", good.addr, false),
        route("{ gateway = \"dead\", weight = 100 }", "\"good\"")
    );
    let s = TestServer::start(&cfg).await;
    let (status, body, _) = s.pay("k1", payment("ord_1")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["gateway"], "good");
    assert_eq!(body["route"], "default");
    let attempts = body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["gateway"], "dead");
    assert_eq!(attempts[0]["outcome"], "not_sent");
    assert_eq!(attempts[1]["outcome"], "created");
    assert_eq!(good.hits(), 1);
}

#[tokio::test]
async fn timeout_after_the_request_was_read_is_unknown_and_never_failed_over() {
    let hang = FakeGateway::start(Behaviour::Hang).await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let cfg = format!(
        "{}{}{}",
        gateway("slow", hang.addr, false),
        gateway("good", good.addr, false),
        route("{ gateway = \"slow\", weight = 100 }", "\"good\"")
    );
    let s = TestServer::start(&cfg).await;
    let (status, body, _) = s.pay("k2", payment("ord_2")).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "gateway_timeout");
    assert_eq!(body["status"], "unknown");
    assert_eq!(hang.hits(), 1);
    assert_eq!(
        good.hits(),
        0,
        "a second gateway was called after an ambiguous timeout"
    );
    let id = body["payment_id"].as_str().unwrap();
    let p: serde_json::Value = s
        .client
        .get(s.url(&format!("/v1/payments/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["status"], "unknown");
}

#[tokio::test]
async fn idempotent_gateway_is_retried_on_itself_after_a_timeout() {
    let hang = FakeGateway::start(Behaviour::Hang).await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let cfg = format!(
        "{}{}{}",
        gateway("slow", hang.addr, true),
        gateway("good", good.addr, false),
        route("{ gateway = \"slow\", weight = 100 }", "\"good\"")
    );
    let s = TestServer::start(&cfg).await;
    let (status, _, _) = s.pay("k3", payment("ord_3")).await;
    assert_eq!(status, 504);
    assert_eq!(
        hang.hits(),
        2,
        "the idempotent gateway gets the same request again"
    );
    assert_eq!(good.hits(), 0);
}

#[tokio::test]
async fn a_decline_is_402_and_not_failed_over() {
    let decline = FakeGateway::start(Behaviour::Decline).await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let cfg = format!(
        "{}{}{}",
        gateway("picky", decline.addr, false),
        gateway("good", good.addr, false),
        route("{ gateway = \"picky\", weight = 100 }", "\"good\"")
    );
    let s = TestServer::start(&cfg).await;
    let (status, body, _) = s.pay("k4", payment("ord_4")).await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["code"], "gateway_declined");
    assert_eq!(body["reason"], "insufficient_funds");
    assert!(
        !body.to_string().contains("secret gateway text"),
        "gateway text leaked: {body}"
    );
    assert_eq!(good.hits(), 0);
}

#[tokio::test]
async fn a_503_is_not_processed_and_fails_over_but_a_500_does_not() {
    let busy = FakeGateway::start(Behaviour::Status(503)).await;
    let broken = FakeGateway::start(Behaviour::Status(500)).await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let routes = r#"
[[route]]
name = "a"
match = { method = ["upi_intent"] }
split = [{ gateway = "busy", weight = 1 }]
fallback = ["good"]

[[route]]
name = "b"
match = { method = ["card"] }
split = [{ gateway = "broken", weight = 1 }]
fallback = ["good"]
"#;
    let cfg = format!(
        "{}{}{}{routes}",
        gateway("busy", busy.addr, false),
        gateway("broken", broken.addr, false),
        gateway("good", good.addr, false),
    );
    let s = TestServer::start(&cfg).await;
    let (status, body, _) = s.pay("k5", payment("ord_5")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["gateway"], "good");
    let card = serde_json::json!({"order_id": "ord_6", "amount": 100, "method": "card"});
    let (status, body, _) = s.pay("k6", card).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "gateway_error");
    assert_eq!(body["status"], "unknown");
    assert_eq!(good.hits(), 1);
    assert!(!body.to_string().contains("internal gateway text"));
}

#[tokio::test]
async fn everything_refused_is_503_no_gateway_available() {
    let a = closed_addr().await;
    let b = closed_addr().await;
    let cfg = format!(
        "{}{}{}",
        gateway("a", a, false),
        gateway("b", b, false),
        route("{ gateway = \"a\", weight = 1 }", "\"b\"")
    );
    let s = TestServer::start(&cfg).await;
    let (status, body, _) = s.pay("k7", payment("ord_7")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_gateway_available");
    assert_eq!(body["status"], "failed");
}
