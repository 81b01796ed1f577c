//! Where things are in the file: key paths (`route[1].split[0].gateway`) mapped to
//! byte offsets while the document is walked, offsets turned into 1-based
//! `line:col`, and [`Diagnostics`], which collects every error of one load.

use std::collections::HashMap;

use super::ConfigError;

/// Byte offsets of one key path: the key itself and its value (or table header).
#[derive(Debug, Clone, Copy, Default)]
struct Offsets {
    key: Option<usize>,
    value: Option<usize>,
}

/// Collects every error of one load, each located by key path.
pub(crate) struct Diagnostics<'a> {
    source: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
    spans: HashMap<String, Offsets>,
    errors: Vec<ConfigError>,
}

impl<'a> Diagnostics<'a> {
    pub(crate) fn new(source: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Diagnostics {
            source,
            text,
            line_starts,
            spans: HashMap::new(),
            errors: Vec::new(),
        }
    }

    /// Remembers where `path` is written; the walk over the document calls this.
    pub(crate) fn record(&mut self, path: &str, key: Option<usize>, value: Option<usize>) {
        let entry = self.spans.entry(path.to_string()).or_default();
        entry.key = entry.key.or(key);
        entry.value = entry.value.or(value);
    }

    /// An error about the value at `path`. When the key is absent from the file,
    /// the error points at the nearest enclosing table that is written.
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        let offset = self.find(path, |o| o.value.or(o.key));
        self.push(path, offset, message.into());
    }

    /// An error about the key at `path` itself (unknown or forbidden key).
    pub(crate) fn key_error(&mut self, path: &str, message: impl Into<String>) {
        let offset = self.find(path, |o| o.key.or(o.value));
        self.push(path, offset, message.into());
    }

    /// An error at a byte offset, for problems the parser found.
    pub(crate) fn error_at(&mut self, offset: Option<usize>, path: &str, message: String) {
        self.push(path, offset, message);
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Every error, in file order (errors without a position last).
    pub(crate) fn into_errors(self) -> Vec<ConfigError> {
        let mut errors = self.errors;
        errors.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.col.unwrap_or(0)));
        errors
    }

    fn find(&self, path: &str, pick: impl Fn(&Offsets) -> Option<usize>) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(off) = self.spans.get(p).and_then(&pick) {
                return Some(off);
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }

    /// One error per key: a key the shape check already rejected (and cut) is not
    /// reported again as missing.
    fn push(&mut self, path: &str, offset: Option<usize>, message: String) {
        if !path.is_empty() && self.errors.iter().any(|e| e.path == path) {
            return;
        }
        let (line, col) = match offset {
            Some(off) => {
                let (l, c) = self.line_col(off);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.errors.push(ConfigError {
            file: self.source.to_string(),
            line,
            col,
            path: path.to_string(),
            message,
        });
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }
}

/// `route[1].split[0]` → `route[1].split` → `route[1]` → `route` → ``.
pub(crate) fn parent(path: &str) -> &str {
    if path.ends_with(']')
        && let Some(i) = path.rfind('[')
    {
        return &path[..i];
    }
    path.rfind('.').map_or("", |i| &path[..i])
}

/// Appends a key to a path, quoting keys that would make the path ambiguous.
pub(crate) fn join(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_walk_up_to_the_root() {
        assert_eq!(parent("route[1].split[0].gateway"), "route[1].split[0]");
        assert_eq!(parent("route[1].split[0]"), "route[1].split");
        assert_eq!(parent("route[1]"), "route");
        assert_eq!(parent("route"), "");
        assert_eq!(
            join("route[0].match.tags", "a.b"),
            "route[0].match.tags.\"a.b\""
        );
    }

    #[test]
    fn offsets_become_one_based_line_and_column() {
        let text = "a = 1\nbé = 2\n\nc = 3";
        let mut d = Diagnostics::new("f.toml", text);
        d.record("c", Some(text.find('c').unwrap_or(0)), None);
        d.error("c.x", "missing");
        d.error_at(Some(text.find('2').unwrap_or(0)), "b", "bad".into());
        d.error_at(Some(0), "a", "first".into());
        let e = d.into_errors();
        assert_eq!((e[0].line, e[0].col), (Some(1), Some(1)));
        assert_eq!((e[1].line, e[1].col), (Some(2), Some(6)));
        assert_eq!((e[2].line, e[2].col), (Some(4), Some(1)));
        assert_eq!(e[2].path, "c.x");
    }
}
