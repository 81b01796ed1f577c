//! The command line: `serve`, `check`, `explain`, `sandbox`, `demo`, `replay`,
//! `healthcheck`, `completions`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Payment-initiation proxy: weighted sticky routing, safe failover, a write-ahead ledger"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service.
    Serve {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config like `nginx -t`: every error with file:line:col, exit 2 when invalid.
    Check {
        #[arg(long, short)]
        config: PathBuf,
        /// Also run a full `PRAGMA integrity_check` on the config's ledger file
        /// (read-only; safe beside a running server).
        #[arg(long)]
        full: bool,
        /// Do not read the environment or secret files: check everything else and
        /// list the references left unresolved (CI, a laptop without the secrets).
        #[arg(long)]
        no_env: bool,
    },
    /// Which route a payment takes, its candidates and weights now, and the sticky
    /// pick with why (the request path's own functions; no traffic is sent).
    Explain {
        #[arg(long, short)]
        config: PathBuf,
        /// A `POST /v1/payments` body, e.g. '{"order_id":"o1","amount":49900,"method":"upi_intent"}'.
        #[arg(long, short)]
        request: String,
        /// The Idempotency-Key (matters only with `sticky_key = "idempotency_key"`).
        #[arg(long, default_value = "explain")]
        idempotency_key: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Read the weights now from a running switchyard's admin API (e.g.
        /// http://127.0.0.1:9090; token from SWITCHYARD_ADMIN_TOKEN).
        #[arg(long, value_name = "ADMIN_URL")]
        live: Option<String>,
    },
    /// GET /healthz on the config's [server] listen (or --url); exit 0 when healthy.
    /// For container HEALTHCHECKs where no curl is installed.
    Healthcheck {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        url: Option<String>,
    },
    /// Print a shell completion script: `switchyard completions bash > /etc/bash_completion.d/switchyard`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Simulated gateways for every [[gateway]] of the config, on their base_url ports.
    Sandbox {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        callbacks: SandboxArgs,
    },
    /// serve + sandbox in one process on the bundled demo config, with live traffic.
    Demo {
        /// How long to drive traffic, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Requests per second.
        #[arg(long, default_value_t = 50)]
        rate: u32,
    },
    /// Re-drive pipeline events through the configured sinks: the dead letters, or
    /// every event since a time. Safe while `serve` runs on the same ledger.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["dead_letters", "since"])))]
    Replay {
        #[arg(long, short)]
        config: PathBuf,
        /// Deliver the dead letters (removed as they are delivered).
        #[arg(long)]
        dead_letters: bool,
        /// Re-send every event created at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only this sink (default: every configured sink).
        #[arg(long)]
        sink: Option<String>,
    },
}

/// `switchyard sandbox` callback options (the starting knobs; the control API changes
/// them live).
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Callback base URL: each gateway posts to `<URL>/<gateway name>`. Default:
    /// `http://<[server] listen>/v1/callbacks` of the config (0.0.0.0 → 127.0.0.1).
    #[arg(long)]
    pub callback_url: Option<String>,
    /// Send callbacks for accepted payments (`--callbacks off` for pure throughput runs).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub callbacks: String,
    /// Delay before a payment's first callback, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub callback_delay_ms: u64,
    /// Share of callbacks delivered twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Share of payments whose callbacks are never sent.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Share of payments that also get an older event delivered after the final one.
    #[arg(long, default_value_t = 0.0)]
    pub out_of_order_rate: f64,
    /// RNG seed for the rate knobs (repeatable runs).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A control-API listener that stays up while gateways are down.
    #[arg(long)]
    pub control: Option<std::net::SocketAddr>,
}
