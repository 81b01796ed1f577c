//! `loadtest closed|open --url URL ...` and the scenarios `latency|callbacks|soak|reload|incident`:
//! see the crate docs (src/lib.rs) and docs/BENCHMARKS.md.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use loadtest::scenario::{self, reload::Via};
use loadtest::{Mode, Plan, TargetKind};

#[derive(Debug, Parser)]
#[command(
    name = "loadtest",
    about = "HTTP/1.1 load generator for POST /v1/payments (loopback targets only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Closed loop: N connections send back to back (maximum throughput).
    Closed {
        #[command(flatten)]
        common: Common,
    },
    /// Open loop: a constant offered rate; latency from each request's intended send time.
    Open {
        /// Requests per second.
        #[arg(long)]
        rate: f64,
        #[command(flatten)]
        common: Common,
    },
    /// Rollback detection trade-off on simulated time (no network): median
    /// detection time by traffic and drop, false rollbacks over a simulated day.
    RollbackSim {
        /// Seeds per (traffic, drop) cell.
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Give up on detecting a drop after this many simulated seconds.
        #[arg(long, default_value_t = 3600)]
        limit_secs: u64,
        /// Length of the stable run counting false rollbacks, simulated seconds.
        #[arg(long, default_value_t = 86_400)]
        day_secs: u64,
        /// Traffic levels, requests per second over two gateways.
        #[arg(long, value_delimiter = ',', default_value = "5,20,100,500")]
        rates: Vec<f64>,
        /// Drops in percentage points (from 95%).
        #[arg(long, value_delimiter = ',', default_value = "2,5,15")]
        drops: Vec<f64>,
        /// Print JSON instead of the Markdown table.
        #[arg(long)]
        json: bool,
    },
    /// Scenario: open loop direct vs through switchyard: added p50/p99 (default 2000/s, 60 s).
    Latency {
        #[command(flatten)]
        s: ScenarioArgs,
    },
    /// Scenario: payments created first, then one signed callback each: durable ACKs/s,
    /// ACK latency, every ACKed event in the file sink (default 10000/s, 30 s).
    Callbacks {
        #[command(flatten)]
        s: ScenarioArgs,
    },
    /// Scenario: RSS, fds and ledger bytes per payment over time (default 200/s, 1800 s).
    Soak {
        /// Seconds between samples.
        #[arg(long, default_value_t = 10.0)]
        interval: f64,
        #[command(flatten)]
        s: ScenarioArgs,
    },
    /// Scenario: hot reload every second under load (default 500/s, 30 s).
    Reload {
        #[arg(long, value_enum, default_value_t = Via::Sighup)]
        via: Via,
        #[command(flatten)]
        s: ScenarioArgs,
    },
    /// Scenario: a down, then b degraded: detection/recovery (default 200/s, 150 s).
    Incident {
        #[command(flatten)]
        s: ScenarioArgs,
    },
    /// Scenario: a compressed sale day scored against ground truth (default 5,000
    /// orders over 300 s, a SIGKILL + 120 s restart, then the watchdog finishes).
    Saleday {
        /// Orders (default 5000).
        #[arg(long, default_value_t = 5000)]
        orders: usize,
        /// Seconds switchyard stays dead after the SIGKILL.
        #[arg(long, default_value_t = 120.0)]
        restart_gap: f64,
        /// Seed of the sandboxes' fault draws.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        s: ScenarioArgs,
    },
}

#[derive(Debug, Args)]
struct ScenarioArgs {
    /// The switchyard binary (default: target/release/switchyard of this workspace).
    #[arg(long)]
    bin: Option<std::path::PathBuf>,
    /// Offered rate per second (open loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds (per target or in all, as the scenario says).
    #[arg(long, short = 'd')]
    duration: Option<f64>,
    /// Connections of the generator.
    #[arg(long, short = 'c', default_value_t = 64)]
    connections: usize,
    /// Print only the JSON object.
    #[arg(long)]
    json: bool,
}

