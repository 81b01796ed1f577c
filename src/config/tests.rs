//! Whole-pipeline tests of [`load_str`](super::load_str): text in, snapshot or
//! every error out.

use std::collections::BTreeMap;

use super::*;
use crate::model::{Currency, Method, Paise, PaymentRequest, Secret};
use crate::routing::sticky_hash;

fn any_env(name: &str) -> Option<String> {
    Some(format!("value-of-{name}"))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> Result<Snapshot, ConfigErrors> {
    load_str(text, "test.toml", &any_env, 1)
}

fn errors(text: &str) -> Vec<ConfigError> {
    match load(text) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0,
    }
}

/// (line, col, path) of each error, for exact assertions.
fn where_(errs: &[ConfigError]) -> Vec<(usize, usize, &str)> {
    errs.iter()
        .map(|e| (e.line.unwrap_or(0), e.col.unwrap_or(0), e.path.as_str()))
        .collect()
}

const MINIMAL: &str = r#"
[[gateway]]
name = "a"
connector = "generic"
base_url = "http://127.0.0.1:1"

[[route]]
name = "default"
split = [{ gateway = "a", weight = 1 }]
"#;

#[test]
fn every_error_is_reported_with_its_line_and_column() {
    let text = r#"[server]
listen = "0.0.0.0:8080"
request_timeout = "15 parsecs"
liste = "x"

[[gateway]]
name = "payu"
connector = "generic"
base_url = "http://127.0.0.1:1"
key_secret = "sk_live_SENSITIVE"

[[gateway]]
name = "payu"
connector = "razorpy"
base_url = "ftp://x"

[[route]]
name = "default"
split = [
  { gateway = "payuu", weight = 50 },
  { gateway = "payu", weight = -5 },
]
"#;
    let errs = errors(text);
    assert_eq!(
        where_(&errs),
        vec![
            (3, 19, "server.request_timeout"),
            (4, 1, "server.liste"),
            (10, 1, "gateway[0].key_secret"),
            (13, 8, "gateway[1].name"),
            (14, 13, "gateway[1].connector"),
            (15, 12, "gateway[1].base_url"),
            (20, 15, "route[0].split[0].gateway"),
            (21, 32, "route[0].split[1].weight"),
        ],
        "{}",
        ConfigErrors(errs.clone())
    );
    let msg = |i: usize| errs[i].message.as_str();
    assert!(msg(0).contains("not a duration"), "{}", msg(0));
    assert_eq!(msg(1), "unknown key \"liste\" (did you mean \"listen\"?)");
    assert_eq!(
        msg(2),
        "secrets are never inline: use key_secret_env = \"NAME\" or key_secret_file = \"/path\""
    );
    assert!(msg(3).starts_with("duplicate gateway name \"payu\""));
    assert!(
        msg(4).contains("(did you mean \"razorpay\"?)"),
        "{}",
        msg(4)
    );
    assert_eq!(msg(6), "unknown gateway \"payuu\" (did you mean \"payu\"?)");
    assert!(msg(7).contains("negative"));
    let shown = ConfigErrors(errs).to_string();
    assert!(!shown.contains("SENSITIVE"));
    assert!(
        shown.contains("test.toml:21:32: route[0].split[1].weight: "),
        "{shown}"
    );
}

#[test]
fn syntax_errors_are_located() {
    let errs = errors("[server]\nlisten = \n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(2));
    assert!(errs[0].message.starts_with("invalid TOML"));
}

/// toml_edit 0.23 panics ("all items have spans") on these duplicate-key shapes;
/// found by `fuzz/` (target `config`). A reload must refuse them, not panic.
#[test]
fn malformed_toml_that_panics_toml_edit_is_an_error() {
    for text in ["==\n.=", "==,[@{\n\n[\n."] {
        let errs = errors(text);
        assert!(!errs.is_empty(), "{text:?}");
        assert!(errs[0].message.starts_with("invalid TOML"), "{errs:?}");
        assert!(errs[0].line.is_some(), "{errs:?}");
    }
}

#[test]
fn empty_file_needs_a_gateway_and_a_route() {
    let errs = errors("");
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["gateway", "route"]);
    assert!(errs.iter().all(|e| e.line.is_none()));
}

