//! What the status page shows, gathered in one short lock of the health controller
//! plus a ledger read: plain data, so rendering ([`super::render`]) is a pure
//! function of it and tests can build one by hand.
//!
//! The controller keeps time as milliseconds since it started; every time here is
//! wall clock (UTC), converted as `now − (controller now − then)`.

use time::{Duration, OffsetDateTime};

use super::words;
use crate::health::{Controller, Event};
use crate::reload::LastReload;

/// Points in a success-ratio sparkline (the health window cut into this many slices).
pub const SPARK_POINTS: u64 = 24;
/// Transitions listed under "last transitions".
pub const TRANSITIONS_SHOWN: usize = 12;

#[derive(Debug, Clone, Default)]
pub struct StatusView {
    pub now: Option<OffsetDateTime>,
    /// Served without the token (`[admin] status_public`): operator free text hidden.
    pub public: bool,
    pub dry_run: bool,
    pub window_secs: u64,
    pub gateways: Vec<GatewayRow>,
    pub routes: Vec<RouteRow>,
    pub incidents: Vec<Incident>,
    pub transitions: Vec<Transition>,
    pub pipeline: Pipeline,
    pub config: ConfigInfo,
}

#[derive(Debug, Clone, Default)]
pub struct GatewayRow {
    pub name: String,
    /// `healthy`, `ejected`, `probing`, `ramping`, `drained`.
    pub state: &'static str,
    pub since: Option<OffsetDateTime>,
    pub frozen: bool,
    /// `(successes, outcomes)` over the window.
    pub success: (u64, u64),
    pub attempts: u64,
    pub errors_5xx: u64,
    pub p95_ms: Option<u64>,
    /// Success ratio per slice of the window, oldest first (`None`: no outcomes).
    pub spark: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Default)]
pub struct RouteRow {
    pub name: String,
    /// `(gateway, configured ‰, effective ‰, state)`.
    pub split: Vec<(String, u64, u64, String)>,
    pub fallback: Vec<String>,
    pub panic: bool,
    pub ecosystem_outage: bool,
}

/// Something wrong now: a gateway out of full rotation, or a route in trouble.
#[derive(Debug, Clone, Default)]
pub struct Incident {
    pub subject: String,
    pub state: String,
    pub since: Option<OffsetDateTime>,
    /// What the evidence says, in plain words.
    pub evidence: String,
    /// What happens next (probing at …, stays out until restored, …).
    pub next: String,
    /// What support can tell customers, without gateway jargon.
    pub customer: String,
}

#[derive(Debug, Clone, Default)]
pub struct Transition {
    pub at: Option<OffsetDateTime>,
    pub subject: String,
    /// `ejected 14:02 IST: success 78.1% vs peers 94.9% over 1,240 payments`.
    pub line: String,
}

#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub backlog: Option<i64>,
    pub oldest_age_secs: Option<f64>,
    pub dead_letters: Option<i64>,
    pub orphans: Option<i64>,
    pub stale_payments: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ConfigInfo {
    pub generation: u64,
    pub source: String,
    pub last_reload: Option<LastReload>,
}

/// Converts the controller's logical milliseconds to wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub wall_now: OffsetDateTime,
    pub ctl_now_ms: u64,
}

impl Clock {
    pub fn at(&self, ms: u64) -> OffsetDateTime {
        let back = self.ctl_now_ms.saturating_sub(ms);
        self.wall_now - Duration::milliseconds(back.min(i64::MAX as u64) as i64)
    }
}

