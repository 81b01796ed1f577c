//! The public API's request validation: bytes → JSON → `http::parse_payment` and
//! `http::parse_refund` (what `POST /v1/payments` and `POST …/refunds` run after
//! reading the body), and the log scrubber over the same bytes as text.
//!
//! Properties: no panic; every refusal is a 4xx `invalid_request` in the error
//! shape, naming a field the body has (or none); an accepted payment satisfies the
//! documented rules (positive amount, valid order id, a VPA for collect, bounded
//! description and tags) and its canonical JSON is accepted again as the same
//! request; an accepted refund has a positive amount; `model::scrub` is idempotent
//! and leaves no full VPA behind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use switchyard::http::{ApiError, parse_payment, parse_refund};
use switchyard::model::{Method, PaymentRequest, Vpa, scrub, valid_order_id};

fn refused(body: &Value, e: &ApiError) {
    assert!(e.status().is_client_error(), "{e:?}");
    assert_eq!(e.code(), "invalid_request", "{e:?}");
    let shape = e.body();
    assert_eq!(shape["error"]["code"], "invalid_request");
    assert!(
        shape["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    if let ApiError::InvalidRequest { field: Some(f), .. } = e {
        // `tags.<key>` names a tag; any other field is a key of the body as given.
        let named = body.get(f.as_str()).is_some()
            || (f.starts_with("tags.") && body.get("tags").is_some())
            || is_required(f);
        assert!(named, "field {f:?} not in the body");
    }
}

/// Fields whose absence is itself the error.
fn is_required(f: &str) -> bool {
    matches!(f, "order_id" | "amount" | "method" | "vpa")
}

fn canonical(p: &PaymentRequest) -> Value {
    json!({
        "order_id": p.order_id,
        "amount": p.amount.0,
        "currency": p.currency.as_str(),
        "method": p.method.as_str(),
        "vpa": p.vpa.as_ref().map(|v| v.expose().to_string()),
        "customer": p.customer,
        "description": p.description,
        "tags": p.tags,
        "metadata": p.metadata,
    })
}

fn accepted(p: &PaymentRequest) {
    assert!(p.amount.0 > 0);
    assert!(valid_order_id(&p.order_id));
    assert!(p.method != Method::UpiCollect || p.vpa.is_some());
    assert!(
        p.description
            .as_ref()
            .is_none_or(|d| d.chars().count() <= 255)
    );
    assert!(p.tags.len() <= 32);
    let again = parse_payment(&canonical(p)).expect("the canonical form of an accepted request");
    assert_eq!(canonical(&again), canonical(p));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        match parse_payment(&v) {
            Ok(p) => accepted(&p),
            Err(e) => refused(&v, &e),
        }
        match parse_refund(&v) {
            Ok(r) => assert!(r.amount.is_none_or(|a| a.0 > 0)),
            Err(e) => refused(&v, &e),
        }
    }
    let text = String::from_utf8_lossy(data);
    let once = scrub(&text).into_owned();
    assert_eq!(scrub(&once), once, "scrub is not idempotent");
    for word in text.split(|c: char| c.is_whitespace() || "\"',;()<>[]{}".contains(c)) {
        if word.len() >= 6 && Vpa::parse(word).is_ok() {
            assert!(
                !once.contains(word),
                "a full VPA survived scrubbing: {word:?}"
            );
        }
    }
});
