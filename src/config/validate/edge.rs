//! The edge keys of `[server]`: connection timeouts and limits (bootstrap) and the
//! largest accepted amount (hot).

use super::super::Edge;
use super::super::raw::RawServer;
use super::super::spans::Diagnostics;
use super::{duration_or, in_range, int_in};

/// Far above any UPI cap (₹10 lakh = 10^8 paise) and any card or netbanking
/// payment a checkout takes (₹1,000 crore), far below `i64::MAX`.
pub(crate) const DEFAULT_MAX_AMOUNT_PAISE: i64 = 1_000_000_000_000;

pub(super) fn edge(raw: &RawServer, diag: &mut Diagnostics<'_>) -> Edge {
    let d = Edge::default();
    Edge {
        header_read_timeout: duration_or(
            diag,
            "server.header_read_timeout",
            raw.header_read_timeout.as_deref(),
            d.header_read_timeout,
        ),
        idle_timeout: duration_or(
            diag,
            "server.idle_timeout",
            raw.idle_timeout.as_deref(),
            d.idle_timeout,
        ),
        max_connections: int_in(
            diag,
            "server.max_connections",
            raw.max_connections,
            1..=1_000_000,
            d.max_connections as u32,
        ) as usize,
        max_inflight_payments: int_in(
            diag,
            "server.max_inflight_payments",
            raw.max_inflight_payments,
            1..=100_000,
            d.max_inflight_payments as u32,
        ) as usize,
    }
}

pub(super) fn max_amount(raw: &RawServer, diag: &mut Diagnostics<'_>) -> i64 {
    in_range(
        diag,
        "server.max_amount_paise",
        raw.max_amount_paise,
        1..=i64::MAX / 2,
        DEFAULT_MAX_AMOUNT_PAISE,
    )
}
