//! Admin routes for operating the config: `POST /admin/reload` (the same path as
//! `SIGHUP` and the file watch) and `GET /admin/config` (the config in force, secrets
//! redacted).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};

use crate::config::Snapshot;
use crate::http::error::ApiError;
use crate::reload::{self, Trigger};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/reload", post(reload_config))
        .route("/admin/config", get(show_config))
}

/// 200 `{generation, changes}`; 422 `config_invalid` with every error; 409
/// `restart_required` (bootstrap keys) or `reload_unavailable` (no config file).
async fn reload_config(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || reload::reload(&st, Trigger::Admin))
        .await
        .map_err(|_| ApiError::Internal)?;
    let r = result?;
    Ok(Json(serde_json::json!({
        "generation": r.generation,
        "changes": r.changes,
    })))
}

/// The config in force: generation, source, the file as written (as JSON) and the
/// effective values compiled from it. Every secret is redacted.
async fn show_config(State(state): State<AppState>) -> Json<serde_json::Value> {
    let snap = state.config.load_full();
    let written = state
        .reload
        .text()
        .and_then(|t| toml::from_str::<toml::Value>(&t).ok())
        .and_then(|v| serde_json::to_value(v).ok())
        .map(|mut v| {
            redact(&mut v, &secrets(&snap), None);
            v
        });
    Json(serde_json::json!({
        "generation": snap.generation,
        "source": snap.source,
        "file": written,
        "effective": effective(&snap),
    }))
}

const REDACTED: &str = "<redacted>";

/// Every resolved secret of the snapshot (credentials, admin token, webhook URLs).
fn secrets(snap: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = snap
        .gateways
        .iter()
        .flat_map(|g| {
            let c = &g.spec.credentials;
            [&c.key_id, &c.key_secret, &c.webhook_secret]
        })
        .chain([&snap.admin_token])
        .flatten()
        .map(|s| s.expose().to_string())
        .chain(snap.alerts.iter().map(|a| a.url.expose().to_string()))
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Replaces, anywhere in `v`: values of keys that hold secrets (a webhook `url`,
/// anything named like a secret but not a `*_env`/`*_file` reference), any string
/// containing a resolved secret, and the password of any URL's userinfo.
pub(crate) fn redact(v: &mut serde_json::Value, secrets: &[String], key: Option<&str>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                redact(child, secrets, Some(k));
            }
        }
        serde_json::Value::Array(items) => {
            for child in items {
                redact(child, secrets, key);
            }
        }
        serde_json::Value::String(s) => {
            let k = key.unwrap_or("");
            let reference = k.ends_with("_env") || k.ends_with("_file");
            let secret_key = !reference
                && ["secret", "token", "password", "api_key"]
                    .iter()
                    .any(|w| k.contains(w));
            if secret_key || secrets.iter().any(|x| s.contains(x.as_str())) {
                *s = REDACTED.to_string();
            } else if let Some(clean) = strip_userinfo(s) {
                *s = clean;
            }
        }
        _ => {}
    }
}

/// `scheme://user:pass@host/...` → `scheme://user:<redacted>@host/...`.
fn strip_userinfo(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (userinfo, host) = rest[..authority_end].rsplit_once('@')?;
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    Some(format!(
        "{scheme}://{user}:{REDACTED}@{host}{}",
        &rest[authority_end..]
    ))
}

fn effective(snap: &Snapshot) -> serde_json::Value {
    let b = &snap.bootstrap;
    let name = |i: usize| snap.gateways.get(i).map_or("?", |g| g.spec.name.as_str());
    let gateways: Vec<_> = snap
        .gateways
        .iter()
        .map(|g| {
            serde_json::json!({
                "name": g.spec.name,
                "connector": g.spec.kind.as_str(),
                "base_url": g.spec.base_url,
                "timeout_ms": g.spec.timeout.as_millis() as u64,
                "connect_timeout_ms": g.spec.connect_timeout.as_millis() as u64,
                "idempotent": g.spec.idempotent,
            })
        })
        .collect();
    let routes: Vec<_> = snap
        .routes
        .iter()
        .map(|r| {
            let split: Vec<_> = r
                .split
                .entries()
                .iter()
                .map(|e| serde_json::json!({"gateway": name(e.gateway), "weight": e.weight, "permille": r.split.permille(e.gateway)}))
                .collect();
            let fallback: Vec<&str> = r.fallback.iter().map(|&i| name(i)).collect();
            serde_json::json!({"name": r.name, "match": r.matcher.describe(), "split": split, "fallback": fallback})
        })
        .collect();
    let alerts: Vec<_> = snap
        .alerts
        .iter()
        .map(|a| serde_json::json!({"name": a.name, "url": REDACTED, "min_severity": a.min_severity.as_str(), "timeout_ms": a.timeout.as_millis() as u64}))
        .collect();
    let mut v = serde_json::json!({
        "listen": b.listen.to_string(),
        "admin_listen": b.admin_listen.to_string(),
        "ledger_path": b.ledger_path.display().to_string(),
        "admin_token": snap.admin_token.as_ref().map(|_| REDACTED),
        "gateways": gateways,
        "routes": routes,
        "alerts": alerts,
    });
    redact(&mut v, &secrets(snap), None);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_values_keys_and_userinfo() {
        let mut v = serde_json::json!({
            "admin": {"token_env": "ADMIN_TOKEN"},
            "sink": [{"url": "redis://u:pw@h:6379/0", "secret_env": "S"}],
            "alert": [{"url": "https://hooks.example/T/B/abc"}],
            "note": "contains s3cr3t inside",
            "api_key": "zzz",
        });
        redact(
            &mut v,
            &["s3cr3t".into(), "https://hooks.example/T/B/abc".into()],
            None,
        );
        assert_eq!(v["admin"]["token_env"], "ADMIN_TOKEN");
        assert_eq!(v["sink"][0]["url"], "redis://u:<redacted>@h:6379/0");
        assert_eq!(v["sink"][0]["secret_env"], "S");
        assert_eq!(v["alert"][0]["url"], REDACTED);
        assert_eq!(v["note"], REDACTED);
        assert_eq!(v["api_key"], REDACTED);
    }
}
