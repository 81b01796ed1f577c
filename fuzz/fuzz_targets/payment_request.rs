//! The public request path's parsing: bytes → JSON → `parse_payment` (validation),
//! and the log scrubber over the same bytes. No panic; every refusal is a 4xx.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(e) = switchyard::http::parse_payment(&v) {
            assert!(e.status().is_client_error(), "{e:?}");
        }
    }
    let text = String::from_utf8_lossy(data);
    let once = switchyard::model::scrub(&text).into_owned();
    assert_eq!(switchyard::model::scrub(&once), once);
});
