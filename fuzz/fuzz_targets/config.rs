//! The config loader over any text: `config::load_str` (TOML parse, shape check,
//! validation, compilation), the path `switchyard check` and every hot reload run.
//!
//! Properties: no panic; a refusal lists at least one error, each with a message and,
//! when it points at the text, a line inside it; an accepted config describes
//! itself (`switchyard check`, `Debug`) without a secret in it and loads again from its own
//! text with the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::config;

/// Every `${VAR}` reference resolves to this (so credential checks pass).
const SECRET: &str = "fz-secret-value-0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |_: &str| Some(SECRET.to_string());
    match config::load_str(text, "fuzz.toml", &env, 1) {
        Err(errs) => {
            assert!(!errs.0.is_empty(), "refused without an error");
            let lines = text.lines().count().max(1);
            for e in &errs.0 {
                assert!(!e.message.is_empty(), "{e:?}");
                if let Some(line) = e.line {
                    assert!(
                        line >= 1 && line <= lines + 1,
                        "line {line} outside the text: {e:?}"
                    );
                }
            }
        }
        Ok(snap) => {
            let again = config::load_str(text, "fuzz.toml", &env, 1);
            assert!(again.is_ok(), "accepted once, refused the second time");
            let shown = format!("{}\n{snap:?}", config::describe(&snap));
            assert!(!shown.contains(SECRET), "a secret in the described config");
        }
    }
});
