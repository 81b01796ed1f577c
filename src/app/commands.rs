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

/// `switchyard check`: every error at once; exit 2 when invalid.
pub fn check(path: &Path, full: bool) -> ExitCode {
    match config::load_file(path, &config::process_env(), 1) {
        Ok((snap, _)) => {
            println!("{}: ok", path.display());
            print!("{}", config::describe(&snap));
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
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{}: {} error(s)", path.display(), errors.0.len());
            ExitCode::from(2)
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
    let line =
        |p: &replay::Progress| eprintln!("replay: sink {}: {} delivered", p.sink, p.delivered);
    let result = match (dead_letters, since) {
        (_, Some(t)) => replay::since(&ledger, &targets, t, line).await,
        _ => replay::dead_letters(&ledger, &targets, line).await,
    };
    let closed = ledger.shutdown().await;
    let done = result.map_err(|e| CommandError::Other(format!("replay stopped: {e}")))?;
    closed.map_err(|e| CommandError::Other(format!("ledger: {e}")))?;
    for p in &done {
        println!("sink {}: {} event(s) delivered", p.sink, p.delivered);
    }
    Ok(())
}
