//! What a reload changes, as one human line per change (returned by
//! `POST /admin/reload` and logged). Secrets are compared, never shown.

use std::collections::BTreeMap;

use crate::config::Snapshot;
use crate::connectors::GatewaySpec;

/// Lines describing how `new` differs from `old`, gateways first, then routes,
/// server policy, admin token and alert webhooks.
pub fn changes(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let gw = |s: &Snapshot| -> BTreeMap<String, GatewaySpec> {
        s.gateways
            .iter()
            .map(|g| (g.spec.name.clone(), g.spec.clone()))
            .collect()
    };
    let (og, ng) = (gw(old), gw(new));
    for (name, spec) in &ng {
        match og.get(name) {
            None => out.push(format!("gateway {name} added")),
            Some(o) if gateway_fields(o) != gateway_fields(spec) => {
                out.push(format!("gateway {name} settings changed"))
            }
            Some(o)
                if o.credentials.key_id != spec.credentials.key_id
                    || o.credentials.key_secret != spec.credentials.key_secret
                    || o.credentials.webhook_secret != spec.credentials.webhook_secret =>
            {
                out.push(format!("gateway {name} credentials changed"))
            }
            Some(_) => {}
        }
    }
    out.extend(
        og.keys()
            .filter(|n| !ng.contains_key(*n))
            .map(|n| format!("gateway {n} removed")),
    );

    let routes = |s: &Snapshot| -> BTreeMap<String, (String, String, String)> {
        s.routes
            .iter()
            .map(|r| {
                let name = |i: usize| s.gateways.get(i).map_or("?", |g| g.spec.name.as_str());
                let split: Vec<String> = r
                    .split
                    .entries()
                    .iter()
                    .map(|e| format!("{} {}‰", name(e.gateway), r.split.permille(e.gateway)))
                    .collect();
                let fallback: Vec<&str> = r.fallback.iter().map(|&i| name(i)).collect();
                (
                    r.name.clone(),
                    (
                        r.matcher.describe(),
                        split.join(", "),
                        fallback.join(" -> "),
                    ),
                )
            })
            .collect()
    };
    let (or, nr) = (routes(old), routes(new));
    let order = |s: &Snapshot| s.routes.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    for (name, (m, split, fb)) in &nr {
        match or.get(name) {
            None => out.push(format!("route {name} added")),
            Some((om, osplit, ofb)) => {
                if om != m {
                    out.push(format!("route {name}: match {om} → {m}"));
                }
                if osplit != split {
                    out.push(format!("route {name}: split {osplit} → {split}"));
                }
                if ofb != fb {
                    out.push(format!("route {name}: fallback [{ofb}] → [{fb}]"));
                }
            }
        }
    }
    out.extend(
        or.keys()
            .filter(|n| !nr.contains_key(*n))
            .map(|n| format!("route {n} removed")),
    );
    if order(old) != order(new) && or.len() == nr.len() && or.keys().all(|k| nr.contains_key(k)) {
        out.push("route order changed".to_string());
    }
    if format!("{:?}", old.server) != format!("{:?}", new.server) {
        out.push("server policy changed".to_string());
    }
    if old.admin_token != new.admin_token {
        out.push("admin token changed".to_string());
    }
    if old.alerts != new.alerts {
        out.push("alert webhooks changed".to_string());
    }
    out
}

/// Everything of a gateway but its credentials (which are compared separately).
fn gateway_fields(s: &GatewaySpec) -> String {
    format!(
        "{} {} {:?} {:?} {} {}",
        s.kind.as_str(),
        s.base_url,
        s.connect_timeout,
        s.timeout,
        s.pool_size,
        s.idempotent
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn snap(weights: (u32, u32), extra: &str) -> Snapshot {
        let text = format!(
            "[[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:1\"\n\
             [[gateway]]\nname = \"b\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:2\"\n{extra}\
             [[route]]\nname = \"r\"\nsplit = [{{ gateway = \"a\", weight = {} }}, {{ gateway = \"b\", weight = {} }}]\n",
            weights.0, weights.1
        );
        match load_str(&text, "t.toml", &|_| None, 1) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn weight_change_is_one_line() {
        let c = changes(&snap((50, 50), ""), &snap((80, 20), ""));
        assert_eq!(c, vec!["route r: split a 500‰, b 500‰ → a 800‰, b 200‰"]);
    }

    #[test]
    fn identical_configs_have_no_changes() {
        assert!(changes(&snap((1, 1), ""), &snap((1, 1), "")).is_empty());
    }

    #[test]
    fn added_gateway_and_alert() {
        let extra = "[[gateway]]\nname = \"c\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:3\"\n\
                     [[alert]]\nname = \"x\"\nurl = \"http://127.0.0.1:4/\"\n";
        let c = changes(&snap((1, 1), ""), &snap((1, 1), extra));
        assert_eq!(c, vec!["gateway c added", "alert webhooks changed"]);
    }
}
