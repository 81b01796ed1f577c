//! The one strict amount parser for gateway bodies (issue 12 items 4 and 14).
//!
//! Amounts are read **from the raw text** of the body, never through `f64`:
//! serde_json without `arbitrary_precision` stores a JSON number with a fraction as
//! an `f64`, so `170.10` or a 17-digit integer may not survive `Value`. We do not
//! turn `arbitrary_precision` on (it is a crate-wide feature that changes how every
//! dependency's `Value` numbers behave, and breaks `flatten`/untagged enums);
//! instead [`raw_at`] walks the body with `serde_json::value::RawValue` (the
//! `raw_value` feature, already on) to the field and hands back its exact text.
//!
//! Two wire formats:
//! - [`minor_units`]: an integer in the currency's minor unit (Razorpay, PhonePe,
//!   Adyen, the generic dialect), as a JSON integer or a digit string.
//! - [`rupees`]: a decimal in major units with at most two decimals (Cashfree,
//!   Juspay, PayU, Paytm, EBANX), as a JSON number or a string.
//!
//! Both refuse negatives, signs, exponents, fractions beyond paise, blanks, `null`
//! where an amount is required, and anything non-numeric: a present but bad amount is
//! an error, never "absent" (so nobody substitutes the intent's amount for it).

use serde_json::value::RawValue;

use crate::model::{MoneyError, Paise};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("amount {0:?} is not an amount")]
    Invalid(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The raw JSON text at `path` (object keys; array elements by decimal index), or
/// `None` when a step is absent, the value there is `null`, or `json` is not JSON.
pub fn raw_at<'a>(json: &'a str, path: &[&str]) -> Option<&'a str> {
    let mut cur: &'a str = json;
    for step in path {
        let t = cur.trim_start();
        cur = if t.starts_with('[') {
            let items: Vec<&'a RawValue> = serde_json::from_str(cur).ok()?;
            items.get(step.parse::<usize>().ok()?)?.get()
        } else {
            let map: std::collections::HashMap<String, &'a RawValue> =
                serde_json::from_str(cur).ok()?;
            map.get(*step)?.get()
        };
    }
    let t = cur.trim();
    (t != "null").then_some(t)
}

/// A JSON string's content (unescaped), or `None` when `raw` is not a string.
fn json_string(raw: &str) -> Option<String> {
    raw.starts_with('"')
        .then(|| serde_json::from_str::<String>(raw).ok())
        .flatten()
}

/// An integer amount in minor units: `29900` or `"29900"`.
pub fn minor_units(raw: &str) -> Result<Paise, AmountError> {
    let text = json_string(raw).unwrap_or_else(|| raw.to_string());
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if digits.starts_with('-') {
            MoneyError::Negative(text).into()
        } else {
            AmountError::Invalid(text)
        });
    }
    digits
        .parse::<i64>()
        .map(Paise)
        .map_err(|_| MoneyError::Overflow(text).into())
}

/// A decimal amount in rupees: `170`, `170.5`, `170.00`, or the same as a string.
pub fn rupees(raw: &str) -> Result<Paise, AmountError> {
    let text = json_string(raw).unwrap_or_else(|| raw.to_string());
    Ok(Paise::from_rupees_str(&text)?)
}

/// A form field's rupee text (PayU `amount`, Paytm `TXNAMOUNT`): the same rules.
pub fn rupees_text(s: &str) -> Result<Paise, AmountError> {
    Ok(Paise::from_rupees_str(s)?)
}

/// [`minor_units`] of the field at `path`: `Ok(None)` when it is absent or null.
pub fn minor_at(json: &str, path: &[&str]) -> Result<Option<Paise>, AmountError> {
    raw_at(json, path).map(minor_units).transpose()
}

/// [`rupees`] of the field at `path`: `Ok(None)` when it is absent or null.
pub fn rupees_at(json: &str, path: &[&str]) -> Result<Option<Paise>, AmountError> {
    raw_at(json, path).map(rupees).transpose()
}

/// The body as text for [`raw_at`]; a body that is not UTF-8 has no amounts.
pub fn text(body: &[u8]) -> &str {
    std::str::from_utf8(body).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn walks_to_the_exact_text() {
        let j = r#"{"a":{"b":[{"amount":170.10},{"amount":"x"}]},"n":null}"#;
        assert_eq!(raw_at(j, &["a", "b", "0", "amount"]), Some("170.10"));
        assert_eq!(raw_at(j, &["a", "b", "1", "amount"]), Some(r#""x""#));
        assert_eq!(raw_at(j, &["n"]), None);
        assert_eq!(raw_at(j, &["a", "b", "9"]), None);
        assert_eq!(raw_at("not json", &["a"]), None);
    }

    #[test]
    fn rupees_from_text_not_floats() {
        assert_eq!(rupees("170.10"), Ok(Paise(17010)));
        assert_eq!(rupees(r#""40.00""#), Ok(Paise(4000)));
        assert_eq!(rupees("1000"), Ok(Paise(100000)));
        // Beyond f64's exact integers: the text is kept, nothing rounds.
        assert_eq!(
            rupees("90071992547409.93"),
            Ok(Paise(9_007_199_254_740_993))
        );
        for bad in [
            "-1.00", "1.001", "1e3", r#""x""#, "true", r#""""#, "{}", "1.2.3",
        ] {
            assert!(rupees(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn minor_units_are_integers_only() {
        assert_eq!(minor_units("29900"), Ok(Paise(29900)));
        assert_eq!(minor_units(r#""0""#), Ok(Paise(0)));
        for bad in [
            "-5",
            "1.5",
            "100.0",
            "1e2",
            r#""x""#,
            "+1",
            "",
            "99999999999999999999",
        ] {
            assert!(minor_units(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn present_but_bad_is_an_error_absent_is_none() {
        assert!(rupees_at(r#"{"amount":"x"}"#, &["amount"]).is_err());
        assert!(minor_at(r#"{"amount":"x"}"#, &["amount"]).is_err());
        assert_eq!(rupees_at(r#"{"other":1}"#, &["amount"]), Ok(None));
        assert_eq!(minor_at(r#"{"amount":null}"#, &["amount"]), Ok(None));
    }

    proptest! {
        #[test]
        fn paise_round_trip_through_both_wire_formats(p in 0i64..=i64::MAX / 100) {
            let paise = Paise(p);
            prop_assert_eq!(rupees(&paise.to_rupees_string()), Ok(paise));
            let quoted = format!("\"{}\"", paise.to_rupees_string());
            prop_assert_eq!(rupees(&quoted), Ok(paise));
            prop_assert_eq!(minor_units(&p.to_string()), Ok(paise));
        }

        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC{0,40}", path in "[a-z0-9]{0,3}") {
            let _ = rupees(&s);
            let _ = minor_units(&s);
            let _ = raw_at(&s, &[path.as_str()]);
        }
    }
}
