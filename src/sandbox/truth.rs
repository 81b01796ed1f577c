//! Ground truth: with recording on, a sandbox gateway remembers every payment it
//! handled and what really happened to it (created or declined, paid or not, the
//! amount actually paid, how many times it was initiated), answers status queries
//! from that record (a payment it never saw is `404`), and draws the sale-day
//! faults a real gateway produces: a success reported after an earlier failure
//! callback, a callback carrying another amount than the intent's (the customer
//! paid that amount), callbacks delivered late (after the TTL), a "timeout" that
//! happened after the gateway created the payment. Off by default: the benchmark
//! path keeps no state.
//!
//! Export: [`crate::sandbox::SandboxHandle::truth`] and
//! `GET /_sandbox/{gateway}/truth` (JSON array of [`TruthRecord`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

const PPM: u32 = 1_000_000;

fn to_ppm(rate: f64) -> u32 {
    if rate.is_nan() {
        return 0;
    }
    (rate.clamp(0.0, 1.0) * f64::from(PPM)).round() as u32
}

/// What really happened to one payment at this gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRecord {
    pub gateway: String,
    /// switchyard's payment id (the merchant reference), or the orphan's reference.
    pub payment_id: String,
    pub order_id: Option<String>,
    pub gateway_payment_id: Option<String>,
    /// `succeeded` or `failed` (declined, or created and not paid).
    pub status: String,
    /// What switchyard asked for (paise).
    pub amount_requested: i64,
    /// What the customer actually paid (paise), when paid.
    pub amount_paid: Option<i64>,
    /// Payments created at this gateway for this payment id: more than one is a
    /// double initiation. A request that created nothing (a decline, a 5xx) is not
    /// counted.
    pub initiations: u32,
    /// Repeats of an already created payment's id, answered with that payment (the
    /// dialect's idempotency scope is `merchant_txn_id`: docs/GENERIC_DIALECT.md).
    #[serde(default)]
    pub replays: u32,
    /// The gateway created the payment but the answer never reached switchyard.
    pub answer_lost: bool,
    /// Callbacks for this payment were never sent (the drop knob).
    pub callbacks_dropped: bool,
    /// A failure callback was sent before the success.
    pub failed_first: bool,
    /// Callbacks were held past the late delay.
    pub late: bool,
    /// A payment nobody initiated through switchyard (an orphan callback).
    pub orphan: bool,
    /// Paid from an account other than the registered one (TPV failed): the money
    /// must go back. Callbacks and status answers say `tpv_failed`.
    #[serde(default)]
    pub tpv_failed: bool,
    /// The customer paid a second time (another gateway payment of the same amount,
    /// its own success callback): one of the two must be refunded.
    #[serde(default)]
    pub duplicate_gateway_payment_id: Option<String>,
}

/// Fault rates for recorded payments (live through [`TruthKnobs`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TruthKnobs {
    /// Recording on (and status answered from the record).
    pub record: bool,
    /// Share of paid payments whose callbacks say `failed` first, then `succeeded`.
    pub fail_then_succeed_rate: f64,
    /// Share of paid payments where the customer paid another amount (+1 rupee).
    pub wrong_amount_rate: f64,
    /// Share of payments whose callbacks are held `late_delay_ms` more.
    pub late_rate: f64,
    pub late_delay_ms: u64,
    /// Share of paid payments whose TPV check failed.
    pub tpv_failed_rate: f64,
    /// Share of paid payments the customer paid twice.
    pub duplicate_rate: f64,
}

/// The per-payment fate drawn at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fate {
    pub paid_amount: i64,
    pub fail_first: bool,
    pub extra_delay: Duration,
    pub tpv_failed: bool,
    pub duplicate: bool,
}

pub(crate) struct Truth {
    on: AtomicBool,
    flip_ppm: AtomicU32,
    wrong_ppm: AtomicU32,
    late_ppm: AtomicU32,
    late_ms: AtomicU64,
    tpv_ppm: AtomicU32,
    dup_ppm: AtomicU32,
    rng: Mutex<StdRng>,
    records: Mutex<HashMap<String, TruthRecord>>,
}

