//! The command line: `serve`, `check`, `sandbox`, `demo`, `replay`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    },
    /// Simulated gateways for every [[gateway]] of the config, on their base_url ports.
    Sandbox {
        #[arg(long, short)]
        config: PathBuf,
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
