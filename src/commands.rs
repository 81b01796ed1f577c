//! What each CLI subcommand does (main.rs only parses and dispatches).

use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, ConfigErrors};
use crate::metrics::Metrics;
use crate::serve::{ServeError, Server, shutdown_signal};

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
pub fn check(path: &Path) -> ExitCode {
    match config::load_file(path, 1) {
        Ok(snap) => {
            println!("{}: ok", path.display());
            print!("{}", config::describe(&snap));
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
    let snap = config::load_file(path, 1).map_err(CommandError::Config)?;
    let metrics = Metrics::new(prometheus::Registry::new());
    let server = Server::bind(snap, metrics).await?;
    let addr = server.local_addr().map_err(ServeError::from)?;
    tracing::info!(%addr, config = %path.display(), "switchyard listening");
    server.run(shutdown_signal()).await?;
    Ok(())
}

/// The sandbox's callback settings from the command line and the config's listener.
fn sandbox_callbacks(
    args: &crate::cli::SandboxArgs,
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
pub async fn sandbox(path: &Path, args: &crate::cli::SandboxArgs) -> Result<(), CommandError> {
    let source = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| CommandError::Other(format!("{source}: {e}")))?;
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| Some("sandbox-placeholder".to_string()))
    };
    let snap = config::load_str(&text, &source, &env, 1).map_err(CommandError::Config)?;
    let specs: Vec<_> = snap.gateways.iter().map(|g| g.spec.clone()).collect();
    let callbacks = sandbox_callbacks(args, snap.bootstrap.listen);
    crate::sandbox::run(&specs, args.control, &callbacks, shutdown_signal())
        .await
        .map_err(|e| CommandError::Other(format!("sandbox: {e}")))?;
    Ok(())
}
