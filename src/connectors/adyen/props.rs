//! Properties: paise ↔ Adyen minor units round-trip exactly; no parser panics on
//! arbitrary bytes.

use proptest::prelude::*;
use serde_json::json;

use super::response::{link_report, minor_units, payment_created};
use super::webhook::{parse_all, parse_item, sign_item, verify};
use crate::model::Paise;

const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

proptest! {
    #[test]
    fn paise_round_trip_through_minor_units(p in 0i64..i64::MAX) {
        let wire = super::request::amount(Paise(p), "INR");
        // On the wire as JSON text, and back through the notification parser.
        let text = serde_json::to_string(&wire).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(minor_units(&back["value"]), Some(Paise(p)));
        let item = json!({"eventCode": "AUTHORISATION", "success": "true", "paymentMethod": "upi_qr",
            "pspReference": "P", "merchantReference": "pay_1", "amount": back});
        prop_assert_eq!(parse_item(&item).unwrap().amount, Some(Paise(p)));
        // The signed string carries the same digits.
        let digits = format!(":{p}:INR:");
        prop_assert!(super::signing_string(&item).contains(&digits));
    }

    #[test]
    fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify(KEY, &body);
        let _ = parse_all(&body);
        let _ = payment_created(&body);
        let _ = super::response::link_created(&body);
        let _ = link_report(200, &body);
        let _ = link_report(422, &body);
        let _ = super::response::decline_info(&serde_json::from_slice(&body).unwrap_or_default());
    }

    #[test]
    fn json_shaped_noise_never_panics(code in "[A-Z_]{0,12}", value in any::<i64>(), s in ".{0,8}") {
        let item = json!({"eventCode": code, "success": s, "amount": {"value": value, "currency": s},
            "pspReference": s, "additionalData": {"hmacSignature": s}});
        let _ = parse_item(&item);
        let _ = sign_item(KEY, &item);
        let body = json!({"notificationItems": [{"NotificationRequestItem": item}]}).to_string();
        prop_assert!(verify(KEY, body.as_bytes()).is_err());
    }
}
