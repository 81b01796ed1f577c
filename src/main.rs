#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use switchyard::app::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let result = match cli.command {
        Command::Check {
            config,
            no_env,
            full,
        } => {
            return Ok(switchyard::app::commands::check(&config, no_env, full));
        }
        Command::Explain {
            config,
            request,
            idempotency_key,
            json,
            live,
        } => {
            return Ok(switchyard::app::commands::explain(
                &config,
                &request,
                &idempotency_key,
                json,
                live.as_deref(),
            )
            .await);
        }
        Command::Healthcheck { config, url } => {
            return Ok(
                switchyard::app::commands::healthcheck(config.as_deref(), url.as_deref()).await,
            );
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "switchyard", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Serve { config } => {
            switchyard::app::logging::init_json();
            switchyard::app::commands::serve(&config).await
        }
        Command::Sandbox { config, callbacks } => {
            switchyard::app::logging::init_json();
            switchyard::app::commands::sandbox(&config, &callbacks).await
        }
        Command::Replay {
            config,
            dead_letters,
            since,
            sink,
        } => {
            switchyard::app::commands::replay(
                &config,
                dead_letters,
                since.as_deref(),
                sink.as_deref(),
            )
            .await
        }
        Command::Demo { seconds, rate } => {
            switchyard::app::logging::init_quiet();
            switchyard::app::demo::run(seconds, rate).await
        }
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(e.exit_code())
        }
    }
}
