//! What each CLI subcommand does (main.rs only parses and dispatches).

use std::path::Path;
use std::process::ExitCode;

use crate::app::serve::{ServeError, Server, shutdown_signal};
use crate::config::{self, ConfigErrors};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("invalid config:\n{0}")]
    Config(ConfigErrors),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("{0}")]
    Other(String),
}

impl CommandError {
    /// 64 (EX_USAGE) for a bad config, as linkerd does; 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CommandError::Config(_) => ExitCode::from(64),
            _ => ExitCode::from(1),
        }
    }
}

/// `switchyard check`: every error at once; exit 2 when invalid. With `no_env`
/// the process environment is not read: every `*_env` reference gets a
/// placeholder, an unreadable `*_file` reference is not an error, and both are
/// listed as unresolved (for CI or a laptop that has the config, not the secrets).
pub fn check(path: &Path, no_env: bool, full: bool) -> ExitCode {
    if !no_env {
        return check_with(path, &config::process_env(), &[], full);
    }
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = std::sync::Arc::clone(&asked);
    let env: config::Env = std::sync::Arc::new(move |k: &str| {
        seen.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(k.to_string());
        Some("check-no-env-placeholder".to_string())
    });
    let outcome = config::load_file(path, &env, 1);
    let mut vars = asked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    vars.sort();
    vars.dedup();
    let mut unresolved: Vec<String> = vars
        .iter()
        .map(|v| format!("environment variable {v}"))
        .collect();
    match outcome {
        Ok((snap, _)) => report_ok(path, &snap, &unresolved, full),
        Err(errors) => {
            // A secret file that is not on this machine is unresolved, not invalid.
            let (files, real): (Vec<_>, Vec<_>) = errors
                .0
                .into_iter()
                .partition(|e| e.path.ends_with("_file") && e.message.starts_with("cannot read"));
            unresolved.extend(files.iter().map(|e| format!("{}: {}", e.path, e.message)));
            if real.is_empty() {
                println!(
                    "{}: ok as far as checked: the secret files are missing, so the compile step (split tables, connectors) did not run",
                    path.display()
                );
                print_unresolved(&unresolved);
                ExitCode::SUCCESS
            } else {
                print_unresolved(&unresolved);
                for e in &real {
                    eprintln!("{e}");
                }
                eprintln!("{}: {} error(s)", path.display(), real.len());
                ExitCode::from(2)
            }
        }
    }
}

fn check_with(path: &Path, env: &config::Env, unresolved: &[String], full: bool) -> ExitCode {
    match config::load_file(path, env, 1) {
        Ok((snap, _)) => report_ok(path, &snap, unresolved, full),
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{}: {} error(s)", path.display(), errors.0.len());
            ExitCode::from(2)
        }
    }
}

