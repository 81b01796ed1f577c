use serde_json::{Value, json};

use super::*;
use crate::connectors::{cashfree, generic, razorpay};

#[test]
fn each_dialect_reads_its_refund_entity() {
    let rzp = razorpay::refund_report(&json!({
        "id": "rfnd_1", "status": "processed", "amount": 500,
        "acquirer_data": {"arn": "ARN1"}, "receipt": "rf_1"
    }))
    .unwrap();
    assert_eq!(rzp.status, RefundStatus::Succeeded);
    assert_eq!(rzp.gateway_refund_id.as_deref(), Some("rfnd_1"));
    assert_eq!(rzp.arn.as_deref(), Some("ARN1"));
    assert_eq!(rzp.amount, Some(Paise(500)));
    let cf = cashfree::refund_report(&json!({
        "cf_refund_id": 9876, "refund_id": "rf_1", "refund_status": "ONHOLD",
        "refund_amount": 1.5, "refund_arn": null
    }))
    .unwrap();
    assert_eq!(cf.status, RefundStatus::Pending);
    assert_eq!(cf.gateway_refund_id.as_deref(), Some("9876"));
    assert_eq!(cf.amount, Some(Paise(150)));
    let gen_r = generic::refund_report(&json!({"id": "g1", "status": "failed"})).unwrap();
    assert_eq!(gen_r.status, RefundStatus::Failed);
    assert!(razorpay::refund_report(&json!({"error": {}})).is_none());
}

#[test]
fn http_answers_classify_like_initiation() {
    use crate::connectors::upstream::{Response, UpstreamError};
    let resp = |status: u16, body: &str| -> Result<Response, UpstreamError> {
        Ok(Response {
            status,
            body: bytes::Bytes::from(body.to_string()),
        })
    };
    let dec = |_: &Value| ("c".to_string(), "m".to_string());
    let none = |_: &Value| None;
    assert!(matches!(
        refund_outcome(resp(400, "{}"), none, dec),
        RefundOutcome::Declined { .. }
    ));
    assert!(matches!(
        refund_outcome(resp(503, "{}"), none, dec),
        RefundOutcome::NotSent { .. }
    ));
    assert!(matches!(
        refund_outcome(resp(500, "{}"), none, dec),
        RefundOutcome::Unknown { .. }
    ));
    // A 2xx without a refund in it: it may exist, so unknown, never "failed".
    assert!(matches!(
        refund_outcome(resp(200, "{}"), none, dec),
        RefundOutcome::Unknown { .. }
    ));
    assert!(matches!(
        refund_outcome(Err(UpstreamError::SentUnknown("t".into())), none, dec),
        RefundOutcome::Unknown { .. }
    ));
    assert!(matches!(
        refund_outcome(Err(UpstreamError::NotSent("c".into())), none, dec),
        RefundOutcome::NotSent { .. }
    ));
}

#[test]
fn short_refund_ids_are_the_tail_of_ours() {
    let rid = "rf_0190f0e1c2d37a4b8c9d0e1f2a3b4c5d";
    assert_eq!(short_refund_id(rid, 20), "7a4b8c9d0e1f2a3b4c5d");
    assert_eq!(short_refund_id(rid, 20).len(), 20);
    // An id that fits is sent whole; the same id always gives the same tail.
    assert_eq!(short_refund_id("rf_1", 20), "rf_1");
    assert_eq!(short_refund_id(rid, 20), short_refund_id(rid, 20));
    assert_eq!(short_refund_id("rf_é", 2), "_é");
    const { assert!(MIN_SHORT_REFUND_ID <= 20) };
}

/// A refund decline's message is logged: scrubbed of the VPA and phone a gateway
/// may echo (issue 16 item 3).
#[test]
fn a_refund_decline_message_is_scrubbed() {
    let body =
        br#"{"error":{"code":"BAD","message":"refund to asha.k@okaxis refused, 9876543210"}}"#;
    let out = refund_outcome(
        Ok(crate::connectors::upstream::Response {
            status: 400,
            body: bytes::Bytes::from_static(body),
        }),
        |_| None,
        |v| {
            let e = &v["error"];
            (
                e["code"].as_str().unwrap_or("").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
            )
        },
    );
    let RefundOutcome::Declined { message, .. } = out else {
        panic!("{out:?}")
    };
    assert!(
        !message.contains("asha.k@okaxis") && !message.contains("9876543210"),
        "{message}"
    );
}
