//! JSON logs through `tracing`. Level from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// JSON lines on stderr, for `serve` and `sandbox`.
pub fn init_json() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Quiet human logs (errors only; per-request traces off), for `demo`, whose screen is the progress view.
pub fn init_quiet() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("error,tower_http=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