/// With `full`, also a full `PRAGMA integrity_check` of the config's ledger
/// (read-only; safe beside a running server): exit 2 when it is damaged.
fn report_ok(path: &Path, snap: &config::Snapshot, unresolved: &[String], full: bool) -> ExitCode {
    println!("{}: ok", path.display());
    print!("{}", config::describe(snap));
    print_unresolved(unresolved);
    if full {
        let db = &snap.bootstrap.ledger_path;
        match crate::ledger::verify(db, crate::ledger::Integrity::Full) {
            Ok(()) => println!("ledger {}: integrity_check ok", db.display()),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

fn print_unresolved(unresolved: &[String]) {
    if unresolved.is_empty() {
        return;
    }
    println!(
        "unresolved secret references ({}, not looked up: --no-env):",
        unresolved.len()
    );
    for u in unresolved {
        println!("  {u}");
    }
}

/// `switchyard explain`: prints the route, candidates, weights and pick. With
/// `live` (the admin URL), the weights are the running service's, read with the
/// token in `SWITCHYARD_ADMIN_TOKEN`.
pub async fn explain(
    path: &Path,
    request: &str,
    key: &str,
    json: bool,
    live: Option<&str>,
) -> ExitCode {
    let view = match live {
        None => None,
        Some(url) => {
            let live = crate::app::explain::Live {
                admin_url: url,
                token: std::env::var("SWITCHYARD_ADMIN_TOKEN").ok(),
            };
            match crate::app::explain::live_routes(&live).await {
                Ok(v) => Some(v),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    match crate::app::explain::explain(path, request, key, view.as_ref()) {
        Ok(v) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                print!("{}", crate::app::explain::render(&v));
            }
            ExitCode::SUCCESS
        }
        Err(CommandError::Config(errors)) => {
            eprintln!("invalid config:\n{errors}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `switchyard healthcheck`: GET `/healthz` on the config's listener (or `url`);
/// exit 0 when it answers 200 (a container HEALTHCHECK without curl).
pub async fn healthcheck(config_path: Option<&Path>, url: Option<&str>) -> ExitCode {
    let url = match (url, config_path) {
        (Some(u), _) => u.to_string(),
        (None, Some(p)) => {
            let text = match config::read_file(p) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(1);
                }
            };
            let listen = toml::from_str::<toml::Value>(&text)
                .ok()
                .and_then(|v| v.get("server")?.get("listen")?.as_str().map(str::to_string))
                .unwrap_or_else(|| "0.0.0.0:8080".into());
            format!("http://{}/healthz", listen.replace("0.0.0.0", "127.0.0.1"))
        }
        (None, None) => "http://127.0.0.1:8080/healthz".to_string(),
    };
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::from(1);
        }
    };
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("healthcheck: {url}: {}", r.status());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("healthcheck: {url}: {e}");
            ExitCode::from(1)
        }
    }
}

/// `switchyard serve`.
pub async fn serve(path: &Path) -> Result<(), CommandError> {
    let (snap, text) =
        config::load_file(path, &config::process_env(), 1).map_err(CommandError::Config)?;
    let metrics = Metrics::new(prometheus::Registry::new());
    let server = Server::bind(snap, metrics)
        .await?
        .with_config_path(path, Some(text));
    let addr = server.local_addr().map_err(ServeError::from)?;
    tracing::info!(%addr, config = %path.display(), "switchyard listening");
    server.run(shutdown_signal()).await?;
    Ok(())
}

/// The sandbox's callback settings from the command line and the config's listener.
fn sandbox_callbacks(
    args: &crate::app::cli::SandboxArgs,
    listen: std::net::SocketAddr,
) -> crate::sandbox::CallbackConfig {
    let base = args.callback_url.clone().unwrap_or_else(|| {
        let mut a = listen;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{a}/v1/callbacks")
    });
    let mut cfg = crate::sandbox::CallbackConfig::to(base);
    cfg.knobs = crate::sandbox::CallbackKnobs {
        callbacks: args.callbacks == "on",
        callback_delay_ms: args.callback_delay_ms,
        duplicate_rate: args.duplicate_rate,
        drop_rate: args.drop_rate,
        out_of_order_rate: args.out_of_order_rate,
    };
    cfg.seed = args.seed;
    cfg
}

/// `switchyard sandbox`: simulated gateways on every `[[gateway]]` base_url port.
/// Secrets are not needed by the simulation, so unset secret variables are allowed.
pub async fn sandbox(path: &Path, args: &crate::app::cli::SandboxArgs) -> Result<(), CommandError> {
    let env: config::Env = std::sync::Arc::new(|k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| Some("sandbox-placeholder".to_string()))
    });
    let (snap, _) = config::load_file(path, &env, 1).map_err(CommandError::Config)?;
    let specs: Vec<_> = snap.gateways.iter().map(|g| g.spec.clone()).collect();
    let callbacks = sandbox_callbacks(args, snap.bootstrap.listen);
    crate::sandbox::run(&specs, args.control, &callbacks, shutdown_signal())
        .await
        .map_err(|e| CommandError::Other(format!("sandbox: {e}")))?;
    Ok(())
}

/// `switchyard replay`: re-drives dead letters (`--dead-letters`) or every event
/// since a time (`--since`) through the configured sinks, printing a progress line
/// per page and a summary.
pub async fn replay(
    path: &Path,
    dead_letters: bool,
    since: Option<&str>,
    sink: Option<&str>,
) -> Result<(), CommandError> {
    use crate::pipeline::{replay, sinks};
    let (snap, _) =
        config::load_file(path, &config::process_env(), 1).map_err(CommandError::Config)?;
    let since = since
        .map(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|e| CommandError::Other(format!("--since \"{s}\" is not RFC 3339: {e}")))
        })
        .transpose()?;
    let targets = sinks::build_all(&snap.pipeline.sinks, sink)
        .map_err(|e| CommandError::Other(format!("building sinks: {e}")))?;
    if targets.is_empty() {
        return Err(CommandError::Other(format!(
            "no sink named \"{}\" in {}",
            sink.unwrap_or_default(),
            path.display()
        )));
    }
    let boot = &snap.bootstrap;
    let ledger = crate::ledger::Ledger::open(
        &boot.ledger_path,
        crate::ledger::LedgerOptions {
            group_commit_max: boot.group_commit_max,
            synchronous_full: boot.synchronous_full,
            // Safe beside a running `serve` (see `ledger::guard`): no exclusive lock.
            exclusive: false,
            integrity: boot.ledger_integrity,
            ..Default::default()
        },
    )
    .map_err(|e| CommandError::Other(format!("ledger {}: {e}", boot.ledger_path.display())))?;
    let bar = progress_bar();
    // On a terminal a live bar; otherwise (a pipe, CI) one line per page.
    let line = |p: &replay::Progress| {
        if bar.is_hidden() {
            eprintln!("replay: sink {}: {} delivered", p.sink, p.delivered);
        }
        bar.set_message(format!("sink {}", p.sink));
        bar.set_position(p.delivered);
    };
    let result = match (dead_letters, since) {
        (_, Some(t)) => replay::since(&ledger, &targets, t, line).await,
        _ => replay::dead_letters(&ledger, &targets, line).await,
    };
    bar.finish_and_clear();
    let closed = ledger.shutdown().await;
    let done = result.map_err(|e| CommandError::Other(format!("replay stopped: {e}")))?;
    closed.map_err(|e| CommandError::Other(format!("ledger: {e}")))?;
    for p in &done {
        println!("sink {}: {} event(s) delivered", p.sink, p.delivered);
    }
    Ok(())
}

/// The replay's progress: a spinner with the count delivered (drawn only on a
/// terminal; hidden when stderr is a pipe, as in CI).
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} replay {msg}: {pos} event(s) delivered ({per_sec}, {elapsed})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
