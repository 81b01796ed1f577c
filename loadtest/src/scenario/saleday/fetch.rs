//! Reading the ledger back after the day (`GET /v1/payments?order_id=` and each
//! payment's refunds).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::Value;

use super::checkout::Checkout;

/// Every payment of every order, by order id (`GET /v1/payments?order_id=`).
pub(super) async fn fetch_ledger(
    client: &reqwest::Client,
    listen: SocketAddr,
    checkouts: &[Checkout],
) -> anyhow::Result<BTreeMap<String, Vec<Value>>> {
    let mut out = BTreeMap::new();
    for c in checkouts {
        let v: Value = client
            .get(format!(
                "http://{listen}/v1/payments?order_id={}",
                c.order_id
            ))
            .send()
            .await?
            .json()
            .await?;
        let list = v["payments"].as_array().cloned().unwrap_or_default();
        out.insert(c.order_id.clone(), list);
    }
    Ok(out)
}

/// Every refund of every payment in `ledger`, by payment id.
pub(super) async fn fetch_refunds(
    client: &reqwest::Client,
    listen: SocketAddr,
    ledger: &BTreeMap<String, Vec<Value>>,
) -> anyhow::Result<BTreeMap<String, Vec<Value>>> {
    let mut out = BTreeMap::new();
    for p in ledger.values().flatten() {
        let Some(pid) = p["payment_id"].as_str() else {
            continue;
        };
        let v: Value = client
            .get(format!("http://{listen}/v1/payments/{pid}/refunds"))
            .send()
            .await?
            .json()
            .await?;
        let list = v["refunds"].as_array().cloned().unwrap_or_default();
        if !list.is_empty() {
            out.insert(pid.to_string(), list);
        }
    }
    Ok(out)
}
