//! One sale-day checkout: an order paid through switchyard, retried the way a
//! merchant's checkout does.

use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub(super) struct Checkout {
    pub order_id: String,
    pub http_status: Option<u16>,
    pub payment_id: Option<String>,
    pub tries: u32,
    /// Retried the order with a new idempotency key after a 504.
    pub new_key: bool,
}

pub(super) async fn checkout(
    client: reqwest::Client,
    url: String,
    i: usize,
    amount: i64,
    give_up: Instant,
) -> Checkout {
    let mut c = Checkout {
        order_id: format!("sd{i}"),
        ..Default::default()
    };
    let body =
        serde_json::json!({"order_id": c.order_id, "amount": amount, "method": "upi_intent"});
    let mut key = format!("sdk{i}");
    let mut new_key_used = false;
    loop {
        c.tries += 1;
        let r = client
            .post(&url)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        let retry = match r {
            Ok(r) => {
                let st = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or_default();
                c.http_status = Some(st);
                if let Some(p) = v.get("payment_id").and_then(Value::as_str) {
                    c.payment_id = Some(p.to_string());
                }
                // A timeout: this checkout tries the order again with a new key (what
                // the order-level guard exists for), once.
                if st == 504 && !new_key_used {
                    new_key_used = true;
                    c.new_key = true;
                    key = format!("sdk{i}r");
                    true
                } else {
                    // Still in progress (the process died mid-initiation): ask again later.
                    st == 409 && v["error"]["code"] == "request_in_progress"
                }
            }
            // switchyard is down: the checkout retries the same key.
            Err(_) => true,
        };
        if !retry || Instant::now() > give_up {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