impl Truth {
    pub(crate) fn new() -> Self {
        Truth {
            on: AtomicBool::new(false),
            flip_ppm: AtomicU32::new(0),
            wrong_ppm: AtomicU32::new(0),
            late_ppm: AtomicU32::new(0),
            late_ms: AtomicU64::new(0),
            tpv_ppm: AtomicU32::new(0),
            dup_ppm: AtomicU32::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(12)),
            records: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, k: TruthKnobs, seed: Option<u64>) {
        self.on.store(k.record, Ordering::Relaxed);
        self.flip_ppm
            .store(to_ppm(k.fail_then_succeed_rate), Ordering::Relaxed);
        self.wrong_ppm
            .store(to_ppm(k.wrong_amount_rate), Ordering::Relaxed);
        self.late_ppm.store(to_ppm(k.late_rate), Ordering::Relaxed);
        self.late_ms.store(k.late_delay_ms, Ordering::Relaxed);
        self.tpv_ppm
            .store(to_ppm(k.tpv_failed_rate), Ordering::Relaxed);
        self.dup_ppm
            .store(to_ppm(k.duplicate_rate), Ordering::Relaxed);
        if let (Some(s), Ok(mut r)) = (seed, self.rng.lock()) {
            *r = StdRng::seed_from_u64(s);
        }
    }

    fn draw(&self, a: &AtomicU32) -> bool {
        let p = a.load(Ordering::Relaxed);
        p > 0
            && self
                .rng
                .lock()
                .map(|mut r| r.random_range(0..PPM) < p)
                .unwrap_or(false)
    }

