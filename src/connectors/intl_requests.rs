//! The requests the Adyen, EBANX and Juspay EC connectors build for each flow,
//! against the shapes their API references document (field names, amount units,
//! where the credentials go). None of these gateways publishes a full request body
//! for our exact flows as a test vector, so these follow the documentation.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::InitiateRequest;
use super::{adyen, ebanx, juspay_ec};
use crate::model::{Currency, Customer, Method, Paise, PaymentRequest, Vpa};

fn req(method: Method) -> PaymentRequest {
    PaymentRequest {
        order_id: "ord_9".into(),
        amount: Paise(29_950),
        currency: Currency::Inr,
        method,
        vpa: (method == Method::UpiCollect).then(|| Vpa::parse("asha.k@okaxis").unwrap()),
        customer: Customer {
            id: Some("cust_1".into()),
            email: Some("a@example.com".into()),
            phone: Some("+919876543210".into()),
        },
        description: None,
        tags: BTreeMap::new(),
        metadata: Some(json!({"return_url": "https://shop.example/return"})),
    }
}

fn init(r: &PaymentRequest) -> InitiateRequest<'_> {
    InitiateRequest {
        payment_id: "pay_1",
        idempotency_key: "k1",
        request: r,
        callback_url: Some("https://sy.example/v1/callbacks/g"),
    }
}

#[test]
fn adyen_payments_body_per_upi_flow() {
    // docs.adyen.com payment-methods/upi/api-only: amount in minor units, the
    // method type, the VPA for collect, reference and merchant account.
    let r = req(Method::UpiCollect);
    let b = adyen::payment_body(&init(&r), "ShopIN").unwrap();
    assert_eq!(b["amount"], json!({"currency": "INR", "value": 29950}));
    assert_eq!(
        b["paymentMethod"],
        json!({"type": "upi_collect", "virtualPaymentAddress": "asha.k@okaxis"})
    );
    assert_eq!(
        (b["reference"].as_str(), b["merchantAccount"].as_str()),
        (Some("pay_1"), Some("ShopIN"))
    );
    assert_eq!(b["returnUrl"], "https://shop.example/return");
    for (m, t) in [(Method::UpiIntent, "upi_intent"), (Method::UpiQr, "upi_qr")] {
        let r = req(m);
        let b = adyen::payment_body(&init(&r), "ShopIN").unwrap();
        assert_eq!(b["paymentMethod"], json!({"type": t}));
    }
    // Cards and netbanking go to a payment link, never /payments.
    let r = req(Method::Card);
    assert!(adyen::payment_body(&init(&r), "ShopIN").is_none());
    let l = adyen::link_body(&init(&r), "ShopIN");
    assert_eq!(l["allowedPaymentMethods"], json!(["scheme"]));
    let r = req(Method::Netbanking);
    assert_eq!(
        adyen::link_body(&init(&r), "ShopIN")["allowedPaymentMethods"],
        json!(["onlinebanking_IN"])
    );
}

#[test]
fn ebanx_direct_and_page_bodies() {
    // docs.ebanx.com accept-payments/api/india/upi and the Direct API reference.
    let r = req(Method::UpiQr);
    let b: Value =
        serde_json::from_slice(&ebanx::direct_body(&init(&r), "ik_1", "upi-qrcode").unwrap())
            .unwrap();
    assert_eq!(
        (b["integration_key"].as_str(), b["operation"].as_str()),
        (Some("ik_1"), Some("request"))
    );
    let p = &b["payment"];
    assert_eq!(p["payment_type_code"], "upi-qrcode");
    assert_eq!(p["country"], "in");
    assert_eq!(p["merchant_payment_code"], "pay_1");
    assert_eq!(p["currency_code"], "INR");
    assert_eq!(p["notification_url"], "https://sy.example/v1/callbacks/g");
    // The amount is the exact decimal text.
    let raw =
        String::from_utf8(ebanx::direct_body(&init(&r), "ik_1", "upi-qrcode").unwrap()).unwrap();
    assert!(raw.contains(r#""amount_total":299.50"#), "{raw}");
    assert_eq!(ebanx::upi_type(Method::UpiIntent), Some("upi-intent"));
    assert_eq!(ebanx::upi_type(Method::UpiCollect), None);
    let r = req(Method::Card);
    let raw = String::from_utf8(ebanx::page_body(&init(&r), "ik_1").unwrap()).unwrap();
    assert!(
        raw.contains(r#""amount":299.50"#) && raw.contains(r#""integration_key":"ik_1""#),
        "{raw}"
    );
    assert_eq!(
        ebanx::query_body("ik_1", Some("h1"), "pay_1"),
        json!({"integration_key": "ik_1", "hash": "h1"})
    );
}

#[test]
fn juspay_order_and_txn_forms() {
    // juspay.io ec-api order create and txns (UPI collect / UPI_PAY with sdk_params).
    let r = req(Method::UpiCollect);
    let o: BTreeMap<String, String> =
        form_urlencoded::parse(juspay_ec::order_body(&init(&r)).as_bytes())
            .into_owned()
            .collect();
    assert_eq!(o["order_id"], "pay_1");
    assert_eq!(o["amount"], "299.50");
    assert_eq!(o["customer_id"], "cust_1");
    assert_eq!(
        o["metadata.webhook_url"],
        "https://sy.example/v1/callbacks/g"
    );
    let t: BTreeMap<String, String> =
        form_urlencoded::parse(juspay_ec::txn_body(&init(&r), "m1").unwrap().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        (t["txn_type"].as_str(), t["upi_vpa"].as_str()),
        ("UPI_COLLECT", "asha.k@okaxis")
    );
    assert_eq!(
        (t["payment_method_type"].as_str(), t["merchant_id"].as_str()),
        ("UPI", "m1")
    );
    let r = req(Method::UpiIntent);
    let t: BTreeMap<String, String> =
        form_urlencoded::parse(juspay_ec::txn_body(&init(&r), "m1").unwrap().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        (t["txn_type"].as_str(), t["sdk_params"].as_str()),
        ("UPI_PAY", "true")
    );
    let r = req(Method::Card);
    assert!(juspay_ec::txn_body(&init(&r), "m1").is_none());
}