#[test]
fn minimal_file_gets_the_defaults() {
    let s = load(MINIMAL).unwrap();
    assert_eq!(s.generation, 1);
    assert_eq!(s.bootstrap.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(s.bootstrap.admin_listen.to_string(), "127.0.0.1:9090");
    assert_eq!(s.bootstrap.ledger_path.to_str(), Some("data/switchyard.db"));
    assert_eq!(s.bootstrap.group_commit_max, 512);
    assert!(s.bootstrap.synchronous_full);
    assert_eq!(s.server.max_body_bytes, 16384);
    assert_eq!(s.server.request_timeout.as_secs(), 15);
    assert_eq!(s.server.shutdown_grace.as_secs(), 10);
    assert_eq!(
        (s.server.max_attempts, s.server.retry_budget_percent),
        (2, 20)
    );
    assert_eq!(s.server.sticky_key, StickyKey::OrderId);
    let g = &s.gateways[0].spec;
    assert_eq!((g.connect_timeout.as_secs(), g.timeout.as_secs()), (2, 8));
    assert_eq!((g.pool_size, g.idempotent), (64, false));
    assert!(s.admin_token.is_none());
}

#[test]
fn demo_config_loads_and_routes() {
    let s = load_str(
        include_str!("../../config/demo.toml"),
        "demo.toml",
        &any_env,
        7,
    )
    .unwrap();
    assert_eq!(s.generation, 7);
    assert_eq!(s.bootstrap.listen.to_string(), "127.0.0.1:18080");
    let names: Vec<&str> = s.gateways.iter().map(|g| g.spec.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "razorpay", "cashfree", "inhouse", "adyen", "juspay", "payu", "phonepe", "paytm",
            "ebanx"
        ]
    );
    let rzp = &s.gateways[0].spec.credentials;
    assert_eq!(
        rzp.key_secret.as_ref().map(Secret::expose),
        Some("value-of-SWITCHYARD_DEMO_RAZORPAY_KEY_SECRET")
    );
    let req = |method| PaymentRequest {
        order_id: "ord_1".into(),
        amount: Paise(10_000),
        currency: Currency::Inr,
        method,
        vpa: None,
        customer: Default::default(),
        description: None,
        tags: BTreeMap::new(),
        metadata: None,
    };
    let route = |m| {
        s.routes
            .iter()
            .find(|r| r.matcher.matches(&req(m)))
            .map(|r| r.name.as_str())
    };
    assert_eq!(route(Method::UpiCollect), Some("upi-collect"));
    assert_eq!(route(Method::Card), Some("cards-netbanking"));
    assert_eq!(route(Method::Netbanking), Some("cards-netbanking"));
    assert_eq!(route(Method::UpiIntent), Some("default"));
    let (rzp, cf, ih, ady, jus, payu, pp, paytm, ebanx) = (0, 1, 2, 3, 4, 5, 6, 7, 8);
    // EBANX takes no UPI collect: never on that route.
    assert_eq!(s.routes[0].split.permille(ebanx), 0);
    let default = &s.routes[2];
    assert_eq!(
        [rzp, cf, payu, pp, paytm, ih, ady, jus, ebanx].map(|g| default.split.permille(g)),
        [400, 150, 80, 80, 80, 60, 50, 50, 50]
    );
    assert_eq!(default.fallback, vec![cf, ih]);
    assert!(default.split.pick(sticky_hash("ord_1"), |_| true).is_some());
    assert_eq!(s.gateway("cashfree").map(|(i, _)| i), Some(1));
}

#[test]
fn twins_config_loads_with_the_three_new_connectors() {
    let s = load_str(
        include_str!("../../config/twins.toml"),
        "twins.toml",
        &any_env,
        1,
    )
    .unwrap();
    let kinds: Vec<&str> = s.gateways.iter().map(|g| g.spec.kind.as_str()).collect();
    assert_eq!(kinds, ["payu", "phonepe", "paytm"]);
    assert!(s.gateways.iter().all(|g| g.spec.idempotent));
}

#[test]
fn example_config_loads_and_shows_every_key() {
    let text = include_str!("../../config/switchyard.example.toml");
    let s = load_str(text, "example.toml", &any_env, 1).unwrap();
    assert_eq!(s.gateways.len(), 3);
    assert_eq!(s.routes.len(), 3);
    assert!(s.admin_token.is_some());
    for key in schema::all_keys() {
        assert!(text.contains(&format!("{key} = ")), "example lacks {key}");
    }
}

#[test]
fn secret_by_env_and_file_at_once_is_refused() {
    let text = MINIMAL.replace(
        "connector = \"generic\"",
        "connector = \"generic\"\nkey_secret_env = \"X\"\nkey_secret_file = \"/x\"",
    );
    let errs = errors(&text);
    assert_eq!(where_(&errs), vec![(6, 19, "gateway[0].key_secret_file")]);
    assert!(errs[0].message.contains("both set"));
}

#[test]
fn unset_env_var_is_an_error_at_its_key() {
    let text = "[admin]\ntoken_env = \"ADMIN_TOKEN\"\n".to_string() + MINIMAL;
    let errs = load_str(&text, "t.toml", &no_env, 1).unwrap_err().0;
    assert_eq!(where_(&errs), vec![(2, 13, "admin.token_env")]);
    assert_eq!(
        errs[0].message,
        "environment variable ADMIN_TOKEN is not set"
    );
}

