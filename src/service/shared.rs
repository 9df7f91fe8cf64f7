//! The shared core of the two services: the store, the clock, the settings, the cookie signer,
//! how tokens are stored, the password hashing threads, and the session lookup by token.

use super::Result;
use super::activity::{ActivityTracker, Flushed};
use super::hashing::HashingPool;
use super::rate_limit::RateLimiter;
use super::tenant_policies::TenantPolicies;
use crate::config::{Config, Mode};
use crate::domain::Clock;
use crate::domain::cookie::{CookieNames, CookieSigner};
use crate::domain::ending::{Actor, EndReason, Ending};
use crate::domain::model::SessionWithUser;
use crate::domain::token::TokenStorage;
use crate::secondary::{SecondaryStorage, SessionRef, reconcile};
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
    /// Redis, when the Better Auth app keeps its sessions there too (`SESSION_STORAGE=both`).
    secondary: Option<Arc<SecondaryStorage>>,
    /// The per-tenant policies, copied in memory (see [`super::tenant_policies`]).
    tenant_policies: Arc<TenantPolicies>,
}

impl Core {
    /// `config.secret` must be set (start-up generates one in development).
    pub(super) fn new(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secondary: Option<Arc<SecondaryStorage>>,
    ) -> Self {
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
            secondary,
            signer: CookieSigner::new(&secret),
            cookies,
            token_storage,
            hashing: HashingPool::new(),
            activity: std::sync::OnceLock::new(),
            tenant_policies: Arc::default(),
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
    ///
    /// With the owned-mode cache, Redis is read first and the database answers a miss (or a
    /// Redis fault, with a warning), as Better Auth does with `storeSessionInDatabase`. A live
    /// session found in the database on a miss is cached for the next look-up (sessions that
    /// existed before Redis was configured, or whose copy a user change dropped).
    pub async fn find_session(&self, raw_token: &str) -> Result<Option<SessionWithUser>> {
        // No token this server issues holds one; in shared mode the raw token reaches the
        // query, and PostgreSQL would fail on a NUL.
        if crate::domain::input::has_forbidden(raw_token) {
            return Ok(None);
        }
        if let Some(redis) = self.redis_alone() {
            // Shared mode stores raw tokens: the key is the token, as the Node app writes it.
            return redis
                .cached_session(raw_token)
                .await
                .map_err(|e| super::Error::Secondary(e.to_string()));
        }
        let key = self.token_key(raw_token);
        let Some(redis) = self.cache() else {
            return Ok(self.store.find_session(&key).await?);
        };
        match redis.cached_session(&key).await {
            Ok(Some(found)) => Ok(Some(found)),
            Ok(None) => {
                let found = self.store.find_session(&key).await?;
                if let Some(data) = &found
                    && !data.session.is_expired(self.now())
                {
                    self.cache_put(data).await;
                }
                Ok(found)
            }
            Err(e) => {
                tracing::warn!(error = %e, "session cache unavailable: reading the database");
                Ok(self.store.find_session(&key).await?)
            }
        }
    }

    /// Redis as owned mode's session cache (`SESSIONKEEPER_MODE=owned` with `REDIS_URL`).
    /// In shared mode Redis belongs to the Node app and is only cleaned, never written.
    pub(super) fn cache(&self) -> Option<&Arc<SecondaryStorage>> {
        match self.config.mode {
            Mode::Owned => self.secondary.as_ref(),
            Mode::Shared => None,
        }
    }

    /// Writes a session the database just created or slid into the owned-mode cache, then
    /// checks the row is still there: a revocation on another instance between our database
    /// write and our Redis write would otherwise be undone in Redis until the TTL ran out.
    /// A Redis fault is logged; the database has the session, so only speed is lost.
    pub(super) async fn cache_put(&self, data: &SessionWithUser) {
        let Some(redis) = self.cache() else { return };
        if let Err(e) = redis.put_session(data).await {
            tracing::warn!(error = %e, "cannot write a session to the Redis cache");
            return;
        }
        match self.store.find_session_by_id(&data.session.id).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                if let Err(e) = self
                    .secondary_remove_one(&data.session.token, &data.session.user_id)
                    .await
                {
                    tracing::warn!(error = %e, "cannot remove a revoked session from the Redis cache");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot recheck a cached session"),
        }
    }

    /// After a change to a user (profile, role, ban): the cached copies of the user go, so
    /// the next look-up of each session reads the database. An error when Redis fails, since
    /// a stale copy would keep serving the old user.
    pub(super) async fn cache_forget_user(&self, user_id: &str) -> Result<()> {
        let Some(redis) = self.cache() else {
            return Ok(());
        };
        redis
            .forget_user(user_id)
            .await
            .map_err(|e| super::Error::Secondary(e.to_string()))
    }

    pub fn secondary(&self) -> Option<&Arc<SecondaryStorage>> {
        self.secondary.as_ref()
    }

    /// After the database removed these sessions: removes them from Redis the way Better
    /// Auth's `deleteSession` does. A no-op without Redis.
    pub(super) async fn secondary_remove(&self, refs: &[SessionRef]) -> Result<()> {
        let Some(redis) = &self.secondary else {
            return Ok(());
        };
        redis
            .remove_sessions(refs)
            .await
            .map(drop)
            .map_err(|e| super::Error::Secondary(e.to_string()))
    }

    /// [`secondary_remove`](Self::secondary_remove) for one session the database removed.
    pub(super) async fn secondary_remove_one(&self, token: &str, user_id: &str) -> Result<()> {
        if self.secondary.is_none() {
            return Ok(());
        }
        self.secondary_remove(&[SessionRef {
            token: token.to_owned(),
            user_id: Some(user_id.to_owned()),
        }])
        .await
    }

    /// After a user-wide removal: the user's sessions in Redis that the database no longer
    /// has are removed. A no-op without Redis.
    pub(super) async fn secondary_reconcile_user(&self, user_id: &str) -> Result<()> {
        // Without a session table there is nothing to reconcile with: removals go to Redis.
        let Some(redis) = self
            .secondary
            .as_ref()
            .filter(|r| !r.holds_sessions_alone())
        else {
            return Ok(());
        };
        reconcile::reconcile_user(redis, self.store.as_ref(), user_id)
            .await
            .map(drop)
            .map_err(|e| super::Error::Secondary(e.to_string()))
    }

    /// After a removal that may span users (bulk delete): a sweep of every listed session.
    pub(super) async fn secondary_sweep(&self) -> Result<()> {
        let Some(redis) = self
            .secondary
            .as_ref()
            .filter(|r| !r.holds_sessions_alone())
        else {
            return Ok(());
        };
        reconcile::sweep(redis, self.store.as_ref())
            .await
            .map(drop)
            .map_err(|e| super::Error::Secondary(e.to_string()))
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

    /// Keeps the in-memory copy of the tenant policies fresh (the server; the read-only
    /// validator enforces the global policy only).
    pub(super) fn watch_tenant_policies(&self) {
        TenantPolicies::spawn(&self.tenant_policies, self.store.clone());
    }

    /// The per-tenant policies in force on this instance.
    pub fn tenant_policies(&self) -> &TenantPolicies {
        &self.tenant_policies
    }

    /// Reads the tenant policies from the store now (after a change; other instances pick it
    /// up within [`super::tenant_policies::REFRESH`]).
    pub async fn reload_tenant_policies(&self) -> Result<()> {
        Ok(self.tenant_policies.reload(self.store.as_ref()).await?)
    }

    /// The tenant of a session, as `TENANT_SOURCE` says: its user's tenant column or its
    /// active organization.
    pub fn tenant_of<'a>(
        &self,
        session: &'a crate::domain::Session,
        user: &'a crate::domain::User,
    ) -> Option<&'a str> {
        match self.config.admin.tenant_source {
            crate::config::TenantSource::UserColumn => user.tenant_id.as_deref(),
            crate::config::TenantSource::ActiveOrganization => {
                session.active_organization_id.as_deref()
            }
        }
        .filter(|t| !t.is_empty())
    }

    /// The check policy of a session in `tenant`: the tenant's timeouts where it set them,
    /// else the global ones.
    pub fn check_policy_for(&self, tenant: Option<&str>) -> crate::domain::policy::CheckPolicy {
        let global = self.config.check_policy();
        match self.tenant_policies.get(tenant) {
            Some(p) => p.check_policy(global),
            None => global,
        }
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
