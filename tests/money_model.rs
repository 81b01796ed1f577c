//! Model-based test of the money rules (issue 12, docs/MONEY.md): random
//! interleavings of initiations (every outcome class, retries with the same and new
//! keys), callbacks (duplicates, reordered, late, conflicting, wrong amount, from the
//! wrong gateway, orphans, second payments, TPV failures), status checks and
//! restarts (the ledger reopened) and gateway refunds (partial and full; a fully
//! refunded order may be paid again, a partly refunded one is still paid), run
//! through the real flows and checked after every step against a small reference
//! model of the rules.
//!
//! Invariants, after every step:
//! - every payment's status and gateway are the model's; no final state is ever
//!   downgraded (only `failed` → `succeeded`, flagged late success, and
//!   `succeeded` → `partially_refunded` → `refunded` by the refunded amount);
//! - at most one gateway may hold a live payment for a payment id, and one order's
//!   live or succeeded payments are all at one gateway (else flagged);
//! - every status change is in the outbox exactly once (by `event_id`): the events
//!   whose status differs from their previous one chain from `initiated` to the
//!   current status, and the model counts every forwarded event;
//! - money fields never change sign or unit (the intent's paise are kept; every
//!   forwarded amount is a positive integer the intent or the gateway stated);
//! - no idempotency row stays in progress once its payment is final.
//!
//! Bounded: 48 cases of up to 24 steps (`PROPTEST_CASES` overrides the count).

mod money;

use std::collections::{BTreeMap, BTreeSet};

use money::{Step, World, cb};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use switchyard::model::PaymentStatus as S;

const GATEWAYS: [&str; 2] = ["a", "b"];
const ORDERS: usize = 3;

fn amount_of(order: usize) -> i64 {
    10_000 * (order as i64 + 1)
}

#[derive(Debug, Clone)]
enum Op {
    /// A new request (`key` among a few per order, so keys repeat) with these answers.
    Pay {
        order: usize,
        key: u8,
        steps: Vec<Step>,
    },
    /// A callback for the `target`-th payment made so far.
    Callback {
        target: usize,
        /// Posted to the payment's own gateway, or the other one.
        own_gateway: bool,
        status: S,
        /// Another gateway payment id than the one the gateway gave.
        other_gpid: bool,
        wrong_amount: bool,
        tpv_failed: bool,
        /// Small, so the same event is redelivered.
        n: u8,
    },
    /// A callback for a payment not made yet, known only by the gateway payment id
    /// the gateway will give it `ahead` creations from now.
    Orphan {
        gateway: usize,
        ahead: u8,
        status: S,
        n: u8,
    },
    StatusCheck {
        target: usize,
        status: S,
    },
    Restart,
    /// A new request whose last attempt never answers; the process dies there (the
    /// request is dropped, the ledger reopened): a write-ahead intent, no completion.
    Crash {
        order: usize,
        key: u8,
        failover_first: bool,
    },
    /// The gateway refunds a paid payment, all that is left or half of it (a
    /// dashboard refund, learned from its webhook).
    Refund {
        target: usize,
        full: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop_oneof![Just(S::Pending), Just(S::Initiated), Just(S::Succeeded)].prop_map(Step::Created),
        1 => Just(Step::Declined),
        2 => Just(Step::NotSent),
        1 => Just(Step::Busy),
        1 => Just(Step::Broken),
        2 => Just(Step::SentUnknown),
    ]
}

