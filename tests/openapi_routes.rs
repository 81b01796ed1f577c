//! docs/openapi.yaml, the route table (src/http/routes.rs) and the routers stay
//! equal: every path and method of the spec is in the table with the same
//! operationId and the reverse; every `.route(...)` call in src/http/ is in the
//! table and the reverse; and every table route answers on its listener (not the
//! router's fallback). Framework rejections answer in the JSON error shape.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{ADMIN_TOKEN, Behaviour, FakeGateway, TestServer, gateway};
use switchyard::http::routes::{Listener, ROUTES};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// `(METHOD, path, operationId)` of the spec, read by its layout (paths at two
/// spaces under `paths:`, methods at four, `operationId` at six).
fn spec_operations() -> BTreeSet<(String, String, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.yaml"))
            .unwrap();
    assert!(text.starts_with("openapi: 3.1"), "the spec is OpenAPI 3.1");
    let mut out = BTreeSet::new();
    let (mut in_paths, mut path, mut method) = (false, String::new(), String::new());
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = format!("/{}", p.trim_end_matches(':'));
        } else if let Some(m) = line.strip_prefix("    ").filter(|l| !l.starts_with(' ')) {
            let m = m.trim_end_matches(':');
            method = if METHODS.contains(&m) {
                m.to_uppercase()
            } else {
                String::new()
            };
        } else if let Some(op) = line.strip_prefix("      operationId: ") {
            assert!(
                !method.is_empty(),
                "operationId {op} outside a method of {path}"
            );
            out.insert((method.clone(), path.clone(), op.trim().to_string()));
        }
    }
    out
}

fn table() -> BTreeSet<(String, String, String)> {
    ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                r.operation_id.to_string(),
            )
        })
        .collect()
}

#[test]
fn the_spec_and_the_route_table_agree() {
    let spec = spec_operations();
    let table = table();
    let only_spec: Vec<_> = spec.difference(&table).collect();
    let only_table: Vec<_> = table.difference(&spec).collect();
    assert!(
        only_spec.is_empty() && only_table.is_empty(),
        "in docs/openapi.yaml only: {only_spec:?}\nin src/http/routes.rs only: {only_table:?}"
    );
}

/// `(METHOD, path)` of every `.route("path", get(..).post(..))` in `dir`.
fn registered(dir: &Path, out: &mut BTreeSet<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            registered(&p, out);
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let Some(q) = rest.trim_start().strip_prefix('"') else {
                continue;
            };
            let path = &q[..q.find('"').unwrap()];
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            let call = &rest[..end];
            for m in METHODS {
                let needle = format!("{m}(");
                let hits = call.match_indices(&needle).filter(|(k, _)| {
                    call[..*k]
                        .chars()
                        .last()
                        .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
                });
                if hits.count() > 0 {
                    out.insert((m.to_uppercase(), path.to_string()));
                }
            }
        }
    }
}

#[test]
fn the_routers_register_exactly_the_table() {
    let mut routes = BTreeSet::new();
    registered(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http"),
        &mut routes,
    );
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let only_code: Vec<_> = routes.difference(&table).collect();
    let only_table: Vec<_> = table.difference(&routes).collect();
    assert!(
        only_code.is_empty() && only_table.is_empty(),
        "registered but not in src/http/routes.rs: {only_code:?}\nin the table but not registered: {only_table:?}"
    );
}

#[tokio::test]
async fn every_table_route_answers_on_its_listener() {
    let g = FakeGateway::start(Behaviour::Create).await;
    let s = TestServer::start(&format!(
        "{}[[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n",
        gateway("a", g.addr, false)
    ))
    .await;
    for r in ROUTES {
        let path = r.path.replace(['{', '}'], "");
        let url = match r.listener {
            Listener::Public => s.url(&path),
            Listener::Admin => s.admin_url(&path),
        };
        let req = match r.method {
            "GET" => s.client.get(&url),
            "POST" => s
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body("{}"),
            m => panic!("no request for method {m}"),
        };
        let resp = req.bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{} {}: method not allowed", r.method, r.path);
        assert!(
            !body.contains("\"route not found\"") && !body.contains("\"admin route not found\""),
            "{} {} fell through to the fallback: {body}",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn bad_query_parameters_answer_in_the_json_error_shape() {
    let g = FakeGateway::start(Behaviour::Create).await;
    let s = TestServer::start(&format!(
        "{}[[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n",
        gateway("a", g.addr, false)
    ))
    .await;
    let r = s
        .client
        .get(s.admin_url("/admin/dead-letters?after=abc"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_request");
    assert_eq!(v["error"]["field"], "after");
    let r = s
        .client
        .get(s.url("/v1/payments?order_id=a&order_id=b"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(status == 400 || status == 200, "{status}");
    if status == 400 {
        assert_eq!(v["error"]["code"], "invalid_request");
    }
}
