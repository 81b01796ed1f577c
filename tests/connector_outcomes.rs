//! Connectors against the sandbox and a few hand-made failure servers: every
//! outcome class for every dialect, plus status queries.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use switchyard::connectors::{self, Connector, InitiateRequest, Outcome};
use switchyard::connectors::{ConnectorKind, Credentials, GatewaySpec};
use switchyard::model::Secret;
use switchyard::model::{
    Currency, Customer, Method, NextAction, Paise, PaymentRequest, PaymentStatus, Reason, Vpa,
};
use switchyard::sandbox::{Knobs, KnobsPatch, SandboxGateway};
use tokio::io::AsyncReadExt;

fn spec(kind: ConnectorKind, addr: SocketAddr, timeout_ms: u64) -> GatewaySpec {
    GatewaySpec {
        name: format!("{}-test", kind.as_str()),
        kind,
        base_url: format!("http://{addr}"),
        credentials: Credentials {
            key_id: Some(Secret::new("key")),
            key_secret: Some(Secret::new("secret")),
            webhook_secret: Some(Secret::new("whsec")),
            ..Default::default()
        },
        connect_timeout: Duration::from_millis(300),
        timeout: Duration::from_millis(timeout_ms),
        pool_size: 4,
        idempotent: false,
    }
}

fn request(method: Method) -> PaymentRequest {
    PaymentRequest {
        order_id: "ord_1".into(),
        amount: Paise(29_950),
        currency: Currency::Inr,
        method,
        vpa: (method == Method::UpiCollect).then(|| Vpa::parse("asha.k@okaxis").unwrap()),
        customer: Customer {
            id: Some("cust1".into()),
            email: Some("a@example.com".into()),
            phone: Some("9876543210".into()),
        },
        description: None,
        tags: BTreeMap::new(),
        metadata: None,
    }
}

async fn initiate(conn: &dyn Connector, method: Method) -> Outcome {
    let req = request(method);
    conn.initiate(InitiateRequest {
        payment_id: "sy_01TEST",
        idempotency_key: "idem-1",
        request: &req,
        callback_url: Some("http://127.0.0.1:1/v1/callbacks/x"),
    })
    .await
}

const KINDS: [ConnectorKind; 3] = [
    ConnectorKind::Generic,
    ConnectorKind::Razorpay,
    ConnectorKind::Cashfree,
];

