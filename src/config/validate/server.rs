//! `[server]`, `[admin]` and `[ledger]`: the edge's limits and policies, the admin
//! listener and token, the ledger file and how it is written.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{addr, duration, edge, http_url, int_in, one_of, secret_ref};
use crate::config::raw::{RawAdmin, RawLedger, RawServer};
use crate::config::spans::Diagnostics;
use crate::config::{EnvLookup, ServerPolicy, StickyKey};
use crate::ledger::money::{OrderPolicy, OrderRule};
use crate::model::Secret;

pub(super) fn server(raw: &RawServer, diag: &mut Diagnostics<'_>) -> ServerPolicy {
    let max_body_bytes = match raw.max_body_bytes {
        None => 16_384,
        Some(0) => {
            diag.error("server.max_body_bytes", "must be at least 1");
            16_384
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let max_attempts = int_in(diag, "server.max_attempts", raw.max_attempts, 1..=5, 2);
    let retry_budget_percent = int_in(
        diag,
        "server.retry_budget_percent",
        raw.retry_budget_percent,
        0..=100,
        20,
    );
    let sticky_key = one_of(
        diag,
        "server.sticky_key",
        raw.sticky_key.as_deref(),
        &[
            ("order_id", StickyKey::OrderId),
            ("idempotency_key", StickyKey::IdempotencyKey),
        ],
        StickyKey::OrderId,
    );
    if let Some(u) = &raw.public_url {
        http_url(diag, "server.public_url", u);
    }
    let rules = [("pin", OrderRule::Pin), ("refuse", OrderRule::Refuse)];
    let d = OrderPolicy::default();
    let order_guard = OrderPolicy {
        live: one_of(
            diag,
            "server.order_guard_live",
            raw.order_guard_live.as_deref(),
            &rules,
            d.live,
        ),
        succeeded: one_of(
            diag,
            "server.order_guard_succeeded",
            raw.order_guard_succeeded.as_deref(),
            &rules,
            d.succeeded,
        ),
        in_doubt: one_of(
            diag,
            "server.order_guard_in_doubt",
            raw.order_guard_in_doubt.as_deref(),
            &rules,
            d.in_doubt,
        ),
    };
    ServerPolicy {
        max_body_bytes,
        request_timeout: duration(
            diag,
            "server.request_timeout",
            raw.request_timeout.as_deref(),
            15,
        ),
        shutdown_grace: duration(
            diag,
            "server.shutdown_grace",
            raw.shutdown_grace.as_deref(),
            10,
        ),
        max_attempts,
        retry_budget_percent,
        sticky_key,
        order_guard,
        public_url: raw
            .public_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string()),
        max_amount_paise: edge::max_amount(raw, diag),
    }
}

pub(super) fn admin(
    raw: &RawAdmin,
    env: EnvLookup<'_>,
    diag: &mut Diagnostics<'_>,
) -> (SocketAddr, Option<Secret>) {
    let listen = addr(
        diag,
        "admin.listen",
        raw.listen.as_deref(),
        ([127, 0, 0, 1], 9090),
    );
    let token = secret_ref(
        diag,
        env,
        "admin",
        "token",
        raw.token_env.as_deref(),
        raw.token_file.as_deref(),
    );
    (listen, token)
}

pub(super) fn ledger(
    raw: &RawLedger,
    diag: &mut Diagnostics<'_>,
) -> (PathBuf, usize, bool, crate::ledger::Integrity) {
    let path = match raw.path.as_deref() {
        None => PathBuf::from("data/switchyard.db"),
        Some(p) if p.trim().is_empty() => {
            diag.error("ledger.path", "must not be empty");
            PathBuf::new()
        }
        Some(p) => PathBuf::from(p),
    };
    let group = int_in(
        diag,
        "ledger.group_commit_max",
        raw.group_commit_max,
        1..=100_000,
        512,
    );
    let full = one_of(
        diag,
        "ledger.synchronous",
        raw.synchronous.as_deref(),
        &[("full", true), ("normal", false)],
        true,
    );
    let integrity = one_of(
        diag,
        "ledger.integrity_check",
        raw.integrity_check.as_deref(),
        &[
            ("quick", crate::ledger::Integrity::Quick),
            ("full", crate::ledger::Integrity::Full),
            ("off", crate::ledger::Integrity::Off),
        ],
        crate::ledger::Integrity::Quick,
    );
    (path, group as usize, full, integrity)
}
