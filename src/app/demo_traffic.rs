//! The demo's traffic and what it needs from outside the service: the payment mix,
//! the customer's browser for the next actions that need one (a `form_post` is
//! posted to the gateway's sandbox, as the browser would), the made-up secrets in
//! the shapes the gateways need, and the per-gateway outcome counts for the summary.

use std::collections::BTreeMap;

use rand::Rng;

/// A realistic mix: mostly UPI intent, some collect (with a VPA), cards and netbanking.
pub(super) fn demo_payment(i: u64) -> serde_json::Value {
    let mut rng = rand::rng();
    let amount: i64 = rng.random_range(100..=500_000);
    let order = format!("demo_{}_{i}", std::process::id());
    let customer = serde_json::json!({"id": "Demo Customer", "email": "payer@example.com",
        "phone": "9876543210"});
    match rng.random_range(0..10) {
        0..=4 => serde_json::json!({"order_id": order, "amount": amount, "method": "upi_intent"}),
        5..=6 => {
            serde_json::json!({"order_id": order, "amount": amount, "method": "upi_collect", "vpa": "demo.payer@okaxis"})
        }
        7..=8 => {
            serde_json::json!({"order_id": order, "amount": amount, "method": "card", "customer": customer})
        }
        _ => {
            serde_json::json!({"order_id": order, "amount": amount, "method": "netbanking", "customer": customer})
        }
    }
}

/// Follows a created payment's next action where the customer's browser is needed:
/// a `form_post` is posted to its URL with its fields (the sandbox completes the
/// payment and calls back). `Some(accepted)` when a form was posted, `None` when
/// the next action needs no browser here (UPI apps, redirects: the sandboxes
/// complete those on their own).
pub(super) async fn follow(client: &reqwest::Client, answer: &serde_json::Value) -> Option<bool> {
    let na = &answer["next_action"];
    if na["type"] != "form_post" {
        return None;
    }
    let url = na["url"].as_str()?;
    let fields: Vec<(String, String)> = na["fields"]
        .as_object()?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let r = client.post(url).form(&fields).send().await;
    Some(r.is_ok_and(|r| r.status().is_success()))
}

/// Per gateway: how many of its payments are `[succeeded, failed or expired,
/// still open]` in the ledger now.
pub(super) async fn outcomes(state: &crate::state::AppState) -> BTreeMap<String, [u64; 3]> {
    let rows = state
        .ledger
        .query(crate::ledger::payment_counts)
        .await
        .unwrap_or_default();
    let mut out: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for (gateway, status, n) in rows {
        let i = match status.as_str() {
            "succeeded" | "partially_refunded" | "refunded" => 0,
            "failed" | "expired" | "cancelled" | "reversed" => 1,
            _ => 2,
        };
        out.entry(gateway).or_default()[i] += n;
    }
    out
}

/// The demo's secrets: made up from the variable's name, nothing read from the
/// process; in the shape a gateway needs where it needs one.
pub(super) fn demo_env(name: &str) -> Option<String> {
    match name {
        // Adyen's HMAC key is hex (this one is Adyen's published example key).
        "SWITCHYARD_DEMO_ADYEN_HMAC_KEY" => {
            Some("44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056".into())
        }
        // Paytm's merchant key is an AES key: 16, 24 or 32 bytes.
        "SWITCHYARD_DEMO_PAYTM_MERCHANT_KEY" => Some("demo-paytm-key16".into()),
        // EBANX notifications are verified with EBANX's certificate; the sandbox signs
        // with the matching test key (src/sandbox/keys).
        "SWITCHYARD_DEMO_EBANX_CERTIFICATE" => {
            Some(include_str!("../sandbox/keys/ebanx_sandbox_cert.pem").into())
        }
        _ => name
            .starts_with("SWITCHYARD_DEMO_")
            .then(|| format!("demo-{}", name.to_lowercase())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_gateways_shapes() {
        assert_eq!(
            demo_env("SWITCHYARD_DEMO_PAYTM_MERCHANT_KEY").map(|k| k.len()),
            Some(16)
        );
        assert!(
            demo_env("SWITCHYARD_DEMO_EBANX_CERTIFICATE")
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!(demo_env("HOME"), None);
    }
}
