//! What a command can fail with, and the exit code each failure gives.

use crate::app::StartError;
use crate::cleanup::CleanupError;
use crate::config::ConfigError;
use crate::store::StoreError;
use std::process::ExitCode;

/// Exit code for configuration errors: the process never started.
const EXIT_CONFIG: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Printed as `configuration error: ...`, exit code 2.
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] crate::service::Error),
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
    #[error("cleanup run failed: {0}")]
    CleanupRunFailed(String),
    #[error("creating index {name} failed: {source}")]
    CreateIndex { name: String, source: StoreError },
    #[error(
        "index {0} was not built (PostgreSQL left it invalid); run `sessionkeeper migrate --indexes` again"
    )]
    IndexNotBuilt(String),
    #[error("passwords do not match")]
    PasswordMismatch,
    #[error("no password on standard input")]
    NoPassword,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A task of the command panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) => ExitCode::from(EXIT_CONFIG),
            _ => ExitCode::FAILURE,
        }
    }

    /// Reports the failure where its reader looks: a server's in its log stream (JSON lines for
    /// a collector), a one-shot command's to the person at the terminal. Both go to stderr.
    pub fn report(&self, is_server: bool) -> ExitCode {
        match self {
            CliError::Config(e) => eprintln!("configuration error: {e}"),
            e if is_server => tracing::error!("{e}"),
            e => eprintln!("error: {e}"),
        }
        self.exit_code()
    }
}