    /// Records one payment-creating request (created or declined) and draws its
    /// fate. `paid`: the deterministic outcome draw.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        gateway: &str,
        payment_id: &str,
        order_id: Option<&str>,
        gateway_payment_id: Option<&str>,
        amount: i64,
        created: bool,
        paid: bool,
        answer_lost: bool,
    ) -> Fate {
        let paid = created && paid;
        let wrong = paid && self.draw(&self.wrong_ppm);
        let fail_first = paid && self.draw(&self.flip_ppm);
        let late = created && self.draw(&self.late_ppm);
        let tpv_failed = paid && self.draw(&self.tpv_ppm);
        let duplicate = paid && !fail_first && self.draw(&self.dup_ppm);
        let fate = Fate {
            tpv_failed,
            duplicate,
            paid_amount: if wrong { amount + 100 } else { amount },
            fail_first,
            extra_delay: if late {
                Duration::from_millis(self.late_ms.load(Ordering::Relaxed))
            } else {
                Duration::ZERO
            },
        };
        if let Ok(mut m) = self.records.lock() {
            let r = m
                .entry(payment_id.to_string())
                .or_insert_with(|| TruthRecord {
                    gateway: gateway.to_string(),
                    payment_id: payment_id.to_string(),
                    order_id: order_id.map(str::to_string),
                    gateway_payment_id: None,
                    status: "failed".into(),
                    amount_requested: amount,
                    amount_paid: None,
                    initiations: 0,
                    replays: 0,
                    answer_lost: false,
                    callbacks_dropped: false,
                    failed_first: false,
                    late: false,
                    orphan: false,
                    tpv_failed: false,
                    duplicate_gateway_payment_id: None,
                });
            r.initiations += u32::from(created);
            // A later request for the same id does not undo an earlier payment.
            if created && r.gateway_payment_id.is_none() {
                r.gateway_payment_id = gateway_payment_id.map(str::to_string);
                r.status = if paid { "succeeded" } else { "failed" }.into();
                r.amount_paid = paid.then_some(fate.paid_amount);
                r.answer_lost = answer_lost;
                r.failed_first = fail_first;
                r.late = late;
                r.tpv_failed = tpv_failed;
            }
        }
        fate
    }

    /// Records an orphan: a paid payment switchyard never initiated.
    pub(crate) fn record_orphan(&self, gateway: &str, reference: &str, gpid: &str, amount: i64) {
        if let Ok(mut m) = self.records.lock() {
            m.insert(
                reference.to_string(),
                TruthRecord {
                    gateway: gateway.to_string(),
                    payment_id: reference.to_string(),
                    order_id: None,
                    gateway_payment_id: Some(gpid.to_string()),
                    status: "succeeded".into(),
                    amount_requested: amount,
                    amount_paid: Some(amount),
                    initiations: 0,
                    replays: 0,
                    answer_lost: false,
                    callbacks_dropped: false,
                    failed_first: false,
                    late: false,
                    orphan: true,
                    tpv_failed: false,
                    duplicate_gateway_payment_id: None,
                },
            );
        }
    }

    /// The gateway payment id already created for `payment_id`, counting the
    /// request as a replay of it; `None` when nothing was created yet.
    pub(crate) fn replay(&self, payment_id: &str) -> Option<String> {
        let mut m = self.records.lock().ok()?;
        let r = m.get_mut(payment_id)?;
        let id = r.gateway_payment_id.clone()?;
        r.replays += 1;
        Some(id)
    }

    /// Records the customer's second payment of `payment_id`.
    pub(crate) fn record_duplicate(&self, payment_id: &str, gateway_payment_id: &str) {
        if let Ok(mut m) = self.records.lock()
            && let Some(r) = m.get_mut(payment_id)
        {
            r.duplicate_gateway_payment_id = Some(gateway_payment_id.to_string());
        }
    }

    /// What this gateway took on `gateway_payment_id` (a paid payment: what the
    /// customer paid; a customer's second payment: the intent's amount), `None`
    /// when it took nothing there: only that money can be refunded.
    pub(crate) fn took(&self, gateway_payment_id: &str) -> Option<i64> {
        let m = self.records.lock().ok()?;
        m.values().find_map(|r| {
            if r.status == "succeeded"
                && r.gateway_payment_id.as_deref() == Some(gateway_payment_id)
            {
                Some(r.amount_paid.unwrap_or(r.amount_requested))
            } else if r.duplicate_gateway_payment_id.as_deref() == Some(gateway_payment_id) {
                Some(r.amount_requested)
            } else {
                None
            }
        })
    }

    pub(crate) fn mark_dropped(&self, payment_id: &str) {
        if let Ok(mut m) = self.records.lock()
            && let Some(r) = m.get_mut(payment_id)
        {
            r.callbacks_dropped = true;
        }
    }

    pub(crate) fn get(&self, payment_id: &str) -> Option<TruthRecord> {
        self.records.lock().ok()?.get(payment_id).cloned()
    }

    pub(crate) fn all(&self) -> Vec<TruthRecord> {
        let mut v: Vec<_> = self
            .records
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.payment_id.cmp(&b.payment_id));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_fates_and_counts_initiations() {
        let t = Truth::new();
        t.set(
            TruthKnobs {
                record: true,
                wrong_amount_rate: 1.0,
                ..Default::default()
            },
            Some(1),
        );
        let f = t.record("g", "p1", Some("o"), Some("gp1"), 500, true, true, false);
        assert_eq!(f.paid_amount, 600);
        t.record("g", "p1", Some("o"), Some("gp2"), 500, true, true, false);
        t.record("g", "p2", None, None, 500, false, true, false);
        assert_eq!(t.replay("p1").as_deref(), Some("gp1"));
        assert_eq!(t.replay("p2"), None, "a decline created nothing to replay");
        let r = t.get("p1").unwrap();
        assert_eq!((r.initiations, r.status.as_str()), (2, "succeeded"));
        assert_eq!(r.replays, 1);
        assert_eq!(r.gateway_payment_id.as_deref(), Some("gp1"));
        assert_eq!(r.amount_paid, Some(600));
        let d = t.get("p2").unwrap();
        assert_eq!((d.status.as_str(), d.amount_paid), ("failed", None));
        assert_eq!(t.all().len(), 2);
    }
}
