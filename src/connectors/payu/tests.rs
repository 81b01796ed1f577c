//! PayU: the `_payment` form (golden, field order as docs.payu.in's S2S UPI
//! reference lists it), the reverse hash against the payu-sdk-node vector and
//! tampering, callback normalization per class, amount round trip, no panics.

use http::HeaderMap;
use proptest::prelude::*;

use super::*;
use crate::connectors::form::Form;
use crate::connectors::tests::{ir, req};
use crate::model::{Method, Paise, PaymentStatus, Reason};

const SALT: &str = "vhgvs75";

fn callback(status: &str, unmapped: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut pairs: Vec<(String, String)> = [
        ("mihpayid", "403993715523409521"),
        ("mode", "UPI"),
        ("status", status),
        ("unmappedstatus", unmapped),
        ("key", "bjg$121"),
        ("txnid", "sy_1"),
        ("amount", "1000.00"),
        ("productinfo", "Order o1"),
        ("firstname", "Customer"),
        ("email", ""),
        ("udf1", "o1"),
        ("addedon", "2026-03-04 14:46:14"),
        ("field3", "asha.k@okaxis"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    sign_callback(SALT, &pairs).into_bytes()
}

#[test]
fn payment_form_golden_upi_intent() {
    let r = req(29_900, Method::UpiIntent);
    let f = payment_form(&ir(&r), "bjg$121", SALT);
    let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "key",
            "txnid",
            "amount",
            "productinfo",
            "firstname",
            "email",
            "phone",
            "udf1",
            "surl",
            "furl",
            "pg",
            "bankcode",
            "txn_s2s_flow",
            "hash"
        ]
    );
    let form = Form(f.clone());
    assert_eq!(form.get("amount"), "299.00");
    assert_eq!(form.get("bankcode"), "INTENT");
    assert_eq!(form.get("txnid"), "sy_X");
    assert_eq!(form.get("hash"), request_hash(&form, SALT));
    // Collect carries the VPA and bankcode UPI.
    let c = req(100, Method::UpiCollect);
    let cf = Form(payment_form(&ir(&c), "k", SALT));
    assert_eq!(
        (cf.get("bankcode"), cf.get("vpa")),
        ("UPI", "asha.k@okaxis")
    );
}

/// Cards and netbanking: the hosted-checkout form (docs.payu.in "Integrate with
/// PayU Hosted Checkout" field list), `enforce_paymethod` for the method, no
/// `pg` / `bankcode` / `txn_s2s_flow`, hash last over the documented layout.
#[test]
fn checkout_form_golden_card_and_netbanking() {
    let r = req(29_900, Method::Card);
    let f = checkout_form(&ir(&r), "bjg$121", SALT);
    let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "key",
            "txnid",
            "amount",
            "productinfo",
            "firstname",
            "email",
            "phone",
            "udf1",
            "surl",
            "furl",
            "enforce_paymethod",
            "hash"
        ]
    );
    let form = Form(f.clone());
    assert_eq!(form.get("enforce_paymethod"), "creditcard|debitcard");
    assert_eq!(form.get("amount"), "299.00");
    assert_eq!(form.get("hash"), request_hash(&form, SALT));
    let nb = Form(checkout_form(&ir(&req(100, Method::Netbanking)), "k", SALT));
    assert_eq!(nb.get("enforce_paymethod"), "netbanking");
    assert_eq!(enforced_paymethod(Method::UpiIntent), None);
}

