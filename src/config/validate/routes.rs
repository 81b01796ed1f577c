//! `[[route]]`: matchers, splits and fallbacks, with gateway names resolved.

use std::collections::HashMap;

use super::{GatewayNames, RouteSpec, one_of};
use crate::config::raw::{RawMatch, RawRoute};
use crate::config::spans::{Diagnostics, join};
use crate::model::{Currency, Method, Paise};
use crate::routing::{Matcher, SplitEntry, SplitError};

/// Largest weight of one split entry; weights are relative, so this is plenty.
const MAX_WEIGHT: u32 = 1_000_000;

pub(super) fn validate(
    raw: &[RawRoute],
    names: &GatewayNames,
    diag: &mut Diagnostics<'_>,
) -> Vec<RouteSpec> {
    if raw.is_empty() {
        diag.error("route", "at least one [[route]] is required");
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut catch_all: Option<(usize, String)> = None;
    let mut routes = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let at = format!("route[{i}]");
        let name = match r.name.as_deref() {
            None => {
                diag.error(&format!("{at}.name"), "name is required");
                ""
            }
            Some(n) if n.trim().is_empty() => {
                diag.error(&format!("{at}.name"), "must not be empty");
                n
            }
            Some(n) => {
                if let Some(first) = seen.get(n) {
                    diag.error(
                        &format!("{at}.name"),
                        format!("duplicate route name \"{n}\" (first defined at route[{first}])"),
                    );
                } else {
                    seen.insert(n, i);
                }
                n
            }
        };
        if let Some((j, before)) = &catch_all {
            diag.error(
                &at,
                format!("route \"{name}\" can never match: route[{j}] \"{before}\" before it matches every payment"),
            );
        }
        let matcher = matcher(&r.matcher, &format!("{at}.match"), diag);
        if catch_all.is_none() && is_catch_all(&matcher) {
            catch_all = Some((i, name.to_string()));
        }
        routes.push(RouteSpec {
            name: name.to_string(),
            matcher,
            split: split(r, &at, names, diag),
            fallback: fallback(&r.fallback, &at, names, diag),
            ramps: ramps(r, &at, names, diag),
        });
    }
    routes
}

fn is_catch_all(m: &Matcher) -> bool {
    m.methods.is_empty()
        && m.min_amount.is_none()
        && m.max_amount.is_none()
        && m.currency.is_none()
        && m.tags.is_empty()
}

fn matcher(raw: &RawMatch, at: &str, diag: &mut Diagnostics<'_>) -> Matcher {
    let mut methods = Vec::new();
    for (i, m) in raw.method.iter().enumerate() {
        let path = format!("{at}.method[{i}]");
        let opts = Method::ALL.map(|m| (m.as_str(), Some(m)));
        if let Some(m) = one_of(diag, &path, Some(m), &opts, None) {
            if methods.contains(&m) {
                diag.error(&path, format!("method \"{m}\" is listed twice"));
            } else {
                methods.push(m);
            }
        }
    }
    let amount = |diag: &mut Diagnostics<'_>, key: &str, v: Option<i64>| match v {
        Some(n) if n < 1 => {
            diag.error(
                &format!("{at}.{key}"),
                format!("must be at least 1 paise (found {n})"),
            );
            None
        }
        v => v.map(Paise),
    };
    let min_amount = amount(diag, "min_amount", raw.min_amount);
    let max_amount = amount(diag, "max_amount", raw.max_amount);
    if let (Some(a), Some(b)) = (min_amount, max_amount)
        && a > b
    {
        diag.error(
            &format!("{at}.max_amount"),
            format!("max_amount ({b}) is below min_amount ({a})"),
        );
    }
    let currency = raw.currency.as_deref().and_then(|c| {
        let opts = [Currency::Inr, Currency::Usd, Currency::Eur].map(|c| (c.as_str(), Some(c)));
        one_of(diag, &format!("{at}.currency"), Some(c), &opts, None)
    });
    for k in raw.tags.keys() {
        if k.is_empty() {
            diag.error(
                &join(&format!("{at}.tags"), k),
                "tag names must not be empty",
            );
        }
    }
    Matcher {
        methods,
        min_amount,
        max_amount,
        currency,
        tags: raw.tags.clone(),
    }
}

fn split(
    r: &RawRoute,
    at: &str,
    names: &GatewayNames,
    diag: &mut Diagnostics<'_>,
) -> Vec<SplitEntry> {
    let at = format!("{at}.split");
    if r.split.is_empty() {
        diag.error(&at, SplitError::Empty.to_string());
        return Vec::new();
    }
    let mut entries: Vec<SplitEntry> = Vec::with_capacity(r.split.len());
    let mut total: u64 = 0;
    let mut complete = true;
    for (i, s) in r.split.iter().enumerate() {
        let path = format!("{at}[{i}]");
        let weight = match s.weight {
            None => {
                diag.error(&format!("{path}.weight"), "weight is required");
                complete = false;
                0
            }
            Some(w) if w > MAX_WEIGHT => {
                diag.error(
                    &format!("{path}.weight"),
                    format!("must be at most {MAX_WEIGHT} (found {w})"),
                );
                complete = false;
                0
            }
            Some(w) => w,
        };
        total += u64::from(weight);
        let Some(name) = s.gateway.as_deref() else {
            diag.error(&format!("{path}.gateway"), "gateway is required");
            continue;
        };
        let Some(gateway) = names.get(name) else {
            diag.error(&format!("{path}.gateway"), names.unknown(name));
            continue;
        };
        if entries.iter().any(|e| e.gateway == gateway) {
            diag.error(
                &format!("{path}.gateway"),
                format!("gateway \"{name}\" appears twice in this split"),
            );
            continue;
        }
        entries.push(SplitEntry { gateway, weight });
    }
    if complete && total == 0 {
        diag.error(&at, SplitError::ZeroTotal.to_string());
    }
    entries
}

fn ramps(
    r: &RawRoute,
    at: &str,
    names: &GatewayNames,
    diag: &mut Diagnostics<'_>,
) -> Vec<(usize, crate::routing::Ramp)> {
    let mut out = Vec::new();
    for (i, s) in r.split.iter().enumerate() {
        let (Some(raw), Some(g)) = (&s.ramp, s.gateway.as_deref().and_then(|n| names.get(n)))
        else {
            continue;
        };
        if let Some(ramp) = crate::config::health::ramp(raw, &format!("{at}.split[{i}].ramp"), diag)
        {
            out.push((g, ramp));
        }
    }
    out
}

fn fallback(
    raw: &[String],
    at: &str,
    names: &GatewayNames,
    diag: &mut Diagnostics<'_>,
) -> Vec<usize> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let path = format!("{at}.fallback[{i}]");
        match names.get(name) {
            None => diag.error(&path, names.unknown(name)),
            Some(g) if out.contains(&g) => {
                diag.error(&path, format!("gateway \"{name}\" is listed twice"))
            }
            Some(g) => out.push(g),
        }
    }
    out
}
