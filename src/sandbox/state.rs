//! One sandbox gateway's shared state: knobs and counters as atomics, and the
//! verdict draw for each initiation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::watch;

use super::callbacks::Callbacks;
use super::{Knobs, KnobsPatch, Stats};
use crate::connectors::{ConnectorKind, Credentials};
use crate::model::Secret;

const PPM: u32 = 1_000_000;

/// What the knobs decided for one initiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Created,
    Declined,
    Error(StatusCode),
    Timeout,
}

fn to_ppm(rate: f64) -> u32 {
    if rate.is_nan() {
        return 0;
    }
    (rate.clamp(0.0, 1.0) * f64::from(PPM)).round() as u32
}

/// One sandbox gateway's shared state: knobs and counters as atomics.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) kind: ConnectorKind,
    pub(super) addr: SocketAddr,
    latency_ms: AtomicU64,
    success_ppm: AtomicU32,
    error_ppm: AtomicU32,
    error_status: AtomicU32,
    timeout_ppm: AtomicU32,
    pub(super) down: watch::Sender<bool>,
    pub(super) stop: watch::Sender<bool>,
    seq: AtomicU64,
    initiations: AtomicU64,
    created: AtomicU64,
    declined: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    status_queries: AtomicU64,
    down_flag: AtomicBool,
    pub(crate) callbacks: Callbacks,
    /// The gateway's credentials as switchyard holds them, for dialects that check a
    /// request's signature or hash (empty until configured: then nothing is checked).
    pub(crate) credentials: ArcSwap<Credentials>,
    /// Payments by the merchant's reference, for dialects whose status API is keyed by
    /// it and that refuse a reused reference (PayU txnid, PhonePe merchantOrderId,
    /// Paytm ORDERID), and for refunds that name the payment (Adyen's pspReference,
    /// EBANX's merchant_payment_code). Bounded: the oldest half is dropped past [`RECORDS_MAX`].
    records: Mutex<HashMap<String, Record>>,
    pub(crate) truth: super::truth::Truth,
    /// Refunds taken, with their knobs (`sandbox::refunds`).
    pub(crate) refunds: super::refunds::RefundBook,
}

/// Most payments a sandbox remembers by reference.
const RECORDS_MAX: usize = 200_000;

/// One payment a sandbox accepted, by the merchant's reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub gateway_id: String,
    pub amount: i64,
    /// The sequence number it was accepted at (for bounded eviction).
    pub seq: u64,
    /// An order created for the gateway's hosted page that the customer's browser
    /// has not entered yet (Paytm `showPaymentPage`): no payment, no callback.
    pub awaiting_browser: bool,
    /// The payment mode a hosted-page order was made for (`CC`, `NB`, …).
    pub hosted_mode: Option<String>,
}

impl Shared {
    pub(super) fn new(
        name: &str,
        kind: ConnectorKind,
        addr: SocketAddr,
        callbacks: Callbacks,
    ) -> Self {
        let k = Knobs::default();
        Shared {
            name: name.to_string(),
            kind,
            addr,
            latency_ms: AtomicU64::new(k.latency_ms),
            success_ppm: AtomicU32::new(to_ppm(k.success_rate)),
            error_ppm: AtomicU32::new(0),
            error_status: AtomicU32::new(u32::from(k.error_status)),
            timeout_ppm: AtomicU32::new(0),
            down: watch::Sender::new(false),
            stop: watch::Sender::new(false),
            seq: AtomicU64::new(1),
            initiations: AtomicU64::new(0),
            created: AtomicU64::new(0),
            declined: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            status_queries: AtomicU64::new(0),
            down_flag: AtomicBool::new(false),
            callbacks,
            credentials: ArcSwap::from_pointee(Credentials::default()),
            records: Mutex::new(HashMap::new()),
            truth: super::truth::Truth::new(),
            refunds: Default::default(),
        }
    }

    /// A credential's text, `None` when not configured.
    pub(crate) fn cred(&self, pick: fn(&Credentials) -> Option<&Secret>) -> Option<String> {
        pick(&self.credentials.load()).map(|s| s.expose().to_string())
    }

    /// Remembers a payment by reference; `Err` with the existing one when the
    /// reference was used before.
    pub(crate) fn remember(
        &self,
        reference: &str,
        gateway_id: &str,
        amount: i64,
    ) -> Result<(), Record> {
        self.remember_as(reference, gateway_id, amount, None)
    }

    /// [`Shared::remember`] for an order waiting for the customer's browser.
    pub(crate) fn remember_for_browser(
        &self,
        reference: &str,
        gateway_id: &str,
        amount: i64,
        mode: &str,
    ) -> Result<(), Record> {
        self.remember_as(reference, gateway_id, amount, Some(mode))
    }

    /// The browser entered the hosted page of the order under `reference`: the
    /// record, once (`None` when unknown or entered already).
    pub(crate) fn enter_browser(&self, reference: &str) -> Option<Record> {
        let mut m = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let r = m.get_mut(reference).filter(|r| r.awaiting_browser)?;
        r.awaiting_browser = false;
        Some(r.clone())
    }