#[test]
fn reverse_hash_accepts_the_vector_and_refuses_tampering() {
    // payu-sdk-node@085548ca tests/payu/hasher.test.js vector, as a callback form.
    let body = b"key=bjg%24121&txnid=3123&amount=1000&productinfo=mobile&firstname=Jacob&email=test%40payu.in&status=success&mihpayid=1&hash=687c82156a84271a7a6c63d0e8774d5ac567d9b894a334a47d72e47b72392a5167a1b2add5b253490b70731d9eb3e3a3b7225e0c5f26829befafbbee71977c4c";
    assert_eq!(webhook::verify(SALT, body), Ok(()));
    let tampered = String::from_utf8_lossy(body).replace("amount=1000", "amount=1");
    assert_eq!(
        webhook::verify(SALT, tampered.as_bytes()),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        webhook::verify("wrong", body),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        webhook::verify(SALT, b"status=success"),
        Err(SignatureError::Missing("hash"))
    );
    // The unsigned JSON refund callback can never verify.
    assert!(webhook::verify(SALT, br#"{"mihpayid":"1","action":"refund"}"#).is_err());
}

#[test]
fn callbacks_normalize_per_class() {
    let h = HeaderMap::new();
    let ok = webhook::parse(
        &h,
        &callback("success", "captured", &[("bank_ref_num", "606311890458")]),
    )
    .unwrap();
    assert_eq!(ok.status, Some(PaymentStatus::Succeeded));
    assert_eq!(ok.amount, Some(Paise(100_000)));
    assert_eq!(
        (ok.utr.as_deref(), ok.rrn.as_deref()),
        (Some("606311890458"), Some("606311890458"))
    );
    assert_eq!(ok.payment_id.as_deref(), Some("sy_1"));
    assert_eq!(ok.payer_vpa.as_deref(), Some("asha.k@okaxis"));
    assert_eq!(
        ok.occurred_at.map(crate::connectors::time_fmt::format_utc),
        Some("2026-03-04T09:16:14Z".into())
    );
    let pending = webhook::parse(&h, &callback("pending", "pending", &[])).unwrap();
    assert_eq!(pending.status, Some(PaymentStatus::Pending));
    let funds = webhook::parse(
        &h,
        &callback(
            "failure",
            "failed",
            &[("error_Message", "Insufficient funds in customer account")],
        ),
    )
    .unwrap();
    assert_eq!(
        (funds.status, funds.reason),
        (Some(PaymentStatus::Failed), Some(Reason::InsufficientFunds))
    );
    let dropped = webhook::parse(&h, &callback("failure", "userCancelled", &[])).unwrap();
    assert_eq!(dropped.reason, Some(Reason::CustomerDropped));
    let reversed = webhook::parse(&h, &callback("failure", "autoRefund", &[])).unwrap();
    assert_eq!(reversed.status, Some(PaymentStatus::Reversed));
    // A present but bad amount is refused, never replaced.
    let bad = sign_callback(
        SALT,
        &[
            ("mihpayid".into(), "1".into()),
            ("status".into(), "success".into()),
            ("amount".into(), "x".into()),
        ],
    );
    assert!(webhook::parse(&h, bad.as_bytes()).is_err());
    let neg = sign_callback(
        SALT,
        &[
            ("mihpayid".into(), "1".into()),
            ("amount".into(), "-1.00".into()),
        ],
    );
    assert!(webhook::parse(&h, neg.as_bytes()).is_err());
}

proptest! {
    #[test]
    fn paise_round_trip_through_the_payu_form(p in 0i64..=i64::MAX / 100) {
        let mut r = req(1, Method::UpiIntent);
        r.amount = Paise(p);
        let f = Form(payment_form(&ir(&r), "k", SALT));
        prop_assert_eq!(crate::connectors::amount::rupees_text(f.get("amount")), Ok(Paise(p)));
    }

    #[test]
    fn callback_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = webhook::verify(SALT, &body);
        let _ = webhook::parse(&HeaderMap::new(), &body);
        let _ = response::payment_created(&body, Method::UpiIntent);
        let _ = response::verify_report(&String::from_utf8_lossy(&body), "x");
    }
}

/// A refusal in a 2xx (`txnStatus: failed`) is logged like any decline: its message
/// must be scrubbed as the 4xx ones are (issue 16 item 3; found reading the paths the
/// fuzz target `gateway_response` checks).
#[test]
fn a_decline_in_a_2xx_is_scrubbed() {
    use crate::connectors::classify;
    use crate::connectors::upstream::Response;
    let body = br#"{"metaData":{"txnStatus":"failed","message":"collect to asha.k@okaxis failed, call 9876543210"}}"#;
    let out = classify::outcome(
        Ok(Response {
            status: 200,
            body: bytes::Bytes::from_static(body),
        }),
        |b| response::payment_created(b, Method::UpiCollect),
        response::decline_info,
    );
    let Outcome::Declined { message, .. } = out else {
        panic!("{out:?}")
    };
    assert!(!message.contains("asha.k@okaxis"), "{message}");
    assert!(!message.contains("9876543210"), "{message}");
}
