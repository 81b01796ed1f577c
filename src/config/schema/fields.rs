//! The schema itself: every table and key the config file may hold, with its shape,
//! and the key names that hold a secret when written inline.

#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    Str,
    /// A non-negative integer that fits a `u32` / `u64`.
    U32,
    U64,
    I64,
    Bool,
    StrList,
    /// A number, integer or float.
    F64,
    /// An array of non-negative integers.
    U32List,
    /// A table of string values (`tags`).
    StrMap,
    Table(&'static [Field]),
    /// `[[name]]` or `name = [{...}, ...]`.
    Tables(&'static [Field]),
}

pub(crate) type Field = (&'static str, Shape);

pub(crate) const ROOT: &[Field] = &[
    ("server", Shape::Table(SERVER)),
    ("admin", Shape::Table(ADMIN)),
    ("ledger", Shape::Table(LEDGER)),
    ("gateway", Shape::Tables(GATEWAY)),
    ("route", Shape::Tables(ROUTE)),
    ("alert", Shape::Tables(ALERT)),
    ("pipeline", Shape::Table(PIPELINE)),
    ("sink", Shape::Tables(SINK)),
    ("callbacks", Shape::Table(CALLBACKS)),
    ("watchdog", Shape::Table(WATCHDOG)),
    ("health", Shape::Table(crate::config::health::HEALTH)),
    ("upi_limits", Shape::Table(crate::config::limits::FIELDS)),
    ("refunds", Shape::Table(REFUNDS)),
];
const REFUNDS: &[Field] = &[
    ("first_check_after", Shape::Str),
    ("check_interval", Shape::Str),
    ("max_checks", Shape::U32),
    ("max_attempts", Shape::U32),
    ("scan_interval", Shape::Str),
    ("auto", Shape::Table(REFUNDS_AUTO)),
];
const REFUNDS_AUTO: &[Field] = &[
    ("tpv_failed", Shape::Bool),
    ("duplicate_payment", Shape::Bool),
    ("late_success", Shape::Bool),
    ("dry_run", Shape::Bool),
];
const PIPELINE: &[Field] = &[
    ("max_attempts", Shape::U32),
    ("backoff_initial", Shape::Str),
    ("backoff_max", Shape::Str),
    ("batch", Shape::U32),
    ("poll", Shape::Str),
];
const SINK: &[Field] = &[
    ("name", Shape::Str),
    ("kind", Shape::Str),
    ("path", Shape::Str),
    ("url", Shape::Str),
    ("secret_env", Shape::Str),
    ("secret_file", Shape::Str),
    ("timeout", Shape::Str),
    ("stream", Shape::Str),
    ("maxlen", Shape::U64),
    ("subject", Shape::Str),
];
const CALLBACKS: &[Field] = &[
    ("max_body_bytes", Shape::U64),
    ("replay_tolerance", Shape::Str),
    ("late_success_refund", Shape::Bool),
    ("orphan_grace", Shape::Str),
    ("rate_limit_per_second", Shape::U32),
];
const WATCHDOG: &[Field] = &[
    ("enabled", Shape::Bool),
    ("ttl", Shape::Str),
    ("ttl_by_method", Shape::StrMap),
    ("first_check_after", Shape::Str),
    ("check_interval", Shape::Str),
    ("max_checks", Shape::U32),
    ("scan_interval", Shape::Str),
    ("expire_after", Shape::Str),
    ("npci_floor", Shape::Bool),
];
pub(super) const SERVER: &[Field] = &[
    ("listen", Shape::Str),
    ("max_body_bytes", Shape::U64),
    ("request_timeout", Shape::Str),
    ("shutdown_grace", Shape::Str),
    ("max_attempts", Shape::U32),
    ("retry_budget_percent", Shape::U32),
    ("sticky_key", Shape::Str),
    ("public_url", Shape::Str),
    ("order_guard_live", Shape::Str),
    ("order_guard_succeeded", Shape::Str),
    ("order_guard_in_doubt", Shape::Str),
    ("max_amount_paise", Shape::I64),
    ("header_read_timeout", Shape::Str),
    ("idle_timeout", Shape::Str),
    ("max_connections", Shape::U32),
    ("max_inflight_payments", Shape::U32),
];
pub(super) const ADMIN: &[Field] = &[
    ("listen", Shape::Str),
    ("token_env", Shape::Str),
    ("token_file", Shape::Str),
    ("status_public", Shape::Bool),
];
const LEDGER: &[Field] = &[
    ("path", Shape::Str),
    ("group_commit_max", Shape::U32),
    ("synchronous", Shape::Str),
    ("integrity_check", Shape::Str),
];
pub(super) const GATEWAY: &[Field] = &[
    ("name", Shape::Str),
    ("connector", Shape::Str),
    ("base_url", Shape::Str),
    ("key_id_env", Shape::Str),
    ("key_id_file", Shape::Str),
    ("key_secret_env", Shape::Str),
    ("key_secret_file", Shape::Str),
    ("webhook_secret_env", Shape::Str),
    ("webhook_secret_file", Shape::Str),
    ("previous_webhook_secret_env", Shape::Str),
    ("previous_webhook_secret_file", Shape::Str),
    ("jwt_private_key_env", Shape::Str),
    ("jwt_private_key_file", Shape::Str),
    ("jwt_public_key_env", Shape::Str),
    ("jwt_public_key_file", Shape::Str),
    ("connect_timeout", Shape::Str),
    ("timeout", Shape::Str),
    ("pool_size", Shape::U32),
    ("idempotent", Shape::Bool),
];
const ROUTE: &[Field] = &[
    ("name", Shape::Str),
    ("match", Shape::Table(MATCH)),
    ("split", Shape::Tables(SPLIT)),
    ("fallback", Shape::StrList),
];
const MATCH: &[Field] = &[
    ("method", Shape::StrList),
    ("min_amount", Shape::I64),
    ("max_amount", Shape::I64),
    ("currency", Shape::Str),
    ("tags", Shape::StrMap),
];
const ALERT: &[Field] = &[
    ("name", Shape::Str),
    ("url", Shape::Str),
    ("url_env", Shape::Str),
    ("min_severity", Shape::Str),
    ("timeout", Shape::Str),
];
const SPLIT: &[Field] = &[
    ("gateway", Shape::Str),
    ("weight", Shape::U32),
    ("ramp", Shape::Table(crate::config::health::RAMP)),
];

/// Key names that hold a secret when written inline.
pub(super) const SECRET_WORDS: &[&str] = &[
    "key_id",
    "key_secret",
    "webhook_secret",
    "previous_webhook_secret",
    "jwt_private_key",
    "jwt_public_key",
    "token",
    "password",
    "secret",
    "api_key",
    "apikey",
    "client_secret",
    "secret_key",
];

/// Every leaf key name in the schema (for the example-file test).
#[cfg(test)]
pub(crate) fn all_keys() -> Vec<&'static str> {
    fn collect(fields: &'static [Field], out: &mut Vec<&'static str>) {
        for (name, shape) in fields {
            match shape {
                Shape::Table(f) | Shape::Tables(f) => collect(f, out),
                _ => out.push(name),
            }
        }
    }
    let mut out = Vec::new();
    collect(ROOT, &mut out);
    out
}