fn cb_status() -> impl Strategy<Value = S> {
    prop_oneof![
        Just(S::Pending),
        Just(S::Succeeded),
        Just(S::Failed),
        Just(S::Deemed)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..ORDERS, 0..3u8, prop::collection::vec(step(), 3))
            .prop_map(|(order, key, steps)| Op::Pay { order, key, steps }),
        6 => (0..8usize, prop::bool::weighted(0.85), cb_status(), prop::bool::weighted(0.15),
              prop::bool::weighted(0.15), prop::bool::weighted(0.1), 0..2u8)
            .prop_map(|(target, own_gateway, status, other_gpid, wrong_amount, tpv_failed, n)| {
                Op::Callback { target, own_gateway, status, other_gpid, wrong_amount, tpv_failed, n }
            }),
        1 => (0..2usize, 0..2u8, cb_status(), 0..2u8)
            .prop_map(|(gateway, ahead, status, n)| Op::Orphan { gateway, ahead, status, n }),
        2 => (0..8usize, cb_status()).prop_map(|(target, status)| Op::StatusCheck { target, status }),
        1 => Just(Op::Restart),
        1 => (0..ORDERS, 0..3u8, any::<bool>())
            .prop_map(|(order, key, failover_first)| Op::Crash { order, key, failover_first }),
        4 => (0..8usize, any::<bool>()).prop_map(|(target, full)| Op::Refund { target, full }),
    ]
}

// === the reference model ===

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum D {
    Apply,
    Unchanged,
    Conflict,
}

fn is_final(s: S) -> bool {
    !matches!(
        s,
        S::Initiated | S::Pending | S::Deemed | S::Authorized | S::Unknown
    )
}

/// The precedence table of DESIGN.md section 4, for the statuses this test uses.
fn decide(cur: S, inc: S) -> D {
    if inc == cur || matches!(inc, S::Initiated | S::Unknown) {
        return D::Unchanged;
    }
    if !is_final(cur) {
        return D::Apply;
    }
    match (cur, inc) {
        (S::Failed, S::Succeeded) => D::Apply,
        (S::Succeeded | S::PartiallyRefunded | S::Refunded, S::Failed) => D::Conflict,
        _ => D::Unchanged,
    }
}

#[derive(Debug, Clone)]
struct MPay {
    id: String,
    order: usize,
    gateway: String,
    /// Gateways an attempt reached (not `not_sent`).
    reached: BTreeSet<String>,
    /// Gateways that may hold the payment (created, or ambiguous).
    may_hold: BTreeSet<String>,
    status: S,
    gpid: Option<String>,
    paid_gpid: Option<String>,
    duplicates: BTreeSet<String>,
    tpv: bool,
    mismatch: bool,
    events: usize,
    /// Succeeded after failing (forwarded flagged `late_success`).
    late: bool,
    /// Its initiation died before the completion (idempotency row in progress).
    crashed: bool,
    /// Every status the ledger showed, in order.
    seen: Vec<S>,
    /// Paise the gateway refunded on the paying gateway payment.
    refunded: i64,
}

#[derive(Debug, Default)]
struct Model {
    pays: Vec<MPay>,
    keys: BTreeMap<String, usize>,
    /// Event ids the ledger recorded (dedupe).
    seen_events: BTreeSet<String>,
    /// Open orphans: (gateway, gpid) → callbacks in arrival order.
    orphans: BTreeMap<(String, String), Vec<MCb>>,
    /// Gateway refunds made so far (their ids).
    refunds: usize,
}

#[derive(Debug, Clone)]
struct MCb {
    event_id: String,
    gateway: String,
    status: S,
    gpid: Option<String>,
    /// `None`: the event states no amount (a status answer).
    amount: Option<i64>,
    tpv: bool,
}

fn evt(gateway: &str, id: &str) -> String {
    switchyard::model::event_id(gateway, id)
}

