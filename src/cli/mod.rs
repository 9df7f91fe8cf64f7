//! The command line: thin wrappers over the library.

mod cleanup;
mod config_check;
mod error;
mod migrate;
mod users;

pub use error::CliError;

use crate::app::{Application, shutdown_signal};
use crate::config::{Config, Sources};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "sessionkeeper",
    version = crate::LONG_VERSION,
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
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: config_check::ConfigCommand,
    },
}

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
    if let Some(Command::Config { command }) = cli.command {
        return config_check::run(&sources, command);
    }
    let config = match Config::load(&sources) {
        Ok(c) => c,
        Err(e) => return CliError::from(e).report(false),
    };
    let telemetry = crate::telemetry::init(&config);
    let command = cli.command.unwrap_or(Command::Serve {
        listen: None,
        base_url: None,
    });
    let is_server = matches!(command, Command::Serve { .. });
    let result = match command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate(args) => migrate::run(config, args).await,
        Command::Cleanup(args) => cleanup::run(config, args).await,
        Command::Users { command } => users::run(config, command).await,
        Command::Config { .. } => Ok(()),
    };
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(is_server),
    }
}

async fn serve(config: Config) -> Result<(), CliError> {
    let app = Application::build(config).await?;
    let core = app.keeper().core();
    let metrics_addr = app.metrics_addr().map(|a| a.to_string());
    tracing::info!(
        addr = %app.local_addr(),
        metrics_addr = metrics_addr.as_deref().unwrap_or("(main listener)"),
        base_url = %core.config().base_url,
        database = core.store().backend().as_str(),
        "sessionkeeper listening"
    );
    Ok(app.run_until(shutdown_signal()).await?)
}
