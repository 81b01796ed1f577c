//! Paytm: request bodies (developer.paytm.com initiateTransaction /
//! processTransaction shapes), the checksum over forms and JSON bodies, callback
//! normalization per class, amounts, no panics. No published key/checksum pair
//! exists (GATEWAYS.md 3.5): the fixtures' checksums were made by an independent
//! implementation of PaytmChecksum and are checked by the conformance test.

use http::HeaderMap;
use proptest::prelude::*;

use super::*;
use crate::connectors::form::Form;
use crate::connectors::tests::{ir, req};
use crate::model::{Method, Paise, PaymentStatus, Reason};

const KEY: &str = "Kx9mQ2vT7pL4wZ8n";

fn form(status: &str, code: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut pairs: Vec<(String, String)> = [
        ("ORDERID", "sy_1"),
        ("MID", "MID1"),
        ("TXNID", "2025050311"),
        ("TXNAMOUNT", "299.00"),
        ("PAYMENTMODE", "UPI"),
        ("CURRENCY", "INR"),
        ("TXNDATE", "2025-05-03 15:13:02.0"),
        ("STATUS", status),
        ("RESPCODE", code),
        ("RESPMSG", "m"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    sign_callback(KEY, &pairs).unwrap().into_bytes()
}

#[test]
fn request_bodies() {
    let r = req(29_900, Method::UpiCollect);
    let b = initiate_body(&ir(&r), "MID1");
    assert_eq!(
        b["txnAmount"],
        serde_json::json!({"value": "299.00", "currency": "INR"})
    );
    assert_eq!(
        (b["orderId"].as_str(), b["requestType"].as_str()),
        (Some("sy_X"), Some("Payment"))
    );
    assert_eq!(
        process_body(&ir(&r), "MID1")["payerAccount"],
        "asha.k@okaxis"
    );
    assert_eq!(
        process_body(&ir(&req(1, Method::UpiIntent)), "MID1")["paymentMode"],
        "UPI_INTENT"
    );
    // The signed envelope: the signature verifies over the exact body text sent.
    let text = signed(&b, KEY).unwrap();
    let inner = crate::connectors::amount::raw_at(&text, &["body"]).unwrap();
    let sig: String = serde_json::from_str(
        crate::connectors::amount::raw_at(&text, &["head", "signature"]).unwrap(),
    )
    .unwrap();
    assert!(checksum::verify(inner, KEY, &sig));
    assert!(
        b.get("enablePaymentMode").is_none(),
        "UPI goes server to server"
    );
}

/// Cards and netbanking: initiateTransaction enables only the method's modes, and
/// the browser posts `mid`, `orderId`, `txnToken` to `showPaymentPage`.
#[test]
fn hosted_page_bodies() {
    let card = initiate_body(&ir(&req(29_900, Method::Card)), "MID1");
    assert_eq!(
        card["enablePaymentMode"],
        serde_json::json!([{"mode": "CREDIT_CARD"}, {"mode": "DEBIT_CARD"}])
    );
    let nb = initiate_body(&ir(&req(100, Method::Netbanking)), "MID1");
    assert_eq!(
        nb["enablePaymentMode"],
        serde_json::json!([{"mode": "NET_BANKING"}])
    );
    let NextAction::FormPost(fp) = payment_page("https://securegw.paytm.in", "MID1", "sy_X", "tok")
    else {
        panic!("not a form post")
    };
    let crate::model::FormPost {
        url,
        method,
        fields,
    } = *fp;
    assert_eq!(
        url,
        "https://securegw.paytm.in/theia/api/v1/showPaymentPage?mid=MID1&orderId=sy_X"
    );
    assert_eq!(method, "POST");
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(names, ["mid", "orderId", "txnToken"]);
    assert_eq!(fields["txnToken"], "tok");
}

#[test]
fn callback_checksum_accepts_and_refuses() {
    let body = form("TXN_SUCCESS", "01", &[("BANKTXNID", "512318034519")]);
    assert_eq!(webhook::verify(KEY, &body), Ok(()));
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("TXNAMOUNT=299.00", "TXNAMOUNT=2.00");
    assert_eq!(
        webhook::verify(KEY, tampered.as_bytes()),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        webhook::verify("Kx9mQ2vT7pL4wZ8X", &body),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        webhook::verify(KEY, b"ORDERID=1"),
        Err(SignatureError::Missing("CHECKSUMHASH"))
    );
}

#[test]
fn callbacks_normalize_per_class() {
    let h = HeaderMap::new();
    let ok = webhook::parse(
        &h,
        &form("TXN_SUCCESS", "01", &[("BANKTXNID", "512318034519")]),
    )
    .unwrap();
    assert_eq!(
        (ok.status, ok.amount),
        (Some(PaymentStatus::Succeeded), Some(Paise(29_900)))
    );
    assert_eq!(
        (ok.utr.as_deref(), ok.rrn.as_deref()),
        (Some("512318034519"), Some("512318034519"))
    );
    let declined = webhook::parse(&h, &form("TXN_FAILURE", "227", &[])).unwrap();
    assert_eq!(
        (declined.status, declined.reason),
        (Some(PaymentStatus::Failed), Some(Reason::Other))
    );
    let dropped = webhook::parse(&h, &form("TXN_FAILURE", "141", &[])).unwrap();
    assert_eq!(dropped.reason, Some(Reason::CustomerDropped));
    let pending = webhook::parse(&h, &form("PENDING", "402", &[])).unwrap();
    assert_eq!(pending.status, Some(PaymentStatus::Pending));
    let bad = String::from_utf8(form("TXN_SUCCESS", "01", &[]))
        .unwrap()
        .replace("TXNAMOUNT=299.00", "TXNAMOUNT=x");
    assert!(webhook::parse(&h, bad.as_bytes()).is_err());
    // Refund webhook: signature over the exact `body` text.
    let inner = r#"{"orderId":"sy_1","txnId":"2025","refId":"R1","refundId":"P1","refundAmount":"100.00","status":"TXN_SUCCESS","refundDetailInfoList":[{"rrn":"123456789012"}]}"#;
    let sig = checksum::sign(inner, KEY).unwrap();
    let refund = format!(r#"{{"head":{{"signature":"{sig}","version":"v1"}},"body":{inner}}}"#);
    assert_eq!(webhook::verify(KEY, refund.as_bytes()), Ok(()));
    let cd = webhook::parse(&h, refund.as_bytes()).unwrap();
    assert_eq!(
        (cd.kind, cd.status, cd.amount),
        (
            Some("refund"),
            Some(PaymentStatus::Refunded),
            Some(Paise(10_000))
        )
    );
    let forged = refund.replace("100.00", "900.00");
    assert!(webhook::verify(KEY, forged.as_bytes()).is_err());
}

proptest! {
    #[test]
    fn paise_round_trip_through_the_paytm_body(p in 0i64..=i64::MAX / 100) {
        let mut r = req(1, Method::UpiIntent);
        r.amount = Paise(p);
        let text = initiate_body(&ir(&r), "M").to_string();
        prop_assert_eq!(crate::connectors::amount::rupees_at(&text, &["txnAmount", "value"]), Ok(Some(Paise(p))));
        let f = Form::parse(&form("TXN_SUCCESS", "01", &[]));
        prop_assert!(f.raw("CHECKSUMHASH").is_some());
    }

    #[test]
    fn parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = webhook::verify(KEY, &body);
        let _ = webhook::parse(&HeaderMap::new(), &body);
        let _ = response::order_report(&body);
        let _ = checksum::verify(&String::from_utf8_lossy(&body), KEY, &String::from_utf8_lossy(&body));
    }
}
