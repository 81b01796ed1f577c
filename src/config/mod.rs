//! Configuration: TOML text → [`raw`] (serde, `deny_unknown_fields`) → validate
//! (every error at once, each with `file:line:col` and its key path) → compile into
//! an immutable [`Snapshot`] that the service holds in an `ArcSwap`.

mod compile;
mod describe;
pub mod health;
#[cfg(test)]
mod health_tests;
pub mod limits;
pub mod raw;
mod schema;
mod snapshot;
mod spans;
mod suggest;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

pub use describe::{bootstrap_changes, describe};
pub use snapshot::*;

use raw::RawConfig;
use spans::Diagnostics;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based. For a required key that is absent, the position of the nearest
    /// enclosing table that is written (e.g. its `[[gateway]]` header); `None` only
    /// for file-wide problems (no gateway at all, unreadable file).
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// Key path, e.g. `route[1].split[0].gateway`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: ", self.file)?,
            _ => write!(f, "{}: ", self.file)?,
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every error found in one file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Looks up a secret reference's environment variable; injectable so tests never
/// touch the process env. The one lookup type for `serve`, `check`, `replay`,
/// `sandbox`, `demo` and reload.
pub type Env = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A borrowed [`Env`] (what [`load_str`] and the validators take; a closure coerces).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`Env`].
pub fn process_env() -> Env {
    std::sync::Arc::new(|k| std::env::var(k).ok())
}

/// Parses, validates and compiles `text` (named `source` in messages). On failure
/// every error is returned, in file order, each with its key path and position.
/// Messages never contain secret values.
pub fn load_str(
    text: &str,
    source: &str,
    env: EnvLookup<'_>,
    generation: u64,
) -> Result<Snapshot, ConfigErrors> {
    let mut diag = Diagnostics::new(source, text);
    // The `toml` parser first: toml_edit 0.23 panics on some invalid documents
    // (`==\n.=`, found by fuzz/ target `config`) that `toml` refuses cleanly, and
    // a reload must never panic. toml_edit then only sees valid TOML, for spans.
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        let offset = e.span().map(|s| s.start);
        diag.error_at(offset, "", format!("invalid TOML: {}", e.message().trim()));
        return Err(ConfigErrors(diag.into_errors()));
    }
    let doc = match toml_edit::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let offset = e.span().map(|s| s.start);
            diag.error_at(offset, "", format!("invalid TOML: {}", e.message().trim()));
            return Err(ConfigErrors(diag.into_errors()));
        }
    };
    // Shape first: every unknown key and wrong type, then cut them so serde can
    // read the rest and semantic validation still runs over it.
    let cut = schema::check(doc.as_table(), &mut diag);
    let mut cleaned = doc.into_mut();
    for path in &cut {
        schema::cut_path(cleaned.as_table_mut(), path);
    }
    let raw: RawConfig = match toml::from_str(&cleaned.to_string()) {
        Ok(raw) => raw,
        Err(e) => {
            // Only reachable if `schema` and `raw` disagree; spans are exact when
            // nothing was cut.
            let offset = e.span().filter(|_| cut.is_empty()).map(|s| s.start);
            diag.error_at(offset, "", e.message().trim().to_string());
            return Err(ConfigErrors(diag.into_errors()));
        }
    };
    let checked = validate::validate(&raw, env, &mut diag);
    if diag.has_errors() {
        return Err(ConfigErrors(diag.into_errors()));
    }
    compile::compile(checked, source, generation, &mut diag)
        .ok_or_else(|| ConfigErrors(diag.into_errors()))
}

/// Reads a config file (an unreadable file is one [`ConfigError`]).
pub fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.display().to_string(),
            line: None,
            col: None,
            path: String::new(),
            message: format!("cannot read: {e}"),
        }])
    })
}

/// The one file load path: [`read_file`] then [`load_str`]. Returns the text too
/// (reload compares it, `GET /admin/config` shows it redacted).
pub fn load_file(
    path: &Path,
    env: &Env,
    generation: u64,
) -> Result<(Snapshot, String), ConfigErrors> {
    let text = read_file(path)?;
    let snap = load_str(&text, &path.display().to_string(), env.as_ref(), generation)?;
    Ok((snap, text))
}
