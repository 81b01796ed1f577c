//! One `Metrics` struct holding every series, registered on a registry that is
//! passed in (no global statics, so tests never share hidden state). Label values
//! are bounded: gateway and route names from the config, and fixed enums.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `requests_total{route,gateway,outcome}`: one per `POST /v1/payments` answer.
    pub requests: IntCounterVec,
    /// `upstream_duration_seconds{gateway}`: each gateway attempt.
    pub upstream_duration: HistogramVec,
    /// `ledger_write_duration_seconds{op}`: from handing a write to the ledger to its
    /// durable commit (`begin`, `complete`, `callback`): queueing, the group commit
    /// and its fsync.
    pub ledger_write_duration: HistogramVec,
    /// `upstream_attempts_total{gateway,outcome}`: each attempt by its outcome class.
    pub upstream_attempts: IntCounterVec,
    /// `failovers_total{from,to,reason}`.
    pub failovers: IntCounterVec,
    /// `retry_budget_exhausted_total{route}`: failovers refused by the budget.
    pub retry_budget_exhausted: IntCounterVec,
    /// `http_errors_total{code}`: API errors by stable error code.
    pub http_errors: IntCounterVec,
    /// `config_generation`.
    pub config_generation: IntGauge,
    /// `config_reloads_total{result}`.
    pub config_reloads: IntCounterVec,
    /// `gateway_weight{route,gateway}` in permille of the split table.
    pub gateway_weight: IntGaugeVec,
    /// `ledger_commits_total` and `ledger_batch_max` come from the ledger's own stats.
    pub ledger_commits: IntGauge,
    pub ledger_writes: IntGauge,
    /// `alerts_sent_total{alert,result}`: webhook deliveries (`ok`, `failed`, `dropped`).
    pub alerts_sent: IntCounterVec,
    /// `alerts_total{kind,severity}`: every alert raised (delivered or not), so
    /// Prometheus rules can page on kinds such as `ecosystem_outage`.
    pub alerts_raised: IntCounterVec,
    /// `events_forwarded_total{sink,result}`: delivered, failed, dead_lettered, replayed.
    pub events_forwarded: IntCounterVec,
    /// `outbox_pending`: outbox rows some sink has not settled yet.
    pub outbox_pending: IntGauge,
    /// `outbox_oldest_age_seconds`: age of the oldest such row.
    pub outbox_oldest_age_seconds: prometheus::Gauge,
    /// `dead_letters`: events some sink gave up on, awaiting replay.
    pub dead_letters: IntGauge,
    /// `callbacks_total{gateway,result}`: accepted, duplicate, unchanged, conflict,
    /// orphan, ignored, invalid_signature, malformed, unavailable.
    pub callbacks: IntCounterVec,
    /// `payments_stale_total`: payments still non-final after every status check.
    pub payments_stale: prometheus::IntCounter,
    /// `status_checks_total{gateway,result}`: watchdog status queries.
    pub status_checks: IntCounterVec,
    /// `refunds_total{gateway,result}`: refund calls, checks and automatic decisions
    /// (`accepted`, `declined`, `not_sent`, `unknown`, `checked`, `resent`, `stale`,
    /// `auto_refunded`, `auto_dry_run`, `auto_refused`).
    pub refunds: IntCounterVec,
    /// `gateway_state{gateway,state}`: 1 for the gateway's current state.
    pub gateway_state: IntGaugeVec,
    /// `rollbacks_total{gateway,trigger}`.
    pub rollbacks: IntCounterVec,
    /// `gateway_success_ratio{gateway}` over the health window.
    pub gateway_success_ratio: GaugeVec,
    /// `connections_total{listener,result}`: `accepted`, `refused` (at the
    /// listener's `max_connections`), `accept_error` (e.g. out of file descriptors).
    pub connections: IntCounterVec,
    /// `connections_open{listener}`.
    pub connections_open: IntGaugeVec,
}

fn counter(reg: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help).namespace("switchyard"), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    reg.register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("register {name}: {e}"));
    c
}

fn gauge(reg: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::with_opts(Opts::new(name, help).namespace("switchyard"))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    reg.register(Box::new(g.clone()))
        .unwrap_or_else(|e| panic!("register {name}: {e}"));
    g
}

