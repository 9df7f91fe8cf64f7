//! The core API. The HTTP layer, the CLI and the cleanup service are all clients of
//! [`SessionKeeper`]; a Rust application can embed it directly.

pub mod admin;
mod auth;
mod error;
mod hashing;

pub use auth::{ClientInfo, Issued, SessionCheck, SignUp};
pub use error::{Error, Result};

use crate::config::{Config, Mode};
use crate::domain::Clock;
use crate::domain::cookie::{CookieNames, CookieSigner};
use crate::domain::token::TokenStorage;
use crate::store::Store;
use std::sync::Arc;

pub struct SessionKeeper {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub signer: CookieSigner,
    pub cookies: CookieNames,
    pub token_storage: TokenStorage,
    hash_pool: Arc<hashing::HashingPool>,
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
        Self {
            signer: CookieSigner::new(&secret),
            cookies,
            token_storage,
            hash_pool: Arc::new(hashing::HashingPool::new()),
            config: Arc::new(config),
            store,
            clock,
        }
    }

    /// Runs a password hash or verify on the hashing threads.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.hash_pool.run(f).await
    }
}