#[tokio::test]
async fn created_for_every_method_and_dialect() {
    for kind in KINDS {
        let (addr, _h) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), kind, "sbx")
            .await
            .unwrap();
        let conn = connectors::build(&spec(kind, addr, 2000)).unwrap();
        for method in Method::ALL {
            let out = initiate(conn.as_ref(), method).await;
            let Outcome::Created(c) = &out else {
                panic!("{kind:?} {method:?}: {out:?}");
            };
            assert!(c.gateway_payment_id.is_some(), "{kind:?} {method:?}");
            match method {
                Method::UpiCollect => {
                    assert_eq!(c.next_action, NextAction::AwaitCustomer);
                    assert_eq!(c.status, PaymentStatus::Pending);
                }
                Method::UpiIntent => {
                    assert!(
                        matches!(&c.next_action, NextAction::UpiIntent { uri } if uri.starts_with("upi://pay")),
                        "{kind:?}: {c:?}"
                    );
                }
                Method::UpiQr => {
                    assert!(
                        matches!(&c.next_action, NextAction::UpiQr { .. }),
                        "{kind:?}: {c:?}"
                    );
                }
                Method::Card | Method::Netbanking => {
                    assert!(
                        matches!(&c.next_action, NextAction::Redirect { .. }),
                        "{kind:?}: {c:?}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn decline_5xx_timeout_and_down() {
    for kind in KINDS {
        let (addr, h) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), kind, "sbx")
            .await
            .unwrap();
        let conn = connectors::build(&spec(kind, addr, 500)).unwrap();

        h.patch(KnobsPatch {
            success_rate: Some(0.0),
            ..Default::default()
        });
        let out = initiate(conn.as_ref(), Method::UpiCollect).await;
        match &out {
            Outcome::Declined { reason, .. } => {
                if kind != ConnectorKind::Generic {
                    assert_eq!(*reason, Reason::InvalidVpa, "{kind:?}");
                }
            }
            other => panic!("{kind:?}: {other:?}"),
        }
        assert!(!out.may_fail_over());

        h.set(Knobs {
            error_5xx_rate: 1.0,
            ..Knobs::default()
        });
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        assert!(
            matches!(
                out,
                Outcome::Error5xx {
                    http_status: 500,
                    not_processed: false,
                    ..
                }
            ),
            "{kind:?}: {out:?}"
        );

        h.set(Knobs {
            error_5xx_rate: 1.0,
            error_status: 503,
            ..Knobs::default()
        });
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        assert!(
            matches!(
                out,
                Outcome::Error5xx {
                    http_status: 503,
                    not_processed: true,
                    ..
                }
            ),
            "{kind:?}: {out:?}"
        );
        assert!(out.may_fail_over());

        h.set(Knobs {
            timeout_rate: 1.0,
            ..Knobs::default()
        });
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        assert!(
            matches!(out, Outcome::SentUnknown { .. }),
            "{kind:?}: {out:?}"
        );

        h.set(Knobs {
            down: true,
            ..Knobs::default()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        assert!(matches!(out, Outcome::NotSent { .. }), "{kind:?}: {out:?}");

        h.set(Knobs::default());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        assert!(
            matches!(out, Outcome::Created(_)),
            "{kind:?} after restore: {out:?}"
        );
        let st = h.stats();
        assert!(
            st.declined >= 1 && st.errors_5xx >= 2 && st.timeouts >= 1,
            "{st:?}"
        );
    }
}

#[tokio::test]
async fn status_queries() {
    for kind in KINDS {
        let (addr, h) = SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), kind, "sbx")
            .await
            .unwrap();
        let conn = connectors::build(&spec(kind, addr, 2000)).unwrap();
        let Outcome::Created(c) = initiate(conn.as_ref(), Method::UpiIntent).await else {
            panic!("{kind:?}: not created");
        };
        let rep = conn
            .status("sy_01TEST", c.gateway_payment_id.as_deref())
            .await
            .unwrap();
        assert_eq!(rep.status, PaymentStatus::Succeeded, "{kind:?}: {rep:?}");
        assert!(rep.utr.is_some() || rep.rrn.is_some(), "{kind:?}: {rep:?}");
        if kind == ConnectorKind::Razorpay {
            assert_eq!(rep.amount, Some(Paise(29_950)));
            // Without a gateway id: by receipt.
            let rep = conn.status("sy_01TEST", None).await.unwrap();
            assert_eq!(rep.status, PaymentStatus::Succeeded);
        }
        h.patch(KnobsPatch {
            success_rate: Some(0.0),
            ..Default::default()
        });
        let rep = conn
            .status("sy_01OTHER", c.gateway_payment_id.as_deref())
            .await;
        if kind != ConnectorKind::Razorpay {
            let rep = rep.unwrap();
            assert_eq!(rep.status, PaymentStatus::Failed, "{kind:?}");
            assert_eq!(rep.reason, Some(Reason::InsufficientFunds), "{kind:?}");
        }
    }
}

#[tokio::test]
async fn closed_port_is_not_sent_and_silent_server_is_sent_unknown() {
    // A port that was bound and released: connection refused.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = l.local_addr().unwrap();
    drop(l);
    // A server that reads the request and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = silent.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    for kind in KINDS {
        let conn = connectors::build(&spec(kind, closed, 300)).unwrap();
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        assert!(matches!(out, Outcome::NotSent { .. }), "{kind:?}: {out:?}");
        assert!(out.may_fail_over());

        let conn = connectors::build(&spec(kind, silent_addr, 300)).unwrap();
        let out = initiate(conn.as_ref(), Method::UpiIntent).await;
        // Razorpay and Cashfree time out on the order step, before any payment call:
        // nothing can exist at the gateway, so it is NotSent. Generic: SentUnknown.
        match kind {
            ConnectorKind::Generic => {
                assert!(
                    matches!(out, Outcome::SentUnknown { .. }),
                    "{kind:?}: {out:?}"
                )
            }
            _ => assert!(matches!(out, Outcome::NotSent { .. }), "{kind:?}: {out:?}"),
        }
    }
}

#[tokio::test]
async fn control_api_over_http() {
    let (addr, h) =
        SandboxGateway::bind("127.0.0.1:0".parse().unwrap(), ConnectorKind::Generic, "g1")
            .await
            .unwrap();
    let c = reqwest::Client::new();
    let r = c
        .post(format!("http://{addr}/_sandbox/g1"))
        .json(&serde_json::json!({"latency_ms": 5, "success_rate": 0.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.knobs().latency_ms, 5);
    assert_eq!(h.knobs().success_rate, 0.5);
    let v: serde_json::Value = c
        .get(format!("http://{addr}/_sandbox/g1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["knobs"]["latency_ms"], 5);
    assert_eq!(v["stats"]["initiations"], 0);
    let r = c
        .get(format!("http://{addr}/_sandbox/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
