//! `[[gateway]]`: names, connectors, URLs, timeouts and credential references.

use std::collections::HashMap;

use super::{duration, http_url, one_of, secret_ref};
use crate::config::EnvLookup;
use crate::config::raw::RawGateway;
use crate::config::spans::Diagnostics;
use crate::config::suggest::hint;
use crate::connectors::{ConnectorKind, Credentials, GatewaySpec};

/// Gateway names in file order, for lookups (first definition wins) and suggestions.
#[derive(Debug, Default)]
pub(crate) struct GatewayNames {
    order: Vec<String>,
    index: HashMap<String, usize>,
}

impl GatewayNames {
    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// `unknown gateway "payuu" (did you mean "payu"?)`
    pub(crate) fn unknown(&self, name: &str) -> String {
        format!(
            "unknown gateway \"{name}\"{}",
            hint(name, self.order.iter().map(String::as_str))
        )
    }
}

pub(super) fn validate(
    raw: &[RawGateway],
    env: EnvLookup<'_>,
    diag: &mut Diagnostics<'_>,
) -> (Vec<GatewaySpec>, GatewayNames) {
    if raw.is_empty() {
        diag.error("gateway", "at least one [[gateway]] is required");
    }
    let mut names = GatewayNames::default();
    let mut specs = Vec::with_capacity(raw.len());
    for (i, g) in raw.iter().enumerate() {
        let at = format!("gateway[{i}]");
        let name = g.name.clone().unwrap_or_default();
        if unique_name(diag, &at, "gateway", g.name.as_deref(), &names.index) {
            names.index.insert(name.clone(), i);
        }
        names.order.push(name.clone());

        let kind = match g.connector.as_deref() {
            None => {
                diag.error(&format!("{at}.connector"), "connector is required");
                ConnectorKind::Generic
            }
            Some(c) => {
                let opts: Vec<_> = ConnectorKind::all().map(|k| (k.as_str(), k)).collect();
                one_of(
                    diag,
                    &format!("{at}.connector"),
                    Some(c),
                    &opts,
                    ConnectorKind::Generic,
                )
            }
        };
        let base_url = match g.base_url.as_deref() {
            None => {
                diag.error(&format!("{at}.base_url"), "base_url is required");
                String::new()
            }
            Some(u) => {
                http_url(diag, &format!("{at}.base_url"), u);
                u.trim_end_matches('/').to_string()
            }
        };
        let credentials = credentials(g, kind, &at, env, diag);
        let idempotent = g.idempotent.unwrap_or(false);
        if idempotent && !kind.idempotency().allows_retry() {
            diag.error(
                &format!("{at}.idempotent"),
                format!(
                    "the {} connector cannot honour a retry (no idempotency key, no dedupe \
                     on our reference): a retry after a timeout could charge twice; set \
                     idempotent = false",
                    kind.as_str()
                ),
            );
        }
        let pool_size = match g.pool_size {
            None => 64,
            Some(n) if n <= 10_000 => n as usize,
            Some(n) => {
                diag.error(
                    &format!("{at}.pool_size"),
                    format!("must be at most 10000 (found {n})"),
                );
                64
            }
        };
        specs.push(GatewaySpec {
            name,
            kind,
            base_url,
            credentials,
            connect_timeout: duration(
                diag,
                &format!("{at}.connect_timeout"),
                g.connect_timeout.as_deref(),
                2,
            ),
            timeout: duration(diag, &format!("{at}.timeout"), g.timeout.as_deref(), 8),
            pool_size,
            idempotent: idempotent && kind.idempotency().allows_retry(),
        });
    }
    (specs, names)
}

fn credentials(
    g: &RawGateway,
    kind: ConnectorKind,
    at: &str,
    env: EnvLookup<'_>,
    diag: &mut Diagnostics<'_>,
) -> Credentials {
    let mut secret = |name: &str, env_name: Option<&str>, file: Option<&str>| {
        secret_ref(diag, env, at, name, env_name, file)
    };
    let key_id = secret("key_id", g.key_id_env.as_deref(), g.key_id_file.as_deref());
    let key_secret = secret(
        "key_secret",
        g.key_secret_env.as_deref(),
        g.key_secret_file.as_deref(),
    );
    let webhook_secret = secret(
        "webhook_secret",
        g.webhook_secret_env.as_deref(),
        g.webhook_secret_file.as_deref(),
    );
    let previous_webhook_secret = secret(
        "previous_webhook_secret",
        g.previous_webhook_secret_env.as_deref(),
        g.previous_webhook_secret_file.as_deref(),
    );
    let jwt_private_key = secret(
        "jwt_private_key",
        g.jwt_private_key_env.as_deref(),
        g.jwt_private_key_file.as_deref(),
    );
    let jwt_public_key = secret(
        "jwt_public_key",
        g.jwt_public_key_env.as_deref(),
        g.jwt_public_key_file.as_deref(),
    );
    jwt_keys(g, kind, at, diag);
    if kind.needs_api_keys() {
        // EBANX authenticates with its integration key alone.
        let needs_id = kind != ConnectorKind::Ebanx;
        let needs = [
            (
                "key_id",
                needs_id && g.key_id_env.is_none() && g.key_id_file.is_none(),
            ),
            (
                "key_secret",
                g.key_secret_env.is_none() && g.key_secret_file.is_none(),
            ),
        ];
        for (name, missing) in needs {
            if missing {
                diag.error(
                    &format!("{at}.{name}_env"),
                    format!(
                        "the {} connector needs {name}_env = \"NAME\" or {name}_file = \"/path\"",
                        kind.as_str()
                    ),
                );
            }
        }
    }
    Credentials {
        key_id,
        key_secret,
        webhook_secret,
        previous_webhook_secret,
        jwt_private_key,
        jwt_public_key,
    }
}