impl Model {
    /// Applies one callback (or status answer) to payment `i` as the ledger should.
    fn apply(&mut self, i: usize, c: &MCb) {
        let p = &mut self.pays[i];
        if c.gateway != p.gateway && !p.reached.contains(&c.gateway) {
            return; // refused: gateway_mismatch (not recorded, so not deduped)
        }
        self.seen_events.insert(c.event_id.clone());
        let paid = matches!(p.status, S::Succeeded | S::PartiallyRefunded | S::Refunded);
        // A success for another gateway payment than the one that paid, or (the
        // generic dialect binds its id) than the one the initiation created: a
        // duplicate.
        let ours = if paid {
            p.paid_gpid.as_ref().or(p.gpid.as_ref())
        } else {
            p.gpid.as_ref()
        };
        if c.status == S::Succeeded
            && let (Some(g), Some(by)) = (&c.gpid, ours)
            && g != by
        {
            if p.duplicates.insert(g.clone()) {
                p.events += 1;
            }
            return;
        }
        let wrong_amount = c.amount.is_some_and(|a| a != amount_of(p.order));
        let mismatch_new = wrong_amount && !p.mismatch;
        let tpv_before = p.tpv;
        p.tpv |= c.tpv;
        p.mismatch |= wrong_amount;
        let d = decide(p.status, c.status);
        let status = if d == D::Apply { c.status } else { p.status };
        p.late |= d == D::Apply && p.status == S::Failed;
        if status == S::Succeeded && c.gpid.is_some() && p.paid_gpid.is_none() {
            p.paid_gpid = c.gpid.clone();
        }
        let money_in = matches!(status, S::Succeeded | S::Deemed);
        let tpv_news = c.tpv && !tpv_before && money_in;
        match d {
            D::Apply | D::Conflict => p.events += 1,
            D::Unchanged if tpv_news || mismatch_new => p.events += 1,
            D::Unchanged => {}
        }
        p.status = status;
    }

    /// The succeeded, in-doubt or live payment deciding where `order` may pay
    /// (the default policy: refuse paid and in-doubt orders, pin live ones).
    fn guard(&self, order: usize) -> Option<(Guard, String)> {
        let of_order = || self.pays.iter().rev().filter(|p| p.order == order);
        // A fully refunded payment no longer holds the order: it may be paid again.
        if let Some(p) =
            of_order().find(|p| matches!(p.status, S::Succeeded | S::PartiallyRefunded))
        {
            return Some((Guard::Paid, p.gateway.clone()));
        }
        if let Some(p) = of_order().find(|p| matches!(p.status, S::Unknown | S::Initiated)) {
            return Some((Guard::InDoubt, p.gateway.clone()));
        }
        of_order()
            .find(|p| !is_final(p.status))
            .map(|p| (Guard::Live, p.gateway.clone()))
    }
}

/// What the order guard found for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    Paid,
    InDoubt,
    Live,
}

/// The attempt rules (DESIGN.md section 4): the gateways called, where the payment
/// ends, its status and which gateways may hold it.
fn attempts(
    plan: &[&str],
    steps: &[Step],
) -> (
    Vec<String>,
    String,
    S,
    Option<usize>,
    BTreeSet<String>,
    BTreeSet<String>,
) {
    let idem = |g: &str| g == "a";
    let mut calls = Vec::new();
    let mut reached = BTreeSet::new();
    let mut may_hold = BTreeSet::new();
    let (mut i, mut ambiguous) = (0, false);
    let mut k = 0;
    loop {
        let g = plan[i];
        let s = steps.get(k).copied().unwrap_or(Step::NotSent);
        k += 1;
        calls.push(g.to_string());
        if s != Step::NotSent {
            reached.insert(g.to_string());
        }
        let amb = matches!(s, Step::SentUnknown | Step::Broken);
        if amb || matches!(s, Step::Created(_)) {
            may_hold.insert(g.to_string());
        }
        ambiguous |= amb;
        let may_fail_over = matches!(s, Step::NotSent | Step::Busy);
        let stop = |status: S, created: Option<usize>| {
            let status = if ambiguous && created.is_none() {
                S::Unknown
            } else {
                status
            };
            (status, created)
        };
        let (status, created) = match s {
            Step::Created(st) => stop(st, Some(k - 1)),
            Step::Declined | Step::NotSent | Step::Busy => stop(S::Failed, None),
            _ => stop(S::Unknown, None),
        };
        let retry_here = idem(g) && (s == Step::SentUnknown || (ambiguous && may_fail_over));
        let next = if calls.len() >= 3 {
            None
        } else if retry_here {
            Some(i)
        } else if !ambiguous && may_fail_over && i + 1 < plan.len() {
            Some(i + 1)
        } else {
            None
        };
        match next {
            Some(n) => i = n,
            None => return (calls, g.to_string(), status, created, reached, may_hold),
        }
    }
}