impl ScenarioArgs {
    fn common(&self, rate: f64, duration: f64) -> Result<scenario::Common, String> {
        Ok(scenario::Common {
            bin: self
                .bin
                .clone()
                .unwrap_or_else(loadtest::stack::default_bin),
            rate: self.rate.unwrap_or(rate),
            duration: secs(self.duration.unwrap_or(duration), "duration")?,
            connections: self.connections.max(1),
        })
    }
}

fn scenario_main(cmd: Cmd) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async move {
        let (s, out) = match cmd {
            Cmd::Latency { s } => {
                let c = s.common(2000.0, 60.0)?;
                (s, scenario::latency::run(&c).await)
            }
            Cmd::Callbacks { s } => {
                let c = s.common(10_000.0, 30.0)?;
                (s, scenario::callbacks::run(&c).await)
            }
            Cmd::Soak { interval, s } => {
                let c = s.common(200.0, 1800.0)?;
                let i = secs(interval, "interval")?;
                (s, scenario::soak::run(&c, i).await)
            }
            Cmd::Reload { via, s } => {
                let c = s.common(500.0, 30.0)?;
                (s, scenario::reload::run(&c, via).await)
            }
            Cmd::Incident { s } => {
                let c = s.common(200.0, 150.0)?;
                (s, scenario::incident::run(&c).await)
            }
            Cmd::Saleday {
                orders,
                restart_gap,
                seed,
                s,
            } => {
                let c = s.common(0.0, 300.0)?;
                let mut d = scenario::saleday::SaleDay::full(c.bin.clone());
                d.orders = orders;
                d.load = c.duration;
                d.restart_gap = secs(restart_gap, "restart_gap")?;
                if let Some(seed) = seed {
                    d.seed = seed;
                }
                (s, scenario::saleday::run(&d).await)
            }
            Cmd::Closed { .. } | Cmd::Open { .. } | Cmd::RollbackSim { .. } => {
                return Err("not a scenario".to_string());
            }
        };
        let out = out.map_err(|e| format!("{e:#}"))?;
        if !s.json {
            print!("{out}");
        }
        println!("{}", out.json);
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, Args)]
struct Common {
    /// Target, e.g. http://127.0.0.1:18080/v1/payments (loopback only).
    #[arg(long)]
    url: String,
    /// Connections (one per worker; in the open loop, the most requests in flight).
    #[arg(long, short = 'c', default_value_t = 64)]
    connections: usize,
    /// Seconds of sending.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration: f64,
    /// Per-request timeout in seconds (connect included).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Stop after this many requests.
    #[arg(long)]
    max_requests: Option<u64>,
    /// Body and headers: switchyard's API or the generic gateway dialect.
    #[arg(long, value_enum, default_value_t = TargetKind::Switchyard)]
    target_kind: TargetKind,
    /// Runtime worker threads (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

fn secs(v: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|e| format!("--{what} {v}: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (mode, c) = match cli.command {
        Cmd::Closed { common } => (Mode::Closed, common),
        Cmd::Open { rate, common } => (Mode::Open { rate }, common),
        Cmd::RollbackSim {
            seeds,
            limit_secs,
            day_secs,
            rates,
            drops,
            json,
        } => {
            let plan = loadtest::rollback::SimPlan {
                rates,
                drops,
                seeds,
                limit_secs,
                day_secs,
            };
            let rows = loadtest::rollback::run(&plan);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
            } else {
                print!("{}", loadtest::rollback::render(&rows, &plan));
            }
            return ExitCode::SUCCESS;
        }
        other => return scenario_main(other),
    };
    let plan = match (secs(c.duration, "duration"), secs(c.timeout, "timeout")) {
        (Ok(duration), Ok(timeout)) => Plan {
            mode,
            url: c.url.clone(),
            kind: c.target_kind,
            connections: c.connections,
            duration,
            timeout,
            max_requests: c.max_requests,
            callbacks: None,
        },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = c.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(loadtest::run(plan)) {
        Ok(report) => {
            if c.json {
                println!("{}", report.to_json());
            } else {
                println!("{report}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
