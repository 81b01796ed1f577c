//! The config loader (TOML parse → shape check → validate → compile) over any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = switchyard::config::load_str(text, "fuzz.toml", &|_| Some("x".into()), 1);
    }
});