/// Gateways, routes, incidents and transitions from the controller.
pub fn from_controller(c: &Controller, clock: Clock, public: bool, v: &mut StatusView) {
    let finals = c.finals();
    let now_sec = clock.ctl_now_ms / 1000;
    let window = c.policy.window.as_secs().max(1);
    let slice = window.div_ceil(SPARK_POINTS).max(1);
    v.dry_run = c.policy.dry_run;
    v.window_secs = window;
    for (name, g) in &c.gateways {
        let total = g.window.total();
        let spark = (0..SPARK_POINTS)
            .rev()
            .map(|i| {
                let to = (now_sec + 1).saturating_sub(i * slice);
                let s = g.window.between(to.saturating_sub(slice), to);
                let (ok, n) = s.success(finals);
                (n > 0).then(|| ok as f64 / n as f64)
            })
            .collect();
        let state = g.machine.state.name();
        v.gateways.push(GatewayRow {
            name: name.clone(),
            state,
            since: Some(clock.at(g.entered_ms)),
            frozen: g.machine.frozen(clock.ctl_now_ms),
            success: total.success(finals),
            attempts: total.attempts(),
            errors_5xx: total.errors_5xx() + total.timeouts(),
            p95_ms: total.latency_p95_ms(),
            spark,
        });
        if state != "healthy" {
            v.incidents.push(gateway_incident(
                name,
                g.machine.state,
                g.last_event.as_ref(),
                clock,
                public,
            ));
        }
    }
    let routes = c.routes_view();
    for r in routes["routes"].as_array().into_iter().flatten() {
        let name = r["route"].as_str().unwrap_or("?").to_string();
        let split = r["split"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["gateway"].as_str().unwrap_or("?").to_string(),
                    e["configured_permille"].as_u64().unwrap_or(0),
                    e["effective_permille"].as_u64().unwrap_or(0),
                    e["state"].as_str().unwrap_or("?").to_string(),
                )
            })
            .collect();
        let fallback = r["fallback"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect();
        let row = RouteRow {
            name: name.clone(),
            split,
            fallback,
            panic: !r["panic"].is_null(),
            ecosystem_outage: r["ecosystem_outage"].as_bool().unwrap_or(false),
        };
        if row.panic || row.ecosystem_outage {
            v.incidents.push(route_incident(&row));
        }
        v.routes.push(row);
    }
    v.transitions = c
        .incidents
        .iter()
        .rev()
        .filter(|e| e.transition)
        .take(TRANSITIONS_SHOWN)
        .map(|e| Transition {
            at: Some(clock.at(e.at_ms)),
            subject: e
                .gateway
                .clone()
                .or_else(|| e.route.clone())
                .unwrap_or_default(),
            line: words::transition_line(e, clock.at(e.at_ms), public),
        })
        .collect();
}

fn gateway_incident(
    name: &str,
    state: crate::health::machine::State,
    last: Option<&Event>,
    clock: Clock,
    public: bool,
) -> Incident {
    use crate::health::machine::State;
    let evidence = last.map_or_else(
        || "no transition recorded since the last restart".to_string(),
        |e| words::transition_line(e, clock.at(e.at_ms), public),
    );
    let trigger = last.map(|e| e.trigger.as_str()).unwrap_or("");
    let next = match state {
        State::Ejected { until_ms } => format!(
            "gets a small share of traffic again (probing) from {} if its cooldown is not extended",
            words::ist_hm(clock.at(until_ms))
        ),
        State::Probing { .. } => {
            "on a small share of traffic; back to full weight in steps while its numbers stay good"
                .to_string()
        }
        State::Ramping { step, .. } => format!(
            "ramping back up (step {}); ejected again if its numbers drop",
            step + 1
        ),
        State::Drained => {
            "stays out of rotation until an operator restores it (or its TTL ends)".to_string()
        }
        State::Healthy => String::new(),
    };
    Incident {
        subject: name.to_string(),
        state: state.name().to_string(),
        since: last.map(|e| clock.at(e.at_ms)),
        evidence,
        next,
        customer: words::customer_line(state.name(), trigger).to_string(),
    }
}

fn route_incident(r: &RouteRow) -> Incident {
    let what = if r.ecosystem_outage {
        "every gateway of this route is failing at once (an ecosystem outage): weights are held, nothing is ejected"
    } else {
        "panic mode: too few healthy gateways, so traffic is spread over all of them"
    };
    Incident {
        subject: format!("route {}", r.name),
        state: if r.ecosystem_outage {
            "ecosystem outage".into()
        } else {
            "panic mode".into()
        },
        since: None,
        evidence: what.to_string(),
        next: "clears by itself when the gateways recover".to_string(),
        customer: words::customer_line("route_outage", "").to_string(),
    }
}