/// Juspay EC's JWT webhook keys: on `juspay_ec` only, and both or neither (the
/// private key decrypts, the public key verifies; one alone authenticates nothing).
fn jwt_keys(g: &RawGateway, kind: ConnectorKind, at: &str, diag: &mut Diagnostics<'_>) {
    let private = g.jwt_private_key_env.is_some() || g.jwt_private_key_file.is_some();
    let public = g.jwt_public_key_env.is_some() || g.jwt_public_key_file.is_some();
    if !private && !public {
        return;
    }
    if kind != ConnectorKind::JuspayEc {
        let key = if private { "private" } else { "public" };
        diag.error(
            &format!("{at}.jwt_{key}_key_env"),
            format!(
                "JWT webhook keys are for the juspay_ec connector only, not {}",
                kind.as_str()
            ),
        );
    } else if private != public {
        let missing = if private { "public" } else { "private" };
        diag.error(
            &format!("{at}.jwt_{missing}_key_env"),
            format!(
                "JWT webhooks need both keys: set jwt_{missing}_key_env = \"NAME\" or \
                 jwt_{missing}_key_file = \"/path\" (Juspay's public key verifies, the \
                 merchant's private key decrypts)"
            ),
        );
    }
}

/// Checks `{at}.name`: present, 1-64 of `a-z 0-9 _ -`, not already in `seen`
/// (name → index of its first definition, as `{what}[i]`). `true` when it is new.
pub(super) fn unique_name(
    diag: &mut Diagnostics<'_>,
    at: &str,
    what: &str,
    name: Option<&str>,
    seen: &HashMap<String, usize>,
) -> bool {
    let path = format!("{at}.name");
    match name {
        None => diag.error(&path, "name is required"),
        Some(n) if !valid_name(n) => diag.error(
            &path,
            format!("\"{n}\" must be 1-64 characters of a-z, 0-9, _ and -"),
        ),
        Some(n) => match seen.get(n) {
            Some(first) => diag.error(
                &path,
                format!("duplicate {what} name \"{n}\" (first defined at {what}[{first}])"),
            ),
            None => return true,
        },
    }
    false
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const KEYS: &str = concat!(
        "jwt_private_key_file = \"",
        env!("CARGO_MANIFEST_DIR"),
        "/src/sandbox/keys/juspay_ec_merchant_private.pem\"\n",
        "jwt_public_key_file = \"",
        env!("CARGO_MANIFEST_DIR"),
        "/src/sandbox/keys/juspay_ec_sandbox_public.pem\"\n"
    );

    fn config(connector: &str, extra: &str) -> String {
        format!(
            "[[gateway]]\nname = \"j\"\nconnector = \"{connector}\"\nbase_url = \"http://127.0.0.1:1\"\n\
             key_id_env = \"K\"\nkey_secret_env = \"S\"\n{extra}\n\
             [[route]]\nname = \"d\"\nsplit = [{{ gateway = \"j\", weight = 1 }}]\n"
        )
    }

    fn paths(text: &str) -> Vec<String> {
        match load_str(text, "t.toml", &|_| Some("v".into()), 1) {
            Ok(_) => Vec::new(),
            Err(e) => {
                e.0.into_iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect()
            }
        }
    }

    #[test]
    fn jwt_keys_are_for_juspay_ec_and_come_in_pairs() {
        assert_eq!(paths(&config("juspay_ec", KEYS)), Vec::<String>::new());
        let errs = paths(&config("razorpay", KEYS));
        assert!(
            errs.len() == 1 && errs[0].contains("juspay_ec connector only"),
            "{errs:?}"
        );
        let one = KEYS.lines().next().unwrap_or_default();
        let errs = paths(&config("juspay_ec", one));
        assert!(
            errs.len() == 1 && errs[0].starts_with("gateway[0].jwt_public_key_env"),
            "{errs:?}"
        );
        // A key that is not a key: refused when the connector is built.
        let bad = KEYS.replace("juspay_ec_sandbox_public.pem", "ebanx_sandbox_private.pem");
        let errs = paths(&config("juspay_ec", &bad));
        assert!(
            errs.len() == 1 && errs[0].contains("JWT webhook keys"),
            "{errs:?}"
        );
    }
}
