//! Semantic validation: every field of a [`RawConfig`] checked, every error
//! collected in [`Diagnostics`]. Each check returns a usable value (the default
//! when the field is wrong), so one run finds every problem; the caller compiles
//! only when no error was recorded.

mod alerts;
mod callbacks;
mod edge;
mod gateways;
mod pipeline;
mod refunds;
mod routes;
mod server;

use std::net::SocketAddr;
use std::time::Duration;

use super::raw::RawConfig;
use super::spans::Diagnostics;
use super::suggest::hint;
use super::{Bootstrap, EnvLookup, ServerPolicy};
use crate::connectors::GatewaySpec;
use crate::model::Secret;
use crate::pipeline::PipelineConfig;
use crate::routing::{Matcher, SplitEntry};

pub(crate) use gateways::GatewayNames;

/// A route with its gateways resolved to indices, ready for `SplitTable::new`.
#[derive(Debug)]
pub(crate) struct RouteSpec {
    pub name: String,
    pub matcher: Matcher,
    pub split: Vec<SplitEntry>,
    pub fallback: Vec<usize>,
    /// `(gateway, ramp)` for split entries that declare a progressive rollout.
    pub ramps: Vec<(usize, super::health::Ramp)>,
}

/// Everything a valid file says, before connectors and split tables are built.
#[derive(Debug)]
pub(crate) struct Checked {
    pub bootstrap: Bootstrap,
    pub server: ServerPolicy,
    pub admin_token: Option<Secret>,
    pub status_public: bool,
    pub gateways: Vec<GatewaySpec>,
    pub routes: Vec<RouteSpec>,
    pub alerts: Vec<crate::alerts::AlertSpec>,
    pub pipeline: PipelineConfig,
    pub callbacks: super::CallbackPolicy,
    pub watchdog: super::WatchdogPolicy,
    pub health: super::health::HealthPolicy,
    pub upi_limits: super::limits::UpiLimits,
    pub refunds: super::RefundPolicy,
}

pub(crate) fn validate(raw: &RawConfig, env: EnvLookup<'_>, diag: &mut Diagnostics<'_>) -> Checked {
    let (admin_listen, admin_token) = server::admin(&raw.admin, env, diag);
    let ledger = server::ledger(&raw.ledger, diag);
    let bootstrap = Bootstrap {
        listen: addr(
            diag,
            "server.listen",
            raw.server.listen.as_deref(),
            ([0, 0, 0, 0], 8080),
        ),
        admin_listen,
        ledger_path: ledger.0,
        group_commit_max: ledger.1,
        synchronous_full: ledger.2,
        ledger_integrity: ledger.3,
        edge: edge::edge(&raw.server, diag),
    };
    let server = server::server(&raw.server, diag);
    let (gateways, names) = gateways::validate(&raw.gateways, env, diag);
    let routes = routes::validate(&raw.routes, &names, diag);
    let alerts = alerts::validate(&raw.alerts, env, diag);
    let pipeline = pipeline::validate(&raw.pipeline, &raw.sinks, &bootstrap.ledger_path, env, diag);
    let health = super::health::validate(&raw.health, diag);
    let route_names: Vec<&str> = raw
        .routes
        .iter()
        .filter_map(|r| r.name.as_deref())
        .collect();
    let upi_limits = super::limits::validate(&raw.upi_limits, &route_names, diag);
    Checked {
        upi_limits,
        health,
        bootstrap,
        server,
        admin_token,
        status_public: raw.admin.status_public.unwrap_or(false),
        gateways,
        routes,
        alerts,
        pipeline,
        callbacks: callbacks::callbacks(&raw.callbacks, diag),
        watchdog: callbacks::watchdog(&raw.watchdog, diag),
        refunds: refunds::validate(&raw.refunds, diag),
    }
}

// === helpers shared by the submodules ===

fn addr(
    diag: &mut Diagnostics<'_>,
    path: &str,
    v: Option<&str>,
    default: ([u8; 4], u16),
) -> SocketAddr {
    match v {
        None => SocketAddr::from(default),
        Some(s) => s.parse().unwrap_or_else(|_| {
            diag.error(
                path,
                format!("\"{s}\" is not a socket address (expected e.g. \"0.0.0.0:8080\")"),
            );
            SocketAddr::from(default)
        }),
    }
}

