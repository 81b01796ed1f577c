//! Configuration: TOML text → [`raw`] (serde, `deny_unknown_fields`) → validate
//! (every error at once, each with `file:line:col` and its key path) → compile into
//! an immutable [`Snapshot`] that the service holds in an `ArcSwap`.

pub mod raw;
mod snapshot;

use std::fmt;
use std::path::Path;

pub use snapshot::*;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; `None` when the key is absent from the file.
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

/// Looks up an environment variable; injectable so tests never touch the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses, validates and compiles `text` (named `source` in messages).
pub fn load_str(
    text: &str,
    source: &str,
    env: EnvLookup<'_>,
    generation: u64,
) -> Result<Snapshot, ConfigErrors> {
    let _ = (text, env, generation);
    Err(ConfigErrors(vec![ConfigError {
        file: source.to_string(),
        line: None,
        col: None,
        path: String::new(),
        message: "config loading is not implemented yet".into(),
    }]))
}

/// [`load_str`] on a file, with the process environment.
pub fn load_file(path: &Path, generation: u64) -> Result<Snapshot, ConfigErrors> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: source.clone(),
            line: None,
            col: None,
            path: String::new(),
            message: format!("cannot read: {e}"),
        }])
    })?;
    load_str(&text, &source, &|k| std::env::var(k).ok(), generation)
}