impl Metrics {
    /// Registers every series on `registry`. Panics only on a programming error (a
    /// duplicate or malformed metric name), at startup.
    pub fn new(registry: Registry) -> Self {
        let r = &registry;
        let upstream_duration = HistogramVec::new(
            HistogramOpts::new("upstream_duration_seconds", "Gateway attempt duration")
                .namespace("switchyard")
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ]),
            &["gateway"],
        )
        .unwrap_or_else(|e| panic!("metric upstream_duration_seconds: {e}"));
        r.register(Box::new(upstream_duration.clone()))
            .unwrap_or_else(|e| panic!("register upstream_duration_seconds: {e}"));
        let ledger_write_duration = HistogramVec::new(
            HistogramOpts::new(
                "ledger_write_duration_seconds",
                "Ledger write latency until durable (queue, group commit, fsync)",
            )
            .namespace("switchyard")
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["op"],
        )
        .unwrap_or_else(|e| panic!("metric ledger_write_duration_seconds: {e}"));
        r.register(Box::new(ledger_write_duration.clone()))
            .unwrap_or_else(|e| panic!("register ledger_write_duration_seconds: {e}"));
        let gateway_weight = IntGaugeVec::new(
            Opts::new("gateway_weight", "Configured share of a route, permille")
                .namespace("switchyard"),
            &["route", "gateway"],
        )
        .unwrap_or_else(|e| panic!("metric gateway_weight: {e}"));
        r.register(Box::new(gateway_weight.clone()))
            .unwrap_or_else(|e| panic!("register gateway_weight: {e}"));
        let gateway_state = IntGaugeVec::new(
            Opts::new("gateway_state", "1 for the gateway's current health state")
                .namespace("switchyard"),
            &["gateway", "state"],
        )
        .unwrap_or_else(|e| panic!("metric gateway_state: {e}"));
        r.register(Box::new(gateway_state.clone()))
            .unwrap_or_else(|e| panic!("register gateway_state: {e}"));
        let gateway_success_ratio = GaugeVec::new(
            Opts::new(
                "gateway_success_ratio",
                "Success ratio over the health window",
            )
            .namespace("switchyard"),
            &["gateway"],
        )
        .unwrap_or_else(|e| panic!("metric gateway_success_ratio: {e}"));
        r.register(Box::new(gateway_success_ratio.clone()))
            .unwrap_or_else(|e| panic!("register gateway_success_ratio: {e}"));
        Metrics {
            gateway_state,
            gateway_success_ratio,
            rollbacks: counter(
                r,
                "rollbacks_total",
                "Automatic rollbacks by gateway and trigger",
                &["gateway", "trigger"],
            ),
            requests: counter(
                r,
                "requests_total",
                "Payment initiations answered",
                &["route", "gateway", "outcome"],
            ),
            upstream_attempts: counter(
                r,
                "upstream_attempts_total",
                "Gateway attempts by outcome",
                &["gateway", "outcome"],
            ),
            failovers: counter(
                r,
                "failovers_total",
                "Moves to the next gateway",
                &["from", "to", "reason"],
            ),
            retry_budget_exhausted: counter(
                r,
                "retry_budget_exhausted_total",
                "Failovers refused because the retry budget was spent",
                &["route"],
            ),
            http_errors: counter(r, "http_errors_total", "API errors by code", &["code"]),
            connections: counter(
                r,
                "connections_total",
                "Connections by listener and result",
                &["listener", "result"],
            ),
            connections_open: {
                let g = IntGaugeVec::new(
                    Opts::new("connections_open", "Open connections by listener")
                        .namespace("switchyard"),
                    &["listener"],
                )
                .unwrap_or_else(|e| panic!("metric connections_open: {e}"));
                r.register(Box::new(g.clone()))
                    .unwrap_or_else(|e| panic!("register connections_open: {e}"));
                g
            },
            config_generation: gauge(r, "config_generation", "Generation of the config in force"),
            config_reloads: counter(
                r,
                "config_reloads_total",
                "Config reloads by result",
                &["result"],
            ),
            ledger_commits: gauge(r, "ledger_commits", "Ledger group commits since start"),
            ledger_writes: gauge(r, "ledger_writes", "Ledger write commands since start"),
            alerts_sent: counter(
                r,
                "alerts_sent_total",
                "Alert webhook deliveries by result",
                &["alert", "result"],
            ),
            alerts_raised: counter(
                r,
                "alerts_total",
                "Alerts raised, by kind and severity",
                &["kind", "severity"],
            ),
            events_forwarded: counter(
                r,
                "events_forwarded_total",
                "Pipeline events by sink and result",
                &["sink", "result"],
            ),
            outbox_pending: gauge(
                r,
                "outbox_pending",
                "Outbox events not yet settled by every sink",
            ),
            outbox_oldest_age_seconds: {
                let g = prometheus::Gauge::with_opts(
                    Opts::new(
                        "outbox_oldest_age_seconds",
                        "Age of the oldest pending outbox event",
                    )
                    .namespace("switchyard"),
                )
                .unwrap_or_else(|e| panic!("metric outbox_oldest_age_seconds: {e}"));
                r.register(Box::new(g.clone()))
                    .unwrap_or_else(|e| panic!("register outbox_oldest_age_seconds: {e}"));
                g
            },
            dead_letters: gauge(r, "dead_letters", "Dead letters awaiting replay"),
            callbacks: counter(
                r,
                "callbacks_total",
                "Gateway callbacks by result",
                &["gateway", "result"],
            ),
            payments_stale: {
                let c = prometheus::IntCounter::with_opts(
                    Opts::new(
                        "payments_stale_total",
                        "Payments still unresolved after every status check",
                    )
                    .namespace("switchyard"),
                )
                .unwrap_or_else(|e| panic!("metric payments_stale_total: {e}"));
                r.register(Box::new(c.clone()))
                    .unwrap_or_else(|e| panic!("register payments_stale_total: {e}"));
                c
            },
            status_checks: counter(
                r,
                "status_checks_total",
                "Watchdog status checks by result",
                &["gateway", "result"],
            ),
            refunds: counter(
                r,
                "refunds_total",
                "Refund calls, status checks and automatic decisions by result",
                &["gateway", "result"],
            ),
            upstream_duration,
            ledger_write_duration,
            gateway_weight,
            registry,
        }
    }

    /// Awaits a ledger write, observing `ledger_write_duration_seconds{op}`.
    pub async fn time_ledger_write<T>(&self, op: &str, write: impl Future<Output = T>) -> T {
        let t0 = std::time::Instant::now();
        let out = write.await;
        self.ledger_write_duration
            .with_label_values(&[op])
            .observe(t0.elapsed().as_secs_f64());
        out
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_prefix() {
        let m = Metrics::new(Registry::new());
        m.requests
            .with_label_values(&["default", "razorpay", "created"])
            .inc();
        let text = m.render();
        assert!(text.contains("switchyard_requests_total{gateway=\"razorpay\",outcome=\"created\",route=\"default\"} 1"));
    }
}
