use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sessionkeeper::cli::run(sessionkeeper::cli::Cli::parse()).await
}