/// A humantime duration (`"90s"`, `"10m"`, `"1500ms"`), strictly positive.
fn duration(
    diag: &mut Diagnostics<'_>,
    path: &str,
    v: Option<&str>,
    default_secs: u64,
) -> Duration {
    duration_or(diag, path, v, Duration::from_secs(default_secs))
}

/// [`duration`] with any default: the one duration check of every section.
pub(super) fn duration_or(
    diag: &mut Diagnostics<'_>,
    path: &str,
    v: Option<&str>,
    default: Duration,
) -> Duration {
    let Some(s) = v else { return default };
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => {
            diag.error(path, "must be greater than 0");
            default
        }
        Ok(d) => d,
        Err(e) => {
            diag.error(
                path,
                format!("\"{s}\" is not a duration ({e}); use e.g. \"90s\" or \"10m\""),
            );
            default
        }
    }
}

fn int_in(
    diag: &mut Diagnostics<'_>,
    path: &str,
    v: Option<u32>,
    range: std::ops::RangeInclusive<u32>,
    default: u32,
) -> u32 {
    in_range(diag, path, v, range, default)
}

/// A number inside `range` (integers and fractions alike): the one range check.
pub(super) fn in_range<T: PartialOrd + Copy + std::fmt::Display>(
    diag: &mut Diagnostics<'_>,
    path: &str,
    v: Option<T>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> T {
    match v {
        None => default,
        Some(n) if range.contains(&n) => n,
        Some(n) => {
            diag.error(
                path,
                format!(
                    "must be between {} and {} (found {n})",
                    range.start(),
                    range.end()
                ),
            );
            default
        }
    }
}

/// One of a fixed set of names, with a suggestion for near misses.
fn one_of<T: Copy>(
    diag: &mut Diagnostics<'_>,
    path: &str,
    v: Option<&str>,
    options: &[(&str, T)],
    default: T,
) -> T {
    let Some(s) = v else { return default };
    if let Some((_, t)) = options.iter().find(|(n, _)| *n == s) {
        return *t;
    }
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    diag.error(
        path,
        format!(
            "\"{s}\" is not one of {}{}",
            names.join(" | "),
            hint(s, names.iter().copied())
        ),
    );
    default
}

fn http_url(diag: &mut Diagnostics<'_>, path: &str, u: &str) -> bool {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    match rest {
        Some(host)
            if !host.is_empty() && !host.starts_with('/') && !u.contains(char::is_whitespace) =>
        {
            true
        }
        _ => {
            diag.error(
                path,
                format!("\"{u}\" must be an http:// or https:// URL with a host"),
            );
            false
        }
    }
}

/// Resolves `{name}_env` / `{name}_file` in the table at `table`. Messages name the
/// variable or file, never the secret.
fn secret_ref(
    diag: &mut Diagnostics<'_>,
    env: EnvLookup<'_>,
    table: &str,
    name: &str,
    env_name: Option<&str>,
    file: Option<&str>,
) -> Option<Secret> {
    let env_path = format!("{table}.{name}_env");
    let file_path = format!("{table}.{name}_file");
    let value = match (env_name, file) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            diag.error(
                &file_path,
                format!("{name}_env and {name}_file are both set; use one"),
            );
            return None;
        }
        (Some(var), None) => {
            if var.trim().is_empty() {
                diag.error(&env_path, "must name an environment variable");
                return None;
            }
            match env(var) {
                Some(v) => (v, env_path, format!("environment variable {var}")),
                None => {
                    diag.error(&env_path, format!("environment variable {var} is not set"));
                    return None;
                }
            }
        }
        (None, Some(f)) => match std::fs::read_to_string(f) {
            Ok(v) => (
                v.trim_end_matches(['\n', '\r']).to_string(),
                file_path,
                format!("file \"{f}\""),
            ),
            Err(e) => {
                diag.error(&file_path, format!("cannot read \"{f}\": {e}"));
                return None;
            }
        },
    };
    let (v, path, what) = value;
    if v.is_empty() {
        diag.error(&path, format!("{what} is empty"));
        return None;
    }
    Some(Secret::new(v))
}
