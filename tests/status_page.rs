//! `GET /status` against a real in-process server: the token (bearer or Basic), the
//! public variant, an ejected gateway with its evidence in plain words and IST, the
//! customer line, escaping, the reload result, and no external assets.

mod common;

use common::{
    ADMIN_TOKEN, Behaviour, FakeGateway, Running, TestServer, bind, closed_addr, gateway, payment,
};
use serde_json::json;
use switchyard::alerts::Severity;
use switchyard::health::Event;
use switchyard::health::detectors::Trigger;
use switchyard::health::machine::State;

fn route() -> String {
    "[[route]]\nname = \"default\"\nsplit = [{ gateway = \"a\", weight = 50 }, { gateway = \"b\", weight = 50 }]\nfallback = [\"a\", \"b\"]\n".to_string()
}

async fn server() -> (TestServer, FakeGateway) {
    let g = FakeGateway::start(Behaviour::Create).await;
    let cfg = format!(
        "{}{}{}",
        gateway("a", g.addr, false),
        gateway("b", g.addr, false),
        route()
    );
    (TestServer::start(&cfg).await, g)
}

async fn status(s: &TestServer) -> String {
    let r = s
        .client
        .get(s.admin_url("/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_page_needs_the_token_as_bearer_or_basic_password() {
    let (s, _g) = server().await;
    let r = s.client.get(s.admin_url("/status")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let r = s
        .client
        .get(s.admin_url("/status"))
        .basic_auth("oncall", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = s
        .client
        .get(s.admin_url("/status"))
        .basic_auth("oncall", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Basic is for the page only: the JSON admin API keeps to bearer tokens.
    let r = s
        .client
        .get(s.admin_url("/admin/gateways"))
        .basic_auth("oncall", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn a_healthy_page_is_self_contained_and_phone_ready() {
    let (s, _g) = server().await;
    let html = status(&s).await;
    assert!(html.contains("<meta name=\"viewport\""));
    assert!(html.contains("No active incidents"));
    assert!(html.contains("data-gateway=\"a\""));
    assert!(html.contains("data-gateway=\"b\""));
    assert!(html.contains("<svg class=\"spark\""));
    assert!(html.contains("IST"));
    for external in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "@import",
        "<link",
    ] {
        assert!(!html.contains(external), "external asset: {external}");
    }
    let r = s
        .client
        .get(s.admin_url("/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"));
}

fn success_drop(at_ms: u64) -> Event {
    Event {
        at_ms,
        kind: "rollback",
        severity: Severity::Critical,
        gateway: Some("b".into()),
        route: None,
        from: "healthy",
        to: "ejected",
        trigger: Trigger::SuccessDrop,
        actor: "health".into(),
        reason: None,
        text: String::new(),
        evidence: json!({
            "sprt": {"observed_rate": 0.781, "samples": 1240},
            "baseline": {"rate": 0.949, "samples": 4200, "source": "peers"},
        }),
        transition: true,
    }
}

#[tokio::test]
async fn an_ejected_gateway_shows_its_evidence_in_plain_words_and_ist() {
    let (s, _g) = server().await;
    {
        let now = s.state.health_ctl.now_ms();
        let mut c = s.state.health_ctl.lock();
        let e = success_drop(now);
        let g = c.gateways.get_mut("b").unwrap();
        g.machine.state = State::Ejected {
            until_ms: now + 60_000,
        };
        g.last_event = Some(e.clone());
        c.incidents.push_back(e);
    }
    let html = status(&s).await;
    let at =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(5, 30, 0).unwrap());
    // The minute may tick between the event and the assertion: accept either.
    let line = |t: time::OffsetDateTime| {
        format!(
            "ejected {:02}:{:02} IST: success 78.1% vs peers 94.9% over 1,240 payments",
            t.hour(),
            t.minute()
        )
    };
    assert!(
        html.contains(&line(at)) || html.contains(&line(at - time::Duration::minutes(1))),
        "{html}"
    );
    assert!(html.contains("Some customers may be experiencing failed payments"));
    assert!(html.contains("class=\"incident s-ejected\""));
    assert!(!html.contains("No active incidents"));
}

#[tokio::test]
async fn a_real_hard_down_ejection_reaches_the_page() {
    let dead = closed_addr().await;
    let good = FakeGateway::start(Behaviour::Create).await;
    let cfg = format!(
        "{}{}{}",
        gateway("a", dead, false),
        gateway("b", good.addr, false),
        route()
    );
    let s = TestServer::start(&cfg).await;
    let mut ejected = false;
    for i in 0..300 {
        let (st, body, _) = s.pay(&format!("k{i}"), payment(&format!("ord_{i}"))).await;
        assert_eq!(st, 201, "{body}");
        if s.state.health_ctl.lock().gateways["a"].machine.state.name() == "ejected" {
            ejected = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(ejected, "a was never ejected");
    let html = status(&s).await;
    assert!(
        html.contains("<strong>a</strong> is <strong>ejected</strong>"),
        "{html}"
    );
    assert!(
        html.contains("payments in a row got no usable answer"),
        "{html}"
    );
    assert!(html.contains("Tell customers:"));
}

#[tokio::test]
async fn operator_text_is_escaped() {
    let (s, _g) = server().await;
    let r = s
        .client
        .post(s.admin_url("/admin/gateways/a/drain"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"reason": "<script>alert('x')</script> & bank maintenance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = status(&s).await;
    assert!(!html.contains("<script>alert"));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; bank maintenance")
    );
    assert!(html.contains("Planned maintenance is in progress"));
}

/// A server of our own: `[admin] status_public = true`, config from a file.
#[tokio::test]
async fn the_public_variant_needs_no_token_hides_operator_text_and_shows_the_reload() {
    let g = FakeGateway::start(Behaviour::Create).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"T\"\nstatus_public = true\n\n\
         [ledger]\npath = {:?}\n\n{}{}{}",
        dir.path().join("l.db").display().to_string(),
        gateway("a", g.addr, false),
        gateway("b", g.addr, false),
        route()
    );
    std::fs::write(&path, &text).unwrap();
    let snap =
        switchyard::config::load_str(&text, "s.toml", &|_| Some(ADMIN_TOKEN.into()), 1).unwrap();
    let server = bind(snap).await.with_config_path(&path, Some(text.clone()));
    server
        .state
        .reload
        .set_env(std::sync::Arc::new(|_| Some(ADMIN_TOKEN.into())));
    server.state.reload.set_file_watch(false);
    let run = Running::start(server);
    let admin = run.admin.unwrap();
    let client = reqwest::Client::new();
    // A drain with a reason, then a reload of a broken file.
    let r = client
        .post(format!("http://{admin}/admin/gateways/a/drain"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"reason": "secret vendor ticket 4411"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    std::fs::write(&path, format!("{text}\n[bogus]\n")).unwrap();
    let r = client
        .post(format!("http://{admin}/admin/reload"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    // No token: the page, without the operator's reason or the file's errors.
    let r = client
        .get(format!("http://{admin}/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("refused at"), "{html}");
    assert!(html.contains("by an operator"));
    assert!(!html.contains("4411"));
    assert!(!html.contains("bogus"));
    // With the token: everything.
    let r = client
        .get(format!("http://{admin}/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("by admin: secret vendor ticket 4411"),
        "{html}"
    );
    assert!(html.contains("bogus"));
    // Only the page is public.
    let r = client
        .get(format!("http://{admin}/admin/gateways"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
