//! Every dialect's answer parsing for initiation, status, refund and refund status,
//! through the real connector code with a canned upstream (`connectors::build_canned`,
//! the `fuzzing` feature): each request the connector sends is answered with the
//! next fuzzed answer, no socket involved, so multi-step flows (order then pay,
//! token then pay, duplicate then status query) are reached.
//!
//! Input: byte 0 picks the dialect (`% 10`), byte 1 the call (`% 4`: initiate,
//! status, refund, refund status) and, for initiation, the method (`/ 4 % 5`).
//! The rest is a list of answers separated by NUL bytes: each answer's first byte
//! picks its HTTP status (or a transport failure), the remaining bytes are its body.
//! Past the last answer every request times out (`SentUnknown`).
//!
//! Properties: no panic; `Created` always carries the gateway's payment id, and
//! that id is in one of the answers (a 2xx without an id is never `Created`); a
//! dialect's "payment already exists" answer is never `Declined`;
//! outcome details and decline messages are scrubbed (they are logged); amounts
//! reported are not negative; the same answers give the same outcome.
#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchyard::connectors::upstream::{Response, UpstreamError};
use switchyard::connectors::{
    self, Connector, ConnectorKind, InitiateRequest, Outcome, RefundOutcome, RefundQuery,
    RefundRequest, ebanx, paytm, payu,
};
use switchyard::model::{Currency, Customer, Method, Paise, PaymentRequest, Vpa};

use common::*;

/// HTTP statuses an answer may carry; 0 and 1 are transport failures.
const STATUSES: [u16; 18] = [
    200, 201, 202, 204, 302, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504, 0, 1,
];
const METHODS: [Method; 5] = [
    Method::UpiCollect,
    Method::UpiIntent,
    Method::UpiQr,
    Method::Card,
    Method::Netbanking,
];

type Queue = Arc<Mutex<VecDeque<(u16, Vec<u8>)>>>;

struct World {
    rt: tokio::runtime::Runtime,
    queue: Queue,
    cached: Vec<Arc<dyn Connector>>,
}

fn answer(q: &Queue) -> Result<Response, UpstreamError> {
    let next = q.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
    match next {
        None | Some((1, _)) => Err(UpstreamError::SentUnknown("timed out (fuzz)".into())),
        Some((0, _)) => Err(UpstreamError::NotSent("connection refused (fuzz)".into())),
        Some((status, body)) => Ok(Response {
            status,
            body: Bytes::from(body),
        }),
    }
}

fn build(kind: ConnectorKind, q: &Queue) -> Arc<dyn Connector> {
    let q = Arc::clone(q);
    connectors::build_canned(
        &spec(kind, "https://gw.example"),
        Arc::new(move |_| answer(&q)),
    )
    .expect("builds")
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let queue: Queue = Arc::default();
        let cached = ConnectorKind::ALL
            .iter()
            .map(|&k| build(k, &queue))
            .collect();
        World { rt, queue, cached }
    })
}

fn request(method: Method) -> PaymentRequest {
    PaymentRequest {
        order_id: "ord_fz".into(),
        amount: Paise(49_900),
        currency: Currency::Inr,
        method,
        vpa: Vpa::parse("asha.k@okaxis").ok(),
        customer: Customer::default(),
        description: None,
        tags: Default::default(),
        metadata: None,
    }
}

fn check_outcome(kind: ConnectorKind, o: &Outcome, answers: &[(u16, Vec<u8>)]) {
    match o {
        Outcome::Created(c) => {
            let Some(id) = c.gateway_payment_id.as_deref().filter(|i| !i.is_empty()) else {
                // Created on our own reference only: PayU's browser form (nothing is
                // sent to PayU) and Paytm's documented success, whose TXNID comes
                // later (`classify::outcome_on_reference`).
                let form = kind == ConnectorKind::Payu
                    && matches!(c.next_action, switchyard::model::NextAction::FormPost(_));
                let on_reference = kind == ConnectorKind::Paytm
                    && answers.iter().any(|(st, b)| {
                        (200..300).contains(st) && b.windows(12).any(|w| w == b"resultStatus")
                    });
                assert!(
                    form || on_reference,
                    "{kind:?}: Created without the gateway's id: {o:?}"
                );
                return;
            };
            assert!(
                answers
                    .iter()
                    .any(|(_, b)| b.windows(id.len()).any(|w| w == id.as_bytes())),
                "{kind:?}: Created with an id no answer carried: {o:?}"
            );
        }
        Outcome::Declined { code, message, .. } => {
            // The dialects' "this payment already exists" codes: the payment may be
            // live at the gateway, so never a decline.
            let exists = [ebanx::ERRORS[0].0, payu::DUPLICATE, paytm::DUPLICATE_ORDER];
            assert!(
                !exists.contains(&code.as_str()),
                "{kind:?}: an existing payment declined: {o:?}"
            );
            assert!(
                is_scrubbed(message),
                "{kind:?}: decline message not scrubbed: {message:?}"
            )
        }
        Outcome::NotSent { detail }
        | Outcome::Error5xx { detail, .. }
        | Outcome::SentUnknown { detail } => {
            assert!(
                is_scrubbed(detail),
                "{kind:?}: detail not scrubbed: {detail:?}"
            )
        }
    }
}

