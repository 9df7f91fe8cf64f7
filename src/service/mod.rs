//! The core API. The HTTP layer, the CLI and the cleanup service are all clients of
//! [`SessionKeeper`]; a Rust application can embed it directly.

pub mod admin;
mod auth;
mod error;

pub use auth::{ClientInfo, Issued, SessionCheck, SignUp};
pub use error::{Error, Result};

use crate::config::{Config, Mode};
use crate::domain::Clock;
use crate::domain::cookie::{CookieNames, CookieSigner};
use crate::domain::token::TokenStorage;
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub struct SessionKeeper {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub signer: CookieSigner,
    pub cookies: CookieNames,
    pub token_storage: TokenStorage,
    /// Bounds concurrent password hashes: each scrypt takes 32 MiB and a core for ~60 ms, and
    /// must never run on the async workers.
    hash_permits: Arc<Semaphore>,
}

impl SessionKeeper {
    /// `config.secret` must be set (start-up generates one in development).
    pub fn new(config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let secret = config
            .secret
            .as_ref()
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        let token_storage = match config.mode {
            Mode::Owned => TokenStorage::Hashed,
            Mode::Shared => TokenStorage::Plain,
        };
        let cookies =
            CookieNames::new(&config.session.cookie_prefix, config.session.secure_cookies);
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            signer: CookieSigner::new(&secret),
            cookies,
            token_storage,
            hash_permits: Arc::new(Semaphore::new(cpus)),
            config: Arc::new(config),
            store,
            clock,
        }
    }

    /// Runs a password hash or verify on the blocking pool, at most one per core at a time.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .hash_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }
}