    fn remember_as(
        &self,
        reference: &str,
        gateway_id: &str,
        amount: i64,
        hosted_mode: Option<&str>,
    ) -> Result<(), Record> {
        let mut m = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = m.get(reference) {
            return Err(r.clone());
        }
        if m.len() >= RECORDS_MAX {
            let mut seqs: Vec<u64> = m.values().map(|r| r.seq).collect();
            seqs.sort_unstable();
            let cut = seqs[seqs.len() / 2];
            m.retain(|_, r| r.seq > cut);
        }
        let seq = self.next_seq();
        m.insert(
            reference.to_string(),
            Record {
                gateway_id: gateway_id.to_string(),
                amount,
                seq,
                awaiting_browser: hosted_mode.is_some(),
                hosted_mode: hosted_mode.map(str::to_string),
            },
        );
        Ok(())
    }

    /// The reference (our payment id) of the payment with `gateway_id`.
    pub(crate) fn reference_of(&self, gateway_id: &str) -> Option<(String, Record)> {
        let m = self.records.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .find(|(_, r)| r.gateway_id == gateway_id)
            .map(|(k, r)| (k.clone(), r.clone()))
    }

    /// The payment accepted under `reference`, if any.
    pub(crate) fn record(&self, reference: &str) -> Option<Record> {
        let m = self.records.lock().unwrap_or_else(|e| e.into_inner());
        m.get(reference).cloned()
    }

    pub(super) fn knobs(&self) -> Knobs {
        let r = |a: &AtomicU32| f64::from(a.load(Ordering::Relaxed)) / f64::from(PPM);
        Knobs {
            latency_ms: self.latency_ms.load(Ordering::Relaxed),
            success_rate: r(&self.success_ppm),
            error_5xx_rate: r(&self.error_ppm),
            error_status: u16::try_from(self.error_status.load(Ordering::Relaxed)).unwrap_or(500),
            timeout_rate: r(&self.timeout_ppm),
            down: self.down_flag.load(Ordering::Relaxed),
        }
    }

    pub(super) fn apply(&self, p: KnobsPatch) {
        if let Some(v) = p.latency_ms {
            self.latency_ms.store(v, Ordering::Relaxed);
        }
        if let Some(v) = p.success_rate {
            self.success_ppm.store(to_ppm(v), Ordering::Relaxed);
        }
        if let Some(v) = p.error_5xx_rate {
            self.error_ppm.store(to_ppm(v), Ordering::Relaxed);
        }
        if let Some(v) = p
            .error_status
            .filter(|s| (500..600).contains(s) || *s == 429)
        {
            self.error_status.store(u32::from(v), Ordering::Relaxed);
        }
        if let Some(v) = p.timeout_rate {
            self.timeout_ppm.store(to_ppm(v), Ordering::Relaxed);
        }
        if let Some(v) = p.down {
            self.down_flag.store(v, Ordering::Relaxed);
            self.down.send_replace(v);
        }
        self.callbacks.state.apply(p.callbacks());
    }

    pub(super) fn stats(&self) -> Stats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            initiations: l(&self.initiations),
            created: l(&self.created),
            declined: l(&self.declined),
            errors_5xx: l(&self.errors),
            timeouts: l(&self.timeouts),
            status_queries: l(&self.status_queries),
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Applies latency and draws the verdict for one initiation.
    pub(crate) async fn decide(&self) -> Verdict {
        self.initiations.fetch_add(1, Ordering::Relaxed);
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let draw: u32 = rand::random_range(0..PPM);
        let timeout = self.timeout_ppm.load(Ordering::Relaxed);
        let error = self.error_ppm.load(Ordering::Relaxed);
        if draw < timeout {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
            return Verdict::Timeout;
        }
        if draw < timeout.saturating_add(error) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let s = u16::try_from(self.error_status.load(Ordering::Relaxed)).unwrap_or(500);
            return Verdict::Error(
                StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        let draw2: u32 = rand::random_range(0..PPM);
        if draw2 < self.success_ppm.load(Ordering::Relaxed) {
            self.created.fetch_add(1, Ordering::Relaxed);
            Verdict::Created
        } else {
            self.declined.fetch_add(1, Ordering::Relaxed);
            Verdict::Declined
        }
    }

    /// Whether a payment with this id succeeded (deterministic: status queries are
    /// answered without stored state).
    pub(crate) fn settles_ok(&self, id: &str) -> bool {
        self.status_queries.fetch_add(1, Ordering::Relaxed);
        self.would_settle_ok(id)
    }

    /// [`Shared::settles_ok`] without counting a status query (for callbacks).
    pub(crate) fn would_settle_ok(&self, id: &str) -> bool {
        let h = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
        (h % u64::from(PPM)) < u64::from(self.success_ppm.load(Ordering::Relaxed))
    }
}