fn not_negative(kind: ConnectorKind, a: Option<Paise>) {
    assert!(
        a.is_none_or(|p| p.0 >= 0),
        "{kind:?}: negative amount {a:?}"
    );
}

/// One call against `c` with `answers` queued; the result as text for comparison.
fn call(w: &World, c: &dyn Connector, op: u8, answers: &[(u16, Vec<u8>)]) -> String {
    let kind = c.kind();
    {
        let mut q = w.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.clear();
        q.extend(answers.iter().cloned());
    }
    let req = request(METHODS[(op / 4) as usize % METHODS.len()]);
    let refund = RefundRequest {
        refund_id: "rf_fz",
        payment_id: "sy_FZ",
        gateway_payment_id: "gw_fz",
        amount: Paise(10_000),
        currency: "INR",
        reason: Some("fuzz"),
    };
    w.rt.block_on(async {
        match op % 4 {
            0 => {
                let o = c
                    .initiate(InitiateRequest {
                        payment_id: "sy_FZ",
                        idempotency_key: "idem_fz",
                        request: &req,
                        callback_url: Some("https://sy.example/v1/callbacks/fz"),
                    })
                    .await;
                check_outcome(kind, &o, answers);
                format!("{o:?}")
            }
            1 => {
                let r = c.status("sy_FZ", (op & 4 != 0).then_some("gw_fz")).await;
                if let Ok(rep) = &r {
                    not_negative(kind, rep.amount);
                }
                format!("{r:?}")
            }
            2 => {
                let o = c.refund(refund).await;
                match &o {
                    RefundOutcome::Accepted(rep) => not_negative(kind, rep.amount),
                    RefundOutcome::NotSent { detail }
                    | RefundOutcome::Unknown { detail }
                    | RefundOutcome::Declined {
                        message: detail, ..
                    } => {
                        assert!(is_scrubbed(detail), "{kind:?}: refund detail not scrubbed")
                    }
                    _ => {}
                }
                format!("{o:?}")
            }
            _ => {
                let mut q = RefundQuery::from(refund);
                if op & 4 != 0 {
                    q.gateway_refund_id = Some("rfnd_fz");
                }
                let r = c.refund_status(q).await;
                if let Ok(rep) = &r {
                    not_negative(kind, rep.amount);
                }
                format!("{r:?}")
            }
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let [pick, op, rest @ ..] = data else { return };
    let n = ConnectorKind::ALL.len();
    let kind = ConnectorKind::ALL[*pick as usize % n];
    let answers: Vec<(u16, Vec<u8>)> = rest
        .split(|&b| b == 0)
        .take(6)
        .map(|a| match a.split_first() {
            Some((&s, body)) => (STATUSES[s as usize % STATUSES.len()], body.to_vec()),
            None => (200, Vec::new()),
        })
        .collect();
    let w = world();
    // PhonePe caches its OAuth token: a fresh connector keeps each input independent.
    let fresh;
    let c: &dyn Connector = if kind == ConnectorKind::Phonepe {
        fresh = build(kind, &w.queue);
        fresh.as_ref()
    } else {
        w.cached[*pick as usize % n].as_ref()
    };
    let first = call(w, c, *op, &answers);
    let again = if kind == ConnectorKind::Phonepe {
        let c2 = build(kind, &w.queue);
        call(w, c2.as_ref(), *op, &answers)
    } else {
        call(w, c, *op, &answers)
    };
    assert_eq!(
        first, again,
        "{kind:?}: the same answers gave another result"
    );
});
