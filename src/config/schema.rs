//! The shape of the file, walked over the parsed document before serde sees it.
//!
//! serde stops at the first unknown key or wrong type; `check` reports all of them,
//! each at its key, records where every key is written (for the semantic errors
//! that follow), and lists the offending keys so they can be cut from the document
//! and the rest deserialized and validated in the same run.
//!
//! Keep this in step with [`raw`](super::raw): the `schema_matches_raw` test
//! deserializes a document generated from this schema.

use toml_edit::{Item, TableLike, Value};

use super::spans::{Diagnostics, join};
use super::suggest::hint;

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
    ("health", Shape::Table(super::health::HEALTH)),
    ("upi_limits", Shape::Table(super::limits::FIELDS)),
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
const SERVER: &[Field] = &[
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
const ADMIN: &[Field] = &[
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
const GATEWAY: &[Field] = &[
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
    ("ramp", Shape::Table(super::health::RAMP)),
];

/// Key names that hold a secret when written inline.
const SECRET_WORDS: &[&str] = &[
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

/// One step of a key path inside the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Walks `root` against [`ROOT`]: records spans, reports unknown keys and wrong
/// types, and returns the paths of the keys to cut before deserializing.
pub(crate) fn check(root: &dyn TableLike, diag: &mut Diagnostics<'_>) -> Vec<Vec<Seg>> {
    let mut cut = Vec::new();
    walk_table(root, ROOT, "", &mut Vec::new(), diag, &mut cut);
    cut
}

fn walk_table(
    table: &dyn TableLike,
    fields: &'static [Field],
    path: &str,
    segs: &mut Vec<Seg>,
    diag: &mut Diagnostics<'_>,
    cut: &mut Vec<Vec<Seg>>,
) {
    for (name, item) in table.iter() {
        let key_path = join(path, name);
        let key_off = table.key(name).and_then(|k| k.span()).map(|s| s.start);
        diag.record(&key_path, key_off, item.span().map(|s| s.start));
        segs.push(Seg::Key(name.to_string()));
        match fields.iter().find(|(f, _)| *f == name) {
            None => {
                diag.key_error(&key_path, unknown_key(name, fields));
                cut.push(segs.clone());
            }
            Some((_, shape)) => {
                if let Err(msg) = walk_item(item, *shape, &key_path, segs, diag, cut) {
                    diag.error(&key_path, msg);
                    cut.push(segs.clone());
                }
            }
        }
        segs.pop();
    }
}

/// Checks one item; `Err` when its type is wrong (the caller reports and cuts it).
fn walk_item(
    item: &Item,
    shape: Shape,
    path: &str,
    segs: &mut Vec<Seg>,
    diag: &mut Diagnostics<'_>,
    cut: &mut Vec<Vec<Seg>>,
) -> Result<(), String> {
    let found = || format!("found {}", item.type_name());
    match shape {
        Shape::Str => item
            .as_str()
            .map(|_| ())
            .ok_or_else(|| format!("expected a string, {}", found())),
        Shape::Bool => item
            .as_bool()
            .map(|_| ())
            .ok_or_else(|| format!("expected true or false, {}", found())),
        Shape::U32 | Shape::U64 | Shape::I64 => {
            let n = item
                .as_integer()
                .ok_or_else(|| format!("expected an integer, {}", found()))?;
            let fits = match shape {
                Shape::U32 => u32::try_from(n).is_ok(),
                Shape::U64 => n >= 0,
                _ => true,
            };
            if fits {
                Ok(())
            } else if n < 0 {
                Err(format!("must not be negative (found {n})"))
            } else {
                Err(format!("{n} is too large"))
            }
        }
        Shape::StrList => {
            let arr = item
                .as_array()
                .ok_or_else(|| format!("expected an array of strings, {}", found()))?;
            for (i, v) in arr.iter().enumerate() {
                diag.record(&format!("{path}[{i}]"), None, v.span().map(|s| s.start));
            }
            match arr.iter().find(|v| v.as_str().is_none()) {
                Some(v) => Err(format!(
                    "expected an array of strings, found an element of type {}",
                    v.type_name()
                )),
                None => Ok(()),
            }
        }
        Shape::F64 => match item.as_value() {
            Some(Value::Float(_) | Value::Integer(_)) => Ok(()),
            _ => Err(format!("expected a number, {}", found())),
        },
        Shape::U32List => {
            let arr = item
                .as_array()
                .ok_or_else(|| format!("expected an array of integers, {}", found()))?;
            match arr
                .iter()
                .find(|v| v.as_integer().is_none_or(|n| u32::try_from(n).is_err()))
            {
                Some(v) => Err(format!(
                    "expected an array of non-negative integers, found {}",
                    v.type_name()
                )),
                None => Ok(()),
            }
        }
        Shape::StrMap => {
            let t = item
                .as_table_like()
                .ok_or_else(|| format!("expected a table of strings, {}", found()))?;
            for (k, v) in t.iter() {
                let p = join(path, k);
                let key_off = t.key(k).and_then(|k| k.span()).map(|s| s.start);
                diag.record(&p, key_off, v.span().map(|s| s.start));
                if v.as_str().is_none() {
                    diag.error(&p, format!("expected a string, found {}", v.type_name()));
                    let mut s = segs.clone();
                    s.push(Seg::Key(k.to_string()));
                    cut.push(s);
                }
            }
            Ok(())
        }
        Shape::Table(fields) => {
            let t = item
                .as_table_like()
                .ok_or_else(|| format!("expected a table, {}", found()))?;
            walk_table(t, fields, path, segs, diag, cut);
            Ok(())
        }
        Shape::Tables(fields) => {
            let tables: Vec<(&dyn TableLike, Option<usize>)> = match item {
                Item::ArrayOfTables(a) => a
                    .iter()
                    .map(|t| (t as &dyn TableLike, t.span().map(|s| s.start)))
                    .collect(),
                Item::Value(Value::Array(a)) => {
                    let mut v = Vec::new();
                    for el in a.iter() {
                        let Value::InlineTable(t) = el else {
                            return Err(format!(
                                "expected an array of tables, found an element of type {}",
                                el.type_name()
                            ));
                        };
                        v.push((t as &dyn TableLike, t.span().map(|s| s.start)));
                    }
                    v
                }
                _ => {
                    let name = path.rsplit('.').next().unwrap_or(path);
                    return Err(format!(
                        "expected an array of tables (write [[{name}]] per entry), {}",
                        found()
                    ));
                }
            };
            for (i, (t, off)) in tables.into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                diag.record(&p, None, off);
                segs.push(Seg::Index(i));
                walk_table(t, fields, &p, segs, diag, cut);
                segs.pop();
            }
            Ok(())
        }
    }
}

fn unknown_key(name: &str, fields: &[Field]) -> String {
    let known = || fields.iter().map(|(f, _)| *f);
    let lower = name.to_ascii_lowercase();
    if SECRET_WORDS.contains(&lower.as_str())
        || ["secret", "password", "token"]
            .iter()
            .any(|w| lower.ends_with(w))
    {
        let base = if known().any(|f| f == format!("{lower}_env")) {
            lower
        } else if known().any(|f| f == "key_secret_env") {
            "key_secret".to_string()
        } else if known().any(|f| f == "token_env") {
            "token".to_string()
        } else {
            return "secrets are never inline: use a *_env or *_file reference".into();
        };
        return format!(
            "secrets are never inline: use {base}_env = \"NAME\" or {base}_file = \"/path\""
        );
    }
    let h = hint(name, known());
    if h.is_empty() {
        let all: Vec<&str> = known().collect();
        format!(
            "unknown key \"{name}\"; expected one of: {}",
            all.join(", ")
        )
    } else {
        format!("unknown key \"{name}\"{h}")
    }
}

/// Removes the key at `path` (which ends in a key) from the document.
pub(crate) fn cut_path(table: &mut dyn TableLike, path: &[Seg]) {
    let [Seg::Key(k), rest @ ..] = path else {
        return;
    };
    if rest.is_empty() {
        table.remove(k);
        return;
    }
    let Some(child) = table.get_mut(k) else {
        return;
    };
    match rest {
        [Seg::Index(i), rest @ ..] => match child {
            Item::ArrayOfTables(a) => {
                if let Some(t) = a.get_mut(*i) {
                    cut_path(t, rest);
                }
            }
            Item::Value(Value::Array(a)) => {
                if let Some(Value::InlineTable(t)) = a.get_mut(*i) {
                    cut_path(t, rest);
                }
            }
            _ => {}
        },
        _ => {
            if let Some(t) = child.as_table_like_mut() {
                cut_path(t, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawConfig;

    fn render(fields: &[Field], prefix: &str, out: &mut String) {
        let mut tables = Vec::new();
        for (name, shape) in fields {
            match shape {
                Shape::Str => out.push_str(&format!("{name} = \"x\"\n")),
                Shape::U32 | Shape::U64 | Shape::I64 => out.push_str(&format!("{name} = 1\n")),
                Shape::Bool => out.push_str(&format!("{name} = true\n")),
                Shape::StrList => out.push_str(&format!("{name} = [\"x\"]\n")),
                Shape::F64 => out.push_str(&format!("{name} = 1.5\n")),
                Shape::U32List => out.push_str(&format!("{name} = [1]\n")),
                Shape::StrMap => out.push_str(&format!("{name} = {{ k = \"v\" }}\n")),
                Shape::Table(f) | Shape::Tables(f) => tables.push((name, shape, *f)),
            }
        }
        for (name, shape, f) in tables {
            let full = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            match shape {
                Shape::Tables(_) => out.push_str(&format!("[[{full}]]\n")),
                _ => out.push_str(&format!("[{full}]\n")),
            }
            render(f, &full, out);
        }
    }

    #[test]
    fn schema_matches_raw() {
        let mut text = String::new();
        render(ROOT, "", &mut text);
        let parsed: Result<RawConfig, _> = toml::from_str(&text);
        assert!(parsed.is_ok(), "{parsed:?}\n{text}");
    }

    #[test]
    fn secret_keys_get_the_reference_message() {
        assert_eq!(
            unknown_key("key_secret", GATEWAY),
            "secrets are never inline: use key_secret_env = \"NAME\" or key_secret_file = \"/path\""
        );
        assert!(unknown_key("password", GATEWAY).contains("key_secret_env"));
        assert!(unknown_key("token", ADMIN).contains("token_env = \"NAME\""));
        assert_eq!(
            unknown_key("listn", SERVER),
            "unknown key \"listn\" (did you mean \"listen\"?)"
        );
    }
}
