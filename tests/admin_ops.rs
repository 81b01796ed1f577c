//! `POST /admin/reload` and `GET /admin/config` on the admin listener: a missing or
//! wrong token is refused, and no resolved secret ever appears in the config view.

mod common;

use std::sync::Arc;

use common::ops::{OpsServer, TOKEN, two_gateways};
use common::{Behaviour, FakeGateway};

#[tokio::test]
async fn admin_routes_refuse_a_missing_or_wrong_token() {
    let a = FakeGateway::start(Behaviour::Create).await;
    let s = OpsServer::start(&two_gateways(a.addr, a.addr, 1, 0)).await;
    for (method, path) in [("GET", "/admin/config"), ("POST", "/admin/reload")] {
        let m: reqwest::Method = method.parse().unwrap();
        let none = s
            .client
            .request(m.clone(), s.admin_url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401, "{method} {path} without a token");
        let body: serde_json::Value = none.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        for wrong in [
            "wrong",
            "admin-t0ken-valuX",
            "admin-t0ken-value-and-more",
            "",
        ] {
            let r = s
                .client
                .request(m.clone(), s.admin_url(path))
                .bearer_auth(wrong)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {wrong:?}");
        }
        let r = s
            .client
            .request(m, s.admin_url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{method} {path} with the token");
    }
    // A refused reload changed nothing.
    assert_eq!(s.state.config.load().generation, 2);
}

#[tokio::test]
async fn config_view_redacts_every_secret() {
    let a = FakeGateway::start(Behaviour::Create).await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("key_secret");
    std::fs::write(&secret_file, "f1le-s3cret-value\n").unwrap();
    let body = format!(
        "[[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://{}\"\n\
         key_id_env = \"GW_KEY_ID\"\nkey_secret_file = {:?}\nwebhook_secret_env = \"GW_HOOK\"\n\n\
         [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = 1 }}]\n\n\
         [[alert]]\nname = \"slack\"\nurl_env = \"SLACK_URL\"\n\n\
         [[alert]]\nname = \"ops\"\nurl = \"http://ops:p4ss@127.0.0.1:1/hook\"\n",
        a.addr,
        secret_file.display().to_string()
    );
    let env: switchyard::config::Env = Arc::new(|k| match k {
        "SLACK_URL" => Some("http://127.0.0.1:1/T0/B0/sl4ck-t0ken".to_string()),
        "GW_KEY_ID" => Some("env-k3y-id".to_string()),
        "GW_HOOK" => Some("env-h00k-secret".to_string()),
        _ => None,
    });
    let s = OpsServer::start_with_env(&body, env).await;
    let r = s
        .client
        .get(s.admin_url("/admin/config"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for secret in [
        "f1le-s3cret-value",
        "sl4ck-t0ken",
        "env-k3y-id",
        "env-h00k-secret",
        TOKEN,
        "p4ss",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["generation"], 1);
    // The file as written keeps the references (they are names, not secrets)...
    assert_eq!(v["file"]["gateway"][0]["key_id_env"], "GW_KEY_ID");
    assert_eq!(v["file"]["alert"][0]["url_env"], "SLACK_URL");
    assert_eq!(v["file"]["alert"][1]["url"], "<redacted>");
    // ...and the effective view shows what was compiled.
    assert_eq!(v["effective"]["routes"][0]["split"][0]["permille"], 1000);
    assert_eq!(v["effective"]["admin_token"], "<redacted>");
    assert_eq!(v["effective"]["alerts"][0]["url"], "<redacted>");
    assert_eq!(v["effective"]["alerts"][1]["min_severity"], "warning");
}
