//! The layering rule, kept true: a module of `src/` may import only from layers
//! below its own (in the spirit of import-linter's "layers" contract and ArchUnit).
//! Peers in one layer do not import each other either, so no cycle can form between
//! top-level modules. Inside one top-level module anything goes.
//!
//! The table is the architecture; README.md "Architecture" draws the same one. To
//! add a top-level module, give it a row here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import from any module in a row above it in this
/// list (a lower layer), never from its own row or below.
const LAYERS: &[&[&str]] = &[
    // Vocabulary: money, ids, VPAs, secrets; the metrics registry.
    &["model", "metrics"],
    // Talking to gateways; choosing one; storing money durably.
    &["connectors", "routing", "ledger"],
    // Telling people; delivering events to reconciliation.
    &["alerts", "pipeline"],
    // TOML → one immutable snapshot of the types the layers above own... and below.
    &["config"],
    // Watching gateways, publishing who may take traffic.
    &["health"],
    // The flows, hot reload, and the simulated gateways.
    &["payments", "callbacks", "refunds", "reload", "sandbox"],
    // What the edge hands to every handler.
    &["state"],
    // The edge: the only layer that speaks HTTP to callers.
    &["http"],
    // The binary's wiring: CLI, commands, serve, demo, logging.
    &["app"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named after `crate::` in `text` (comment lines skipped),
/// including every name of a grouped `use crate::{a, b::{c, d}}`, also when rustfmt
/// spreads the group over several lines.
fn imports(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.push(ident(rest));
            continue;
        };
        // Names at depth 0 of the group: after `{` and after each top-level `,`.
        let mut depth = 0usize;
        let mut start = true;
        for (k, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => start = true,
                c if start && !c.is_whitespace() => {
                    start = false;
                    out.push(ident(&group[k..]));
                }
                _ => {}
            }
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

#[test]
fn no_module_imports_from_a_layer_above_or_beside_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = BTreeSet::new();
    let mut unplaced = BTreeSet::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let Some(from_rank) = rank(&from) else {
            unplaced.insert(from);
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for to in imports(&text) {
            if to == from || to == "self" || to == "super" {
                continue;
            }
            let Some(to_rank) = rank(&to) else {
                // `crate::SomeItem` of lib.rs itself, or a module with no row.
                if src.join(&to).is_dir() || src.join(format!("{to}.rs")).is_file() {
                    unplaced.insert(to);
                }
                continue;
            };
            *edges.entry((from.clone(), to.clone())).or_default() += 1;
            if to_rank >= from_rank {
                let rel = file.strip_prefix(&src).unwrap().display().to_string();
                violations.insert(format!(
                    "src/{rel}: {from} (layer {from_rank}) imports {to} (layer {to_rank})"
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "top-level modules with no row in LAYERS: {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "imports against the layering (lower layers must not reach up or sideways):\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
    // The map, for `cargo test --test layers -- --nocapture`.
    let total: usize = edges.values().sum();
    println!(
        "{} import lines between {} module pairs",
        total,
        edges.len()
    );
}

#[test]
fn the_import_scanner_sees_grouped_and_plain_paths() {
    let text = "use crate::{model::Paise, ledger};\n// use crate::http;\nlet x = crate::metrics::Metrics::new(r);\nuse crate::{\n    health::{A, B},\n    state::AppState,\n};";
    assert_eq!(
        imports(text),
        ["model", "ledger", "metrics", "health", "state"]
    );
    assert_eq!(rank("app"), Some(LAYERS.len() - 1));
    assert!(rank("model") < rank("ledger") && rank("ledger") < rank("http"));
}
