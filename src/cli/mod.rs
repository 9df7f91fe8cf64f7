//! The command line: thin wrappers over the library.

mod cleanup;
mod migrate;
mod users;

use crate::app::{Application, shutdown_signal};
use crate::config::{Config, ConfigError, LogFormat, Sources};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "sessionkeeper",
    version,
    about = "A Better Auth–compatible session authority"
)]
pub struct Cli {
    /// TOML configuration file (values in it are overridden by the environment and flags).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://... (overrides DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve {
        /// Address to listen on (overrides LISTEN_ADDR; default 127.0.0.1 and BASE_URL's port).
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<String>,
        /// Public URL of this server (overrides BASE_URL).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// Create or update the database schema, then exit. In shared mode only sessionkeeper's
    /// own tables; `--indexes` adds the indexes that make cleanup and statistics fast.
    Migrate(migrate::MigrateArgs),
    /// Run the session cleanup once now (see the README's "Session cleanup").
    Cleanup(cleanup::CleanupArgs),
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
}

/// Exit code for configuration errors: the process never started.
const EXIT_CONFIG: u8 = 2;

pub async fn run(cli: Cli) -> ExitCode {
    let mut sources = Sources::from_process_env(cli.config.clone());
    if let Some(url) = &cli.database_url {
        sources.overrides.push(("database_url".into(), url.clone()));
    }
    if cli.log_json {
        sources.overrides.push(("log_format".into(), "json".into()));
    }
    if let Some(Command::Serve { listen, base_url }) = &cli.command {
        if let Some(v) = base_url {
            sources.overrides.push(("base_url".into(), v.clone()));
        }
        if let Some(v) = listen {
            sources.overrides.push(("listen".into(), v.clone()));
        }
    }
    if let Some(Command::Cleanup(args)) = &cli.command {
        sources.overrides.extend(args.overrides());
    }
    let config = match Config::load(&sources) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    crate::telemetry::init(config.log_format == LogFormat::Json);
    let command = cli.command.unwrap_or(Command::Serve {
        listen: None,
        base_url: None,
    });
    // A server's failure belongs in its log stream (JSON lines for a collector); a one-shot
    // command's is for the person at the terminal. Both go to stderr, so say it once.
    let is_server = matches!(command, Command::Serve { .. });
    let result = match command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate(args) => migrate::run(config, args).await,
        Command::Cleanup(args) => cleanup::run(config, args).await,
        Command::Users { command } => users::run(config, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) if is_server => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("configuration error: {e}");
    ExitCode::from(EXIT_CONFIG)
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        addr = %app.local_addr(),
        base_url = %app.keeper.config.base_url,
        database = app.keeper.store.backend().as_str(),
        "sessionkeeper listening"
    );
    app.run_until(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}
