//! The control API: `GET`/`POST /_sandbox/{gateway}` over every sandbox registered
//! in a [`Controls`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::callbacks::{CallbackKnobs, CallbackStats};
use super::state::Shared;
use super::{Knobs, KnobsPatch, Stats};

/// Sandboxes addressable by name from the control API.
#[derive(Clone, Default)]
pub struct Controls(Arc<RwLock<HashMap<String, Arc<Shared>>>>);

impl Controls {
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn get(&self, name: &str) -> Option<Arc<Shared>> {
        self.0.read().ok().and_then(|m| m.get(name).cloned())
    }

    pub(super) fn insert(&self, s: Arc<Shared>) {
        if let Ok(mut m) = self.0.write() {
            m.insert(s.name.clone(), s);
        }
    }

    /// The control API router (`/_sandbox/{gateway}`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/_sandbox/{gateway}", get(control_get).post(control_set))
            .route("/_sandbox/{gateway}/truth", get(control_truth))
            .with_state(self.clone())
    }
}

#[derive(Serialize)]
struct ControlView {
    name: String,
    kind: &'static str,
    addr: String,
    knobs: Knobs,
    stats: Stats,
    callbacks: CallbackView,
}

#[derive(Serialize)]
struct CallbackView {
    url: Option<String>,
    knobs: CallbackKnobs,
    stats: CallbackStats,
}

fn view(s: &Shared) -> ControlView {
    ControlView {
        name: s.name.clone(),
        kind: s.kind.as_str(),
        addr: s.addr.to_string(),
        knobs: s.knobs(),
        stats: s.stats(),
        callbacks: CallbackView {
            url: s.callbacks.url(),
            knobs: s.callbacks.state.knobs(),
            stats: s.callbacks.state.stats(),
        },
    }
}

async fn control_get(State(c): State<Controls>, Path(name): Path<String>) -> Response {
    match c.get(&name) {
        Some(s) => Json(view(&s)).into_response(),
        None => (StatusCode::NOT_FOUND, "no such sandbox gateway\n").into_response(),
    }
}

async fn control_truth(State(c): State<Controls>, Path(name): Path<String>) -> Response {
    match c.get(&name) {
        Some(s) => Json(s.truth.all()).into_response(),
        None => (StatusCode::NOT_FOUND, "no such sandbox gateway\n").into_response(),
    }
}

async fn control_set(
    State(c): State<Controls>,
    Path(name): Path<String>,
    Json(patch): Json<KnobsPatch>,
) -> Response {
    match c.get(&name) {
        Some(s) => {
            s.apply(patch);
            Json(view(&s)).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such sandbox gateway\n").into_response(),
    }
}
