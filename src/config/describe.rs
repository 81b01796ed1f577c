//! Human summaries of a compiled config: the screen `check` prints, and the list
//! of bootstrap keys a reload would change.

use std::fmt::Write;

use super::{Bootstrap, Snapshot};

/// The one-screen summary `switchyard check` prints for a valid file: listeners,
/// gateways, and each route in match order with its split (weights and the
/// effective share of the precomputed table) and fallbacks.
pub fn describe(s: &Snapshot) -> String {
    let mut out = String::new();
    let b = &s.bootstrap;
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{} (generation {})", s.source, s.generation);
    let _ = writeln!(
        out,
        "listen {}  admin {}  ledger {} (synchronous {})",
        b.listen,
        b.admin_listen,
        b.ledger_path.display(),
        if b.synchronous_full { "full" } else { "normal" }
    );
    let width = s
        .gateways
        .iter()
        .map(|g| g.spec.name.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "\ngateways ({}):", s.gateways.len());
    for g in &s.gateways {
        let spec = &g.spec;
        let _ = writeln!(
            out,
            "  {:width$}  {:8}  {}  idempotent={}",
            spec.name,
            spec.kind.as_str(),
            spec.base_url,
            if spec.idempotent { "yes" } else { "no" },
        );
    }
    let _ = writeln!(out, "\nroutes ({}, first match wins):", s.routes.len());
    let name = |i: usize| s.gateways.get(i).map_or("?", |g| g.spec.name.as_str());
    for (n, r) in s.routes.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}: {}", n + 1, r.name, r.matcher.describe());
        let split: Vec<String> = r
            .split
            .entries()
            .iter()
            .map(|e| {
                let p = r.split.permille(e.gateway);
                format!(
                    "{} w={} ({}.{}%)",
                    name(e.gateway),
                    e.weight,
                    p / 10,
                    p % 10
                )
            })
            .collect();
        let _ = writeln!(out, "     split:    {}", split.join(", "));
        let fallback: Vec<&str> = r.fallback.iter().map(|&i| name(i)).collect();
        let fallback = if fallback.is_empty() {
            "none".to_string()
        } else {
            fallback.join(" -> ")
        };
        let _ = writeln!(out, "     fallback: {fallback}");
    }
    out
}

/// The bootstrap keys that differ between `old` and `new` (e.g. `server.listen`),
/// in file order. A reload with any of these is refused: they need a restart.
pub fn bootstrap_changes(old: &Bootstrap, new: &Bootstrap) -> Vec<String> {
    let checks = [
        ("server.listen", old.listen != new.listen),
        ("admin.listen", old.admin_listen != new.admin_listen),
        ("ledger.path", old.ledger_path != new.ledger_path),
        (
            "ledger.group_commit_max",
            old.group_commit_max != new.group_commit_max,
        ),
        (
            "ledger.synchronous",
            old.synchronous_full != new.synchronous_full,
        ),
        (
            "ledger.integrity_check",
            old.ledger_integrity != new.ledger_integrity,
        ),
        (
            "server.header_read_timeout",
            old.edge.header_read_timeout != new.edge.header_read_timeout,
        ),
        (
            "server.idle_timeout",
            old.edge.idle_timeout != new.edge.idle_timeout,
        ),
        (
            "server.max_connections",
            old.edge.max_connections != new.edge.max_connections,
        ),
        (
            "server.max_inflight_payments",
            old.edge.max_inflight_payments != new.edge.max_inflight_payments,
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(key, _)| key.to_string())
        .collect()
}