// === running it ===

struct Run {
    w: World,
    m: Model,
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

impl Run {
    async fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Pay { order, key, steps } => self.pay(*order, *key, steps).await,
            Op::Callback {
                target,
                own_gateway,
                status,
                other_gpid,
                wrong_amount,
                tpv_failed,
                n,
            } => {
                if self.m.pays.is_empty() {
                    return Ok(());
                }
                let i = target % self.m.pays.len();
                let p = &self.m.pays[i];
                let gateway = if *own_gateway {
                    p.gateway.clone()
                } else {
                    GATEWAYS
                        .iter()
                        .find(|g| **g != p.gateway)
                        .unwrap()
                        .to_string()
                };
                let gpid = if *other_gpid {
                    format!("{}-other{n}", p.gateway)
                } else {
                    p.gpid
                        .clone()
                        .unwrap_or_else(|| format!("{}-real{i}", p.gateway))
                };
                let amount = if *wrong_amount {
                    amount_of(p.order) / 2
                } else {
                    amount_of(p.order)
                };
                // The identity covers the content, so a redelivery is the same event.
                let id = format!(
                    "{}:{}:{gpid}:{}:{amount}:{tpv_failed}:{n}",
                    p.id,
                    status.as_str(),
                    gateway
                );
                let c = MCb {
                    event_id: evt(&gateway, &id),
                    gateway: gateway.clone(),
                    status: *status,
                    gpid: Some(gpid.clone()),
                    amount: Some(amount),
                    tpv: *tpv_failed,
                };
                let pid = p.id.clone();
                let dup = self.m.seen_events.contains(&c.event_id);
                let got = self
                    .w
                    .callback(
                        &gateway,
                        cb(&id, Some(&pid), Some(&gpid), *status, amount, *tpv_failed),
                    )
                    .await;
                let mismatch = gateway != p.gateway && !p.reached.contains(&gateway);
                check(got.is_err() == mismatch, || {
                    format!("callback {op:?}: {got:?}")
                })?;
                if !dup {
                    self.m.apply(i, &c);
                } else {
                    check(got.as_ref().is_ok_and(|a| a.result == "duplicate"), || {
                        format!("redelivery not a duplicate: {got:?}")
                    })?;
                }
                Ok(())
            }
            Op::Orphan {
                gateway,
                ahead,
                status,
                n,
            } => {
                let g = GATEWAYS[*gateway];
                let gpid = format!("{g}-{}", self.w.script.next_gpid() + u64::from(*ahead));
                let id = format!("orphan:{gpid}:{}:{n}", status.as_str());
                let c = MCb {
                    event_id: evt(g, &id),
                    gateway: g.to_string(),
                    status: *status,
                    gpid: Some(gpid.clone()),
                    amount: Some(10_000),
                    tpv: false,
                };
                let got = self
                    .w
                    .callback(g, cb(&id, None, Some(&gpid), *status, 10_000, false))
                    .await
                    .map_err(|e| TestCaseError::fail(format!("orphan refused: {e}")))?;
                if self.m.seen_events.insert(c.event_id.clone()) {
                    check(got.result == "orphan", || {
                        format!("orphan answered {}", got.result)
                    })?;
                    self.m
                        .orphans
                        .entry((g.to_string(), gpid))
                        .or_default()
                        .push(c);
                } else {
                    check(got.result == "duplicate", || {
                        format!("orphan redelivery answered {}", got.result)
                    })?;
                }
                Ok(())
            }
            Op::StatusCheck { target, status } => {
                if self.m.pays.is_empty() {
                    return Ok(());
                }
                let i = target % self.m.pays.len();
                let (gateway, pid) = (self.m.pays[i].gateway.clone(), self.m.pays[i].id.clone());
                let identity = format!("status:{pid}:{}:", status.as_str());
                let c = MCb {
                    event_id: evt(&gateway, &identity),
                    gateway: gateway.clone(),
                    status: *status,
                    gpid: None,
                    amount: None,
                    tpv: false,
                };
                let dup = self.m.seen_events.contains(&c.event_id);
                let r = self.w.status_check(&gateway, &pid, *status, None).await;
                if dup {
                    check(r.as_str() == "duplicate", || {
                        format!("status redelivery: {r:?}")
                    })?;
                } else {
                    self.m.apply(i, &c);
                }
                Ok(())
            }
            Op::Restart => {
                self.w.restart().await;
                Ok(())
            }
            Op::Refund { target, full } => {
                if self.m.pays.is_empty() {
                    return Ok(());
                }
                let i = target % self.m.pays.len();
                let p = &self.m.pays[i];
                // Only a payment in money, taken for the amount asked, on a known
                // gateway payment.
                let Some(gpid) = p.paid_gpid.clone().or_else(|| p.gpid.clone()) else {
                    return Ok(());
                };
                if !matches!(p.status, S::Succeeded | S::PartiallyRefunded) || p.mismatch {
                    return Ok(());
                }
                let left = amount_of(p.order) - p.refunded;
                let amount = if *full { left } else { (left / 2).max(1) };
                self.m.refunds += 1;
                let rid = format!("rfnd{}", self.m.refunds);
                let (gateway, pid) = (p.gateway.clone(), p.id.clone());
                let r = self
                    .w
                    .refund_webhook(&gateway, &pid, &gpid, &rid, amount)
                    .await;
                check(r.as_str() == "accepted", || format!("refund {op:?}: {r:?}"))?;
                let p = &mut self.m.pays[i];
                p.refunded += amount;
                p.events += 1;
                p.status = if p.refunded == amount_of(p.order) {
                    S::Refunded
                } else {
                    S::PartiallyRefunded
                };
                Ok(())
            }
            Op::Crash {
                order,
                key,
                failover_first,
            } => self.crash(*order, *key, *failover_first).await,
        }
    }

    async fn crash(
        &mut self,
        order: usize,
        key: u8,
        failover_first: bool,
    ) -> Result<(), TestCaseError> {
        let k = format!("k{order}-{key}");
        let plan: Vec<&str> = match self.m.guard(order) {
            _ if self.m.keys.contains_key(&k) => return self.pay(order, key, &[Step::Hang]).await,
            Some((Guard::Paid | Guard::InDoubt, _)) => {
                return self.pay(order, key, &[Step::Hang]).await;
            }
            Some((Guard::Live, g)) => vec![if g == "a" { "a" } else { "b" }],
            None => vec!["a", "b"],
        };
        let steps: &[Step] = if failover_first && plan.len() == 2 {
            &[Step::NotSent, Step::Hang]
        } else {
            &[Step::Hang]
        };
        let task = self
            .w
            .pay_spawned(&k, &format!("o{order}"), amount_of(order), steps);
        for _ in steps {
            self.w.script.wait_for_call().await;
        }
        let want: Vec<String> = plan[..steps.len()].iter().map(|g| g.to_string()).collect();
        check(self.w.script.calls() == want, || {
            format!("crash calls {:?}, model {want:?}", self.w.script.calls())
        })?;
        task.abort();
        let _ = task.await;
        self.w.restart().await;
        let id = self
            .w
            .rows("SELECT payment_id FROM idempotency WHERE key = ?1", &k)
            .await;
        let id = id
            .first()
            .and_then(|r| r[0].clone())
            .ok_or_else(|| TestCaseError::fail("no intent after the crash"))?;
        let gateway = plan[steps.len() - 1].to_string();
        self.m.keys.insert(k, self.m.pays.len());
        self.m.pays.push(MPay {
            id,
            order,
            gateway: gateway.clone(),
            reached: BTreeSet::from([gateway.clone()]),
            may_hold: BTreeSet::from([gateway]),
            status: S::Initiated,
            gpid: None,
            paid_gpid: None,
            duplicates: BTreeSet::new(),
            tpv: false,
            mismatch: false,
            events: 0,
            late: false,
            crashed: true,
            seen: vec![],
            refunded: 0,
        });
        Ok(())
    }

    async fn pay(&mut self, order: usize, key: u8, steps: &[Step]) -> Result<(), TestCaseError> {
        let key = format!("k{order}-{key}");
        let amount = amount_of(order);
        let got = self.w.pay(&key, &format!("o{order}"), amount, steps).await;
        if let Some(&i) = self.m.keys.get(&key) {
            if self.m.pays[i].crashed {
                // Its first request never finished (until the watchdog recovers it).
                check(
                    matches!(
                        got,
                        Err(switchyard::payments::PaymentError::RequestInProgress)
                    ),
                    || format!("retry of a crashed request: {got:?}"),
                )?;
                return Ok(());
            }
            let (_, v, replayed) =
                got.map_err(|e| TestCaseError::fail(format!("replay refused: {e}")))?;
            check(
                replayed && v["payment_id"] == self.m.pays[i].id.as_str(),
                || format!("not a replay: {v}"),
            )?;
            check(self.w.script.calls().is_empty(), || {
                "a replay called a gateway".into()
            })?;
            return Ok(());
        }
        let plan: Vec<&str> = match self.m.guard(order) {
            Some((Guard::Paid, _)) => {
                check(
                    matches!(
                        got,
                        Err(switchyard::payments::PaymentError::OrderAlreadyPaid { .. })
                    ),
                    || format!("paid order not refused: {got:?}"),
                )?;
                return Ok(());
            }
            Some((Guard::InDoubt, _)) => {
                check(
                    matches!(
                        got,
                        Err(switchyard::payments::PaymentError::OrderPaymentInDoubt { .. })
                    ),
                    || format!("order in doubt not refused: {got:?}"),
                )?;
                check(self.w.script.calls().is_empty(), || {
                    "an order in doubt called a gateway".into()
                })?;
                return Ok(());
            }
            Some((Guard::Live, g)) => vec![if g == "a" { "a" } else { "b" }],
            None => vec!["a", "b"],
        };
        let (_, v, replayed) = got.map_err(|e| TestCaseError::fail(format!("pay refused: {e}")))?;
        check(!replayed, || "a new key replayed".into())?;
        let (calls, gateway, status, created, reached, may_hold) = attempts(&plan, steps);
        check(self.w.script.calls() == calls, || {
            format!(
                "calls {:?}, model {calls:?} (plan {plan:?}, steps {steps:?})",
                self.w.script.calls()
            )
        })?;
        let id = v["payment_id"].as_str().unwrap_or_default().to_string();
        let gpid = created.map(|_| {
            v["gateway_payment_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        let events = usize::from(status != S::Initiated);
        self.m.keys.insert(key, self.m.pays.len());
        self.m.pays.push(MPay {
            id,
            order,
            gateway: gateway.clone(),
            reached,
            may_hold,
            paid_gpid: if status == S::Succeeded {
                gpid.clone()
            } else {
                None
            },
            status,
            gpid: gpid.clone(),
            duplicates: BTreeSet::new(),
            tpv: false,
            mismatch: false,
            events,
            late: false,
            crashed: false,
            seen: vec![],
            refunded: 0,
        });
        // Early callbacks known by this gateway payment id are linked now.
        if let Some(g) = gpid {
            let i = self.m.pays.len() - 1;
            for c in self.m.orphans.remove(&(gateway, g)).unwrap_or_default() {
                self.m.apply(i, &c);
            }
        }
        Ok(())
    }

    /// Every invariant, against the ledger.
    async fn verify(&mut self) -> Result<(), TestCaseError> {
        for i in 0..self.m.pays.len() {
            let p = self.m.pays[i].clone();
            let view = self.w.state.ledger.payment(&p.id).await.unwrap().unwrap();
            check(view.status == p.status, || {
                format!(
                    "{}: ledger {:?}, model {:?}\n{p:#?}",
                    p.id, view.status, p.status
                )
            })?;
            check(view.gateway == p.gateway, || {
                format!("{}: gateway {}", p.id, view.gateway)
            })?;
            check(view.amount.0 == amount_of(p.order), || {
                format!("{}: amount changed", p.id)
            })?;
            // No final state downgraded.
            if let Some(&last) = self.m.pays[i].seen.last() {
                let ok = last == view.status
                    || !is_final(last)
                    || (last == S::Failed && view.status == S::Succeeded)
                    || (matches!(last, S::Succeeded | S::PartiallyRefunded)
                        && matches!(view.status, S::PartiallyRefunded | S::Refunded));
                check(ok, || {
                    format!("{}: {last:?} became {:?}", p.id, view.status)
                })?;
            }
            self.m.pays[i].seen.push(view.status);
            // At most one gateway may hold it.
            check(p.may_hold.len() <= 1, || {
                format!("{}: may be live at {:?}", p.id, p.may_hold)
            })?;
            // The outbox: the model's count, unique ids, a chain of status changes.
            let evs = self.w.outbox(&p.id).await;
            check(evs.len() == p.events, || {
                format!(
                    "{}: {} events, model {}: {evs:#?}\n{p:#?}",
                    p.id,
                    evs.len(),
                    p.events
                )
            })?;
            let ids: BTreeSet<&str> = evs.iter().filter_map(|e| e["event_id"].as_str()).collect();
            check(ids.len() == evs.len(), || {
                format!("{}: an event id twice", p.id)
            })?;
            let mut at = "initiated".to_string();
            for e in &evs {
                let (prev, now) = (
                    e["previous_status"].as_str().unwrap_or(""),
                    e["status"].as_str().unwrap_or(""),
                );
                if prev != now {
                    check(prev == at, || {
                        format!("{}: change {prev}->{now} after {at}", p.id)
                    })?;
                    at = now.to_string();
                }
                let amt = e["amount"].as_i64();
                check(amt.is_some_and(|a| a > 0) && e["amount"].is_i64(), || {
                    format!("{}: amount {}", p.id, e["amount"])
                })?;
                if e["flags"]["duplicate_payment"] == Value::Bool(true)
                    || e["flags"]["tpv_failed"] == Value::Bool(true)
                        && matches!(now, "succeeded" | "deemed")
                {
                    check(e["flags"]["refund_required"] == Value::Bool(true), || {
                        format!("{}: no refund_required on {e}", p.id)
                    })?;
                }
                if e["flags"]["amount_mismatch"] == Value::Bool(true)
                    && e["flags"]["refund_required"] != Value::Bool(true)
                {
                    check(e["order_action"] == "hold", || {
                        format!("{}: wrong amount not held: {e}", p.id)
                    })?;
                }
            }
            check(at == view.status.as_str(), || {
                format!("{}: outbox ends at {at}, ledger {:?}", p.id, view.status)
            })?;
            // No idempotency row in progress once the payment is final.
            // A crashed initiation's row is recovered by the watchdog's sweep
            // (`ledger::watchdog`, issue 12 item 9), not by the callback itself.
            if is_final(view.status) && !p.crashed {
                let open = self
                    .w
                    .rows(
                        "SELECT key FROM idempotency WHERE payment_id = ?1 AND completed = 0",
                        &p.id,
                    )
                    .await;
                check(open.is_empty(), || {
                    format!("{}: idempotency row in progress", p.id)
                })?;
            }
        }
        // One order: its live or succeeded payments all at one gateway, unless
        // flagged (a late success after the order moved on is `late_success`).
        for order in 0..ORDERS {
            let gws: BTreeSet<&str> = self
                .m
                .pays
                .iter()
                .filter(|p| p.order == order && !p.late)
                .filter(|p| p.status == S::Succeeded || !is_final(p.status))
                .map(|p| p.gateway.as_str())
                .collect();
            check(gws.len() <= 1, || format!("order o{order} live at {gws:?}"))?;
        }
        Ok(())
    }
}

#[test]
fn money_rules_hold_under_random_interleavings() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runner.run(&prop::collection::vec(op(), 1..24), |ops| {
        rt.block_on(async {
            let mut run = Run {
                w: World::new("").await,
                m: Model::default(),
            };
            for op in &ops {
                run.step(op).await?;
                run.verify().await?;
            }
            run.w.state.ledger.shutdown().await.unwrap();
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
