//! The sale day's requested refunds: while the orders come in (the SIGKILL and the
//! restart gap included), the merchant refunds some paid orders through
//! `POST /v1/payments/{id}/refunds`: full, partial, a request resent with the same
//! key (it must answer the same refund), and two refunds racing for more than what
//! is left (at most one may be taken). Each request is retried with its key while
//! switchyard is unreachable or answers 5xx / `request_in_progress`, as a
//! merchant's backend does.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A paid order the merchant may refund: (payment id, amount, when the checkout
/// got its answer).
pub(super) type Candidate = (String, i64, Instant);

/// What the merchant asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    Full,
    Partial,
    /// A partial refund sent twice with the same key and body.
    Resent,
    /// One of two refunds sent at once, each for 60% of the payment.
    Race,
}

/// One refund request and what switchyard answered.
#[derive(Debug, Clone)]
pub(super) struct Requested {
    pub payment_id: String,
    pub key: String,
    pub amount: i64,
    pub ask: Ask,
    /// Which race this request belongs to (both racers share it).
    pub race: Option<usize>,
    pub http_status: Option<u16>,
    pub refund_id: Option<String>,
    pub code: Option<String>,
    /// Resent: the refund id the second send answered.
    pub resent_refund_id: Option<String>,
}

/// Drives the requested refunds until `stop`; one refund every `every`.
pub(super) async fn drive(
    client: reqwest::Client,
    listen: SocketAddr,
    mut paid: mpsc::UnboundedReceiver<Candidate>,
    every: Duration,
    stop: Instant,
    give_up: Instant,
) -> Vec<Requested> {
    let mut queue: VecDeque<(Candidate, u32)> = VecDeque::new();
    let mut out = Vec::new();
    let mut tasks = Vec::new();
    let mut n = 0usize;
    while Instant::now() < stop {
        tokio::time::sleep(every).await;
        while let Ok(c) = paid.try_recv() {
            queue.push_back((c, 0));
        }
        // The oldest order answered at least 3 s ago (its callbacks had time).
        let Some(pos) = queue
            .iter()
            .position(|((_, _, at), _)| at.elapsed() >= Duration::from_secs(3))
        else {
            continue;
        };
        let Some(((pid, amount, at), looks)) = queue.remove(pos) else {
            continue;
        };
        let status = payment_status(&client, listen, &pid).await;
        if status.as_deref() != Some("succeeded") {
            // Not paid yet (or switchyard is down): look again later, a few times.
            if looks < 3 && status.as_deref() != Some("failed") {
                queue.push_back(((pid, amount, at), looks + 1));
            }
            continue;
        }
        let ask = match n % 20 {
            0..=7 => Ask::Full,
            8..=15 => Ask::Partial,
            16 | 17 => Ask::Resent,
            _ => Ask::Race,
        };
        let i = n;
        n += 1;
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            one(&client, listen, &pid, amount, ask, i, give_up).await
        }));
    }
    for t in tasks {
        if let Ok(mut r) = t.await {
            out.append(&mut r);
        }
    }
    out
}

async fn one(
    client: &reqwest::Client,
    listen: SocketAddr,
    pid: &str,
    amount: i64,
    ask: Ask,
    i: usize,
    give_up: Instant,
) -> Vec<Requested> {
    let req = |key: String, amt: i64| Requested {
        payment_id: pid.to_string(),
        key,
        amount: amt,
        ask,
        race: (ask == Ask::Race).then_some(i),
        http_status: None,
        refund_id: None,
        code: None,
        resent_refund_id: None,
    };
    match ask {
        Ask::Full | Ask::Partial | Ask::Resent => {
            let amt = if ask == Ask::Full {
                amount
            } else {
                (amount / 3).max(1)
            };
            let mut r = req(format!("sdr{i}"), amt);
            send(client, listen, &mut r, give_up).await;
            if ask == Ask::Resent {
                let mut again = r.clone();
                send(client, listen, &mut again, give_up).await;
                r.resent_refund_id = again.refund_id;
            }
            vec![r]
        }
        Ask::Race => {
            let amt = amount * 6 / 10;
            let (mut a, mut b) = (req(format!("sdr{i}a"), amt), req(format!("sdr{i}b"), amt));
            tokio::join!(
                send(client, listen, &mut a, give_up),
                send(client, listen, &mut b, give_up)
            );
            vec![a, b]
        }
    }
}

async fn payment_status(client: &reqwest::Client, listen: SocketAddr, pid: &str) -> Option<String> {
    let v: Value = client
        .get(format!("http://{listen}/v1/payments/{pid}"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["status"].as_str().map(str::to_string)
}

/// Sends `r` (retrying its key while switchyard cannot answer) and keeps the answer.
async fn send(client: &reqwest::Client, listen: SocketAddr, r: &mut Requested, give_up: Instant) {
    let url = format!("http://{listen}/v1/payments/{}/refunds", r.payment_id);
    let body = json!({"amount": r.amount, "reason": "customer_request"});
    loop {
        let got = client
            .post(&url)
            .header("Idempotency-Key", &r.key)
            .json(&body)
            .send()
            .await;
        if let Ok(resp) = got {
            let st = resp.status().as_u16();
            let v: Value = resp.json().await.unwrap_or_default();
            let in_progress = v["error"]["code"] == "request_in_progress";
            if st < 500 && !in_progress {
                r.http_status = Some(st);
                r.refund_id = v["refund_id"].as_str().map(str::to_string);
                r.code = v["error"]["code"].as_str().map(str::to_string);
                return;
            }
            r.http_status = Some(st);
        }
        if Instant::now() > give_up {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
