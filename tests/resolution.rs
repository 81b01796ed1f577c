//! Issue 12, items 8, 9 and 13 against a real server: UPI caps refuse before any
//! gateway call; an initiation survives its client disconnecting (the idempotency
//! row is completed, not stuck "in progress"); unlinked orphans are listed on the
//! admin listener behind the token.

mod common;

use std::time::Duration;

use common::{ADMIN_TOKEN, Behaviour, FakeGateway, TestServer, gateway, payment};
use serde_json::json;

async fn server_with(b: Behaviour, extra: &str) -> (TestServer, FakeGateway) {
    let gw = FakeGateway::start(b).await;
    let cfg = format!(
        "{}[[route]]\nname = \"upi\"\nmatch = {{ method = [\"upi_intent\", \"upi_collect\", \"upi_qr\"] }}\nsplit = [{{ gateway = \"gw\", weight = 1 }}]\n\n\
         [[route]]\nname = \"cards\"\nsplit = [{{ gateway = \"gw\", weight = 1 }}]\n{extra}",
        gateway("gw", gw.addr, false)
    );
    (TestServer::start(&cfg).await, gw)
}

#[tokio::test]
async fn upi_above_the_category_cap_is_422_before_any_gateway_call() {
    let (s, gw) = server_with(Behaviour::Create, "").await;
    // ₹1 lakh + 1 paisa, no category: over the general cap.
    let mut p = payment("ord_big");
    p["amount"] = json!(10_000_001);
    let (st, body, _) = s.pay("lim-1", p).await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["error"]["code"], "upi_limit_exceeded");
    assert_eq!(gw.hits(), 0, "no gateway may be called");
    // A verified insurance merchant may take up to ₹5 lakh.
    let mut p = payment("ord_ins");
    p["amount"] = json!(40_000_000);
    p["tags"] = json!({"merchant_category": "insurance"});
    let (st, body, _) = s.pay("lim-2", p).await;
    assert_eq!(st, 201, "{body}");
    // Jewellery stops at ₹2 lakh.
    let mut p = payment("ord_jw");
    p["amount"] = json!(20_000_001);
    p["tags"] = json!({"merchant_category": "jewellery"});
    assert_eq!(s.pay("lim-3", p).await.0, 422);
    // Cards have no UPI cap.
    let card = json!({"order_id": "ord_card", "amount": 90_000_000, "method": "card"});
    assert_ne!(s.pay("lim-4", card).await.0, 422);
    assert_eq!(gw.hits(), 2);
}

#[tokio::test]
async fn a_route_cap_overrides_the_category() {
    let (s, gw) = server_with(
        Behaviour::Create,
        "\n[upi_limits]\nroutes = { upi = \"300000\" }\n",
    )
    .await;
    let mut p = payment("ord_r");
    p["amount"] = json!(25_000_000);
    assert_eq!(s.pay("lim-r1", p).await.0, 201);
    let mut p = payment("ord_r2");
    p["amount"] = json!(30_000_001);
    p["tags"] = json!({"merchant_category": "insurance"});
    assert_eq!(s.pay("lim-r2", p).await.0, 422);
    assert_eq!(gw.hits(), 1);
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_leave_its_key_in_progress() {
    let (s, gw) = server_with(Behaviour::Hang, "").await;
    let s = std::sync::Arc::new(s);
    let first = {
        let s = s.clone();
        tokio::spawn(async move { s.pay("gone-1", payment("ord_gone")).await })
    };
    gw.wait_for_request().await;
    // The client goes away while the gateway holds the request.
    first.abort();
    let _ = first.await;
    // The detached initiation still completes (504 after the gateway timeout).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let done = s
            .state
            .ledger
            .query(|c| {
                Ok(c.query_row(
                    "SELECT completed FROM idempotency WHERE key = 'gone-1'",
                    [],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await
            .unwrap();
        if done == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idempotency row stayed in progress after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (st, _, replayed) = s.pay("gone-1", payment("ord_gone")).await;
    assert_eq!((st, replayed), (504, true));
    assert_eq!(gw.hits(), 1);
}

#[tokio::test]
async fn orphans_are_listed_behind_the_admin_token() {
    let (s, _gw) = server_with(Behaviour::Create, "").await;
    let url = s.admin_url("/admin/orphans");
    let r = s.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["orphans"], json!([]));
}

#[tokio::test]
async fn replays_and_refusals_do_not_earn_retries() {
    let (s, gw) = server_with(Behaviour::Create, "").await;
    assert_eq!(s.pay("bud-1", payment("ord_bud")).await.0, 201);
    for _ in 0..50 {
        // Replays of the same key, and requests refused before any gateway call.
        assert_eq!(s.pay("bud-1", payment("ord_bud")).await.0, 201);
        let mut big = payment("ord_big");
        big["amount"] = json!(10_000_001);
        assert_eq!(s.pay("bud-2", big).await.0, 422);
    }
    assert_eq!(gw.hits(), 1);
    // One real initiation at 20% on top of the reserve (1 retry/s for the 10 s
    // window): the 100 other requests deposited nothing.
    let budget = &s.state.payments.budget;
    let n = (0..1000).take_while(|_| budget.try_withdraw()).count();
    assert_eq!(n, 10, "replays or refusals deposited into the retry budget");
}
