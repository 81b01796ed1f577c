//! Properties: paise ↔ EBANX decimal amounts round-trip exactly (written as exact
//! text, read back by the strict parser); no parser panics on arbitrary bytes.

use proptest::prelude::*;

use super::request::decimal;
use super::response::{created, event, query_payment};
use super::webhook::{form, parse_all};
use crate::connectors::amount;
use crate::model::Paise;

proptest! {
    #[test]
    fn paise_round_trip_through_decimals(p in 0i64..(i64::MAX / 100)) {
        let text = decimal(Paise(p)).get().to_string();
        prop_assert_eq!(amount::rupees(&text).unwrap(), Paise(p));
        // And through a query answer as EBANX sends it.
        let body = format!(r#"{{"payment":{{"hash":"h","status":"CO","amount_total":{text}}},"status":"SUCCESS"}}"#);
        let q = query_payment(200, body.as_bytes()).unwrap();
        prop_assert_eq!(event(&q, "update").amount, Some(Paise(p)));
    }

    #[test]
    fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = form(&body);
        let _ = parse_all(&body);
        let _ = created(&body, false);
        let _ = created(&body, true);
        if let Ok(q) = query_payment(200, &body) {
            let _ = event(&q, "refund");
        }
        let _ = super::event_from_query(&body, "update");
    }
}