#[test]
fn secret_files_are_read_and_trimmed_and_unreadable_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "s3cret-token\n").unwrap();
    let text = format!(
        "[admin]\ntoken_file = {:?}\n{MINIMAL}",
        path.display().to_string()
    );
    let s = load_str(&text, "t.toml", &no_env, 1).unwrap();
    assert_eq!(
        s.admin_token.as_ref().map(Secret::expose),
        Some("s3cret-token")
    );
    assert!(!format!("{s:?}").contains("s3cret"));

    let text = format!(
        "[admin]\ntoken_file = {:?}\n{MINIMAL}",
        dir.path().join("nope").display().to_string()
    );
    let errs = load_str(&text, "t.toml", &no_env, 1).unwrap_err().0;
    assert_eq!(where_(&errs), vec![(2, 14, "admin.token_file")]);
    assert!(errs[0].message.starts_with("cannot read"));
}

#[test]
fn razorpay_needs_credentials() {
    let text = MINIMAL.replace("\"generic\"", "\"razorpay\"");
    let errs = errors(&text);
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["gateway[0].key_id_env", "gateway[0].key_secret_env"]
    );
    // Absent keys point at the [[gateway]] header.
    assert_eq!(errs[0].line, Some(2));
}

/// Issue 12 item 1: Razorpay honours no idempotency key and does not dedupe on our
/// reference, so a retry after a timeout could create a second payment.
#[test]
fn idempotent_is_refused_for_a_connector_that_cannot_honour_it() {
    let text = MINIMAL.replace(
        "connector = \"generic\"",
        "connector = \"razorpay\"\nkey_id_env = \"K\"\nkey_secret_env = \"S\"\nidempotent = true",
    );
    let errs = errors(&text);
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["gateway[0].idempotent"]);
    assert!(errs[0].message.contains("cannot honour a retry"));
    // Cashfree sends x-idempotency-key: allowed.
    let ok = text.replace("\"razorpay\"", "\"cashfree\"");
    let snap = load(&ok).unwrap();
    assert!(snap.gateways[0].spec.idempotent);
}

#[test]
fn route_semantics_are_checked() {
    let text = r#"
[[gateway]]
name = "a"
connector = "generic"
base_url = "http://127.0.0.1:1"

[[route]]
name = "zero"
split = [{ gateway = "a", weight = 0 }]
fallback = ["b", "a", "a"]
[route.match]
method = ["card", "upi"]
min_amount = 500
max_amount = 100
currency = "INRR"

[[route]]
name = "all"
split = [{ gateway = "a", weight = 1 }, { gateway = "a", weight = 1 }]

[[route]]
name = "all"
split = []
"#;
    let errs = errors(text);
    let got: Vec<(usize, &str)> = errs
        .iter()
        .map(|e| (e.line.unwrap_or(0), e.path.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (9, "route[0].split"),
            (10, "route[0].fallback[0]"),
            (10, "route[0].fallback[2]"),
            (12, "route[0].match.method[1]"),
            (14, "route[0].match.max_amount"),
            (15, "route[0].match.currency"),
            (19, "route[1].split[1].gateway"),
            (21, "route[2]"),
            (22, "route[2].name"),
            (23, "route[2].split"),
        ],
        "{}",
        ConfigErrors(errs.clone())
    );
}

#[test]
fn describe_shows_routes_and_percentages() {
    let s = load_str(
        include_str!("../../config/demo.toml"),
        "demo.toml",
        &any_env,
        1,
    )
    .unwrap();
    let d = describe(&s);
    assert!(d.contains("razorpay w=40 (40.0%)"), "{d}");
    assert!(d.contains("inhouse w=6 (6.0%)"), "{d}");
    assert!(
        d.contains("2. cards-netbanking: method in [card, netbanking]"),
        "{d}"
    );
    assert!(d.contains("1. upi-collect: method in [upi_collect]"), "{d}");
    assert!(d.contains("fallback: cashfree -> inhouse"), "{d}");
    assert!(!d.contains("value-of-"), "secrets leaked: {d}");
}

#[test]
fn bootstrap_changes_names_each_key() {
    let a = load(MINIMAL).unwrap().bootstrap;
    let text = format!(
        "[server]\nlisten = \"0.0.0.0:8081\"\n[ledger]\nsynchronous = \"normal\"\n{MINIMAL}"
    );
    let b = load(&text).unwrap().bootstrap;
    assert!(bootstrap_changes(&a, &a).is_empty());
    assert_eq!(
        bootstrap_changes(&a, &b),
        ["server.listen", "ledger.synchronous"]
    );
}

#[test]
fn wrong_types_are_reported_and_the_rest_still_validated() {
    let text = r#"server = 5
[gateway]
name = "a"
[[route]]
name = true
split = [1]
[route.match]
method = "card"
tags = { tier = 1 }
[ledger]
synchronous = "ful"
"#;
    let errs = errors(text);
    assert_eq!(
        where_(&errs),
        vec![
            (1, 10, "server"),
            (2, 1, "gateway"),
            (5, 8, "route[0].name"),
            (6, 9, "route[0].split"),
            (8, 10, "route[0].match.method"),
            (9, 17, "route[0].match.tags.tier"),
            (11, 15, "ledger.synchronous"),
        ],
        "{}",
        ConfigErrors(errs.clone())
    );
    assert!(errs[1].message.contains("[[gateway]]"));
    assert!(errs[6].message.contains("(did you mean \"full\"?)"));
}
