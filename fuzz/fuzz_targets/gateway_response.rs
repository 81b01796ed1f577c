//! Each dialect's initiation-answer parsing, through the real connector and HTTP
//! client against a loopback server that answers with the fuzzed status and body.
//! No panic; a 2xx without any id is never `Created`.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use switchyard::connectors::{
    self, Connector, ConnectorKind, Credentials, GatewaySpec, InitiateRequest, Outcome,
};
use switchyard::model::{Currency, Customer, Method, Paise, PaymentRequest, Secret, Vpa};

struct World {
    rt: tokio::runtime::Runtime,
    next: Arc<Mutex<(u16, Vec<u8>)>>,
    dialects: Vec<Arc<dyn Connector>>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let next = Arc::new(Mutex::new((200u16, Vec::new())));
        let n = Arc::clone(&next);
        let addr = rt.block_on(async move {
            let app = axum::Router::new().fallback(move || {
                let (s, b) = n.lock().unwrap().clone();
                async move { (axum::http::StatusCode::from_u16(s).unwrap(), b) }
            });
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(l, app).await });
            addr
        });
        let dialects = [ConnectorKind::Generic, ConnectorKind::Razorpay, ConnectorKind::Cashfree]
            .into_iter()
            .map(|kind| {
                connectors::build(&GatewaySpec {
                    name: "f".into(),
                    kind,
                    base_url: format!("http://{addr}"),
                    credentials: Credentials {
                        key_id: Some(Secret::new("kid")),
                        key_secret: Some(Secret::new("ks")),
                        webhook_secret: None,
                    },
                    connect_timeout: Duration::from_millis(500),
                    timeout: Duration::from_secs(2),
                    pool_size: 4,
                    idempotent: false,
                })
                .unwrap()
            })
            .collect();
        World { rt, next, dialects }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&s, body)) = data.split_first() else { return };
    let status = [200u16, 201, 202, 400, 401, 404, 409, 422, 429, 500, 502, 503][s as usize % 12];
    let w = world();
    *w.next.lock().unwrap() = (status, body.to_vec());
    let req = PaymentRequest {
        order_id: "ord_f".into(),
        amount: Paise(49_900),
        currency: Currency::Inr,
        method: [Method::UpiCollect, Method::UpiIntent, Method::UpiQr, Method::Card][(s / 12) as usize % 4],
        vpa: Some(Vpa::parse("asha.k@okaxis").unwrap()),
        customer: Customer::default(),
        description: None,
        tags: Default::default(),
        metadata: None,
    };
    let without_id = !body.windows(2).any(|w| w == b"id");
    for c in &w.dialects {
        let out = w.rt.block_on(c.initiate(InitiateRequest {
            payment_id: "sy_F",
            idempotency_key: "k",
            request: &req,
            callback_url: None,
        }));
        if (200..300).contains(&status) && without_id {
            assert!(!matches!(out, Outcome::Created(_)), "{out:?}");
        }
    }
});
