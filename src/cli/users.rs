use super::CliError;
use crate::app::open_store;
use crate::config::Config;
use crate::domain::SystemClock;
use crate::domain::model::NewUser;
use crate::service::SessionKeeper;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user with a password read from standard input (or a prompt on a terminal).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Comma-separated roles, e.g. admin or tenant-admin.
        #[arg(long, default_value = "user")]
        role: String,
        /// The user's tenant (the tenantId column).
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(config: Config, command: UsersCommand) -> Result<(), CliError> {
    match command {
        UsersCommand::Create {
            email,
            name,
            role,
            tenant,
        } => {
            let password = read_password()?;
            // No secret needed: creating a user signs no cookie, so no dev-secret warning.
            let store = open_store(&config).await?;
            let keeper = SessionKeeper::new(config, store, Arc::new(SystemClock));
            let new = NewUser {
                name,
                email,
                image: None,
                role: Some(role),
                tenant_id: tenant,
            };
            let user = keeper.auth().create_user(new, password).await?;
            println!(
                "created user {} <{}> with role {}",
                user.id,
                user.email,
                user.role.unwrap_or_default()
            );
            Ok(())
        }
    }
}

/// Never from a flag: flags end up in shell history and process listings.
fn read_password() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat password: ")?;
        if first != again {
            return Err(CliError::PasswordMismatch);
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(CliError::NoPassword);
    }
    Ok(password)
}
