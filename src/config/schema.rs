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

mod fields;

use fields::SECRET_WORDS;
#[cfg(test)]
pub(crate) use fields::all_keys;
pub(crate) use fields::{Field, ROOT, Shape};

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
mod tests;
