//! `GET /status` on the admin listener: the internal status page for the people on
//! call. Behind the admin token (a bearer token, or HTTP Basic with the token as the
//! password so a browser can ask for it); without the token only when
//! `[admin] status_public = true`, and then operator free text is left out.
//!
//! - [`view`]: gathers what the page shows (one short controller lock, gauges, a
//!   ledger read) into plain data.
//! - [`words`]: evidence in plain words, IST times, the customer-facing line.
//! - [`render`]: the HTML (inline CSS, SVG sparklines, a little JS refresh).

pub mod render;
pub mod view;
pub mod words;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use view::{Clock, ConfigInfo, Pipeline, StatusView};

/// Whether the request carried the admin token (set by the admin token check).
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub bool);

/// The page's content security policy: nothing may load from anywhere.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /status`.
pub async fn page(
    State(state): State<AppState>,
    auth: Option<axum::Extension<Authenticated>>,
) -> Response {
    let public = !auth.is_some_and(|a| a.0.0);
    let view = gather(&state, public).await;
    let html = render::page(&view);
    let mut resp = html.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Everything the page shows, now.
pub async fn gather(state: &AppState, public: bool) -> StatusView {
    let wall_now = time::OffsetDateTime::now_utc();
    let clock = Clock {
        wall_now,
        ctl_now_ms: state.health_ctl.now_ms(),
    };
    let mut v = StatusView {
        now: Some(wall_now),
        public,
        ..StatusView::default()
    };
    {
        let c = state.health_ctl.lock();
        view::from_controller(&c, clock, public, &mut v);
    }
    let m = &state.metrics;
    let (orphans, stale) = ledger_counts(state).await;
    v.pipeline = Pipeline {
        backlog: Some(m.outbox_pending.get()),
        oldest_age_secs: Some(m.outbox_oldest_age_seconds.get()),
        dead_letters: Some(m.dead_letters.get()),
        orphans,
        stale_payments: stale,
    };
    let snap = state.config.load();
    v.config = ConfigInfo {
        generation: snap.generation,
        source: snap.source.clone(),
        last_reload: state.reload.last(),
    };
    v
}

/// Unlinked orphan callbacks and stale payments, read from the ledger (`None` when
/// the read fails: the page still renders).
async fn ledger_counts(state: &AppState) -> (Option<i64>, Option<i64>) {
    let open: Vec<String> = crate::model::PaymentStatus::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let stale_sql = format!(
        "SELECT COUNT(*) FROM watchdog w JOIN payments p USING (payment_id)
         WHERE w.stale_at IS NOT NULL AND p.status IN ({})",
        open.join(", ")
    );
    let read = state
        .ledger
        .query(move |c| {
            let orphans: i64 = c.query_row(
                "SELECT COUNT(*) FROM orphans WHERE linked_at IS NULL",
                [],
                |r| r.get(0),
            )?;
            let stale: i64 = c.query_row(&stale_sql, [], |r| r.get(0))?;
            Ok((orphans, stale))
        })
        .await;
    match read {
        Ok((o, s)) => (Some(o), Some(s)),
        Err(e) => {
            tracing::warn!(error = %e, "status page: ledger counts unavailable");
            (None, None)
        }
    }
}
