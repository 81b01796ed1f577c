//! Properties: paise ↔ Juspay EC rupee amounts round-trip exactly (the order body's
//! text, the order's JSON number read by the strict parser); no parser panics on
//! arbitrary bytes.

use proptest::prelude::*;

use super::response::{order_redirect, status_answer, txn_created};
use super::webhook::{parse, verify};
use crate::model::Paise;

proptest! {
    #[test]
    fn paise_round_trip_through_rupees(p in 0i64..(i64::MAX / 100)) {
        let text = Paise(p).to_rupees_string();
        // The order body's `amount` field, form-decoded.
        let body = format!("order_id=pay_1&amount={text}");
        let sent: std::collections::HashMap<String, String> =
            form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        prop_assert_eq!(Paise::from_rupees_str(&sent["amount"]).unwrap(), Paise(p));
        // The order as Juspay answers it: `amount` a JSON number in rupees.
        let ans = format!(r#"{{"id":"o","order_id":"pay_1","status":"CHARGED","amount":{text}}}"#);
        prop_assert_eq!(status_answer(200, ans.as_bytes()).unwrap().amount, Some(Paise(p)));
        let hook = format!(r#"{{"id":"e","event_name":"ORDER_SUCCEEDED","content":{{"order":{ans}}}}}"#);
        prop_assert_eq!(parse(hook.as_bytes()).unwrap().amount, Some(Paise(p)));
    }

    #[test]
    fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&body);
        let _ = status_answer(200, &body);
        let _ = status_answer(404, &body);
        let _ = txn_created(&body, "o", true);
        let _ = order_redirect(&body);
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(&body) {
            h.insert("authorization", v);
        }
        let _ = verify("u:p", &h);
    }
}
