//! The shared core of the two services: the store, the clock, the settings, the cookie signer,
//! how tokens are stored, the password hashing threads, and the session lookup by token.

use super::Result;
use super::activity::{ActivityTracker, Flushed};
use super::hashing::HashingPool;
use super::rate_limit::RateLimiter;
use crate::config::{Config, Mode};
use crate::domain::Clock;
use crate::domain::cookie::{CookieNames, CookieSigner};
use crate::domain::ending::{Actor, EndReason, Ending};
use crate::domain::model::SessionWithUser;
use crate::domain::token::TokenStorage;
use crate::store::Store;
use std::sync::Arc;
use time::OffsetDateTime;

pub struct Core {
    config: Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signer: CookieSigner,
    cookies: CookieNames,
    token_storage: TokenStorage,
    hashing: HashingPool,
    rate_limiter: RateLimiter,
    /// Set by the server ([`super::SessionKeeper`]); the read-only validator records nothing.
    activity: std::sync::OnceLock<Arc<ActivityTracker>>,
}

impl Core {
    /// `config.secret` must be set (start-up generates one in development).
    pub(super) fn new(config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let secret = config
            .secret
            .as_ref()
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        // Owned mode stores token hashes; shared mode the tokens themselves, as the Node app
        // looks sessions up by them (docs/better-auth-compat.md §1.6).
        let token_storage = match config.mode {
            Mode::Owned => TokenStorage::Hashed,
            Mode::Shared => TokenStorage::Plain,
        };
        let cookies =
            CookieNames::new(&config.session.cookie_prefix, config.session.secure_cookies);
        let rate_limiter = RateLimiter::new(&config.rate_limit, store.clone(), clock.clone());
        Self {
            rate_limiter,
            signer: CookieSigner::new(&secret),
            cookies,
            token_storage,
            hashing: HashingPool::new(),
            activity: std::sync::OnceLock::new(),
            config,
            store,
            clock,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The request and sign-in failure counters.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Signs and verifies cookie values and bearer tokens with the configured secret.
    pub fn signer(&self) -> &CookieSigner {
        &self.signer
    }

    pub fn cookies(&self) -> &CookieNames {
        &self.cookies
    }

    pub fn token_storage(&self) -> TokenStorage {
        self.token_storage
    }

    /// The value stored in (and looked up by) `session.token` for a raw token.
    pub fn token_key(&self, raw_token: &str) -> String {
        self.token_storage.key(raw_token)
    }

    /// The session a raw token names, with its user, expired or not.
    pub async fn find_session(&self, raw_token: &str) -> Result<Option<SessionWithUser>> {
        // No token this server issues holds one; in shared mode the raw token reaches the
        // query, and PostgreSQL would fail on a NUL.
        if crate::domain::input::has_forbidden(raw_token) {
            return Ok(None);
        }
        Ok(self.store.find_session(&self.token_key(raw_token)).await?)
    }

    /// What ending sessions now writes (records, `session.ended` events), or `None` when
    /// neither is on.
    pub fn ending(&self, reason: EndReason, actor: &Actor) -> Option<Ending> {
        Ending::new(
            reason,
            actor,
            self.now(),
            self.config.cleanup.records(),
            self.config.webhooks.endpoints_for("session.ended"),
        )
    }

    /// Starts recording session activity (and its periodic flush) on this core.
    pub(super) fn track_activity(&self) {
        let s = &self.config.session;
        let tracker = Arc::new(ActivityTracker::new(
            self.store.clone(),
            s.activity_resolution_seconds,
        ));
        ActivityTracker::spawn(&tracker, self.clock.clone());
        let _ = self.activity.set(tracker);
    }

    /// The activity tracker, when checks record activity.
    pub fn activity(&self) -> Option<&Arc<ActivityTracker>> {
        self.activity.get()
    }

    /// Writes the recorded activity now (the periodic flush does this every resolution
    /// period); for tests, benchmarks and a graceful shutdown.
    pub async fn flush_activity(&self) -> Result<Flushed> {
        match self.activity.get() {
            Some(t) => Ok(t.flush(self.now()).await?),
            None => Ok(Flushed::default()),
        }
    }

    /// Runs a password hash or verify on the hashing threads.
    pub(super) async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.hashing.run(f).await
    }
}
