//! The library's session check for any Rust service: headers in, the session and its user (or
//! nothing) out, by the rules of get-session, with the server's store and lookup batching.

use super::auth::{AuthService, SessionCheck};
use super::presented::{chunked_cookie, dont_remember, session_token};
use super::{Core, Error, Result};
use crate::config::{Config, ConfigError, Mode, SessionStorage, Sources};
use crate::domain::cookie_cache::{self, CookieCacheKeys, CookieCacheStrategy};
use crate::domain::{Clock, SessionWithUser, SystemClock};
use crate::secondary::SecondaryStorage;
use crate::store::Store;
use crate::store::tables::startup::{self, OpenError};
use http::HeaderMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`Validator`] may write. Both off by default: a check is one read, and a read
/// replica or a read-only database role is enough.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidatorOptions {
    /// Slide a session's expiry once `updateAge` has passed, as get-session does (an
    /// `UPDATE`). [`Validated::set_cookie`] then carries the cookie to send back.
    pub sliding: bool,
    /// Delete an expired session's row when it is presented, as get-session does.
    pub delete_expired: bool,
}

/// Why a [`Validator`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "BETTER_AUTH_SECRET is not set: the validator needs the Better Auth app's secret to verify its cookies"
    )]
    NoSecret,
    #[error("cannot open the database: {0}")]
    Open(#[from] OpenError),
    #[error("cannot reach REDIS_URL (SESSION_STORAGE=secondary): {0}")]
    Secondary(#[from] crate::secondary::SecondaryError),
}

/// A session that passed the check.
#[derive(Debug, Clone)]
pub struct Validated {
    pub data: SessionWithUser,
    /// Answered from Better Auth's `session_data` cookie, without a database read.
    pub from_cookie_cache: bool,
    /// With [`ValidatorOptions::sliding`], the `Set-Cookie` value that re-sends the session
    /// cookie after this check slid the session, as Better Auth does.
    pub set_cookie: Option<String>,
}

/// Validates the sessions of a Better Auth app (or of sessionkeeper itself) in place: the
/// signed cookie or bearer token, the row in the database, its expiry; optionally Better
/// Auth's cookie cache. Cheap to clone; every clone shares one store and its batched lookups.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use sessionkeeper::Validator;
///
/// // DATABASE_URL, BETTER_AUTH_SECRET, SESSIONKEEPER_MODE, the [schema] mapping, ...
/// let validator = Validator::from_env().await?;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "Bearer 355xjkoM1P6w0phdGzHZR02Mrxy1QuU0".parse()?);
/// match validator.validate(&headers).await? {
///     Some(found) => println!("signed in as {}", found.user.email),
///     None => println!("not signed in"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    core: Arc<Core>,
    auth: AuthService,
    options: ValidatorOptions,
    cache_keys: CookieCacheKeys,
    lookups: AtomicU64,
    cache_hits: AtomicU64,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("options", &self.inner.options)
            .field(
                "cookie_cache",
                &self.inner.core.config().session.cookie_cache,
            )
            .finish_non_exhaustive()
    }
}

impl Validator {
    /// Reads the server's settings from the environment (the same variables and rules as
    /// `sessionkeeper serve`), then [`open`](Self::open)s the database read-only.
    pub async fn from_env() -> Result<Self, ValidatorError> {
        let config = Config::load(&Sources::from_process_env(None))?;
        Self::open(config, ValidatorOptions::default()).await
    }

    /// Opens the database the configuration names without creating or changing anything,
    /// and checks that the tables and columns it needs are there.
    pub async fn open(config: Config, options: ValidatorOptions) -> Result<Self, ValidatorError> {
        if config.secret.is_none() {
            return Err(ValidatorError::NoSecret);
        }
        let store = startup::open_read_only(&config).await?;
        // An app keeping its sessions in Redis only: the sessions are read there (and written
        // there only with the options that write).
        let secondary = match (
            &config.secondary.redis_url,
            config.secondary.session_storage,
        ) {
            (Some(url), SessionStorage::Secondary) if config.mode == Mode::Shared => {
                Some(Arc::new(
                    SecondaryStorage::connect(url, &config.secondary.prefix)
                        .await?
                        .holding_sessions_alone(),
                ))
            }
            _ => None,
        };
        Self::build(config, store, secondary, Arc::new(SystemClock), options)
    }

    /// A validator on a store the application already opened (e.g. next to the server).
    pub fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        options: ValidatorOptions,
    ) -> Result<Self, ValidatorError> {
        Self::build(config, store, None, clock, options)
    }

    fn build(
        mut config: Config,
        store: Arc<dyn Store>,
        secondary: Option<Arc<SecondaryStorage>>,
        clock: Arc<dyn Clock>,
        options: ValidatorOptions,
    ) -> Result<Self, ValidatorError> {
        // The app's database need not hold our tables: an expired row the validator deletes
        // leaves no termination record and sends no event (the server records its own).
        config.cleanup.history_retention_days = 0;
        config.webhooks.urls.clear();
        let secret = config.secret.as_ref().ok_or(ValidatorError::NoSecret)?;
        let cache_keys = CookieCacheKeys::new(secret.expose());
        let core = Arc::new(Core::new(config, store, clock, secondary));
        Ok(Self {
            inner: Arc::new(Inner {
                auth: AuthService::new(core.clone()),
                core,
                options,
                cache_keys,
                lookups: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
            }),
        })
    }

    /// The session the request presents, with its user; `None` when there is none, or it is
    /// forged, expired or revoked. An error only when the database could not answer.
    pub async fn validate(&self, headers: &HeaderMap) -> Result<Option<SessionWithUser>> {
        Ok(self.check(headers).await?.map(|v| v.data))
    }

    /// [`validate`](Self::validate), saying where the answer came from and what to send back.
    pub async fn check(&self, headers: &HeaderMap) -> Result<Option<Validated>> {
        let core = &*self.inner.core;
        let Some(token) = session_token(core, headers) else {
            return Ok(None);
        };
        // The policy checked at check time (issue 13) goes here, for both answers below.
        if let Some(data) = self.cached(headers, &token) {
            self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(Validated {
                data,
                from_cookie_cache: true,
                set_cookie: None,
            }));
        }
        self.inner.lookups.fetch_add(1, Ordering::Relaxed);
        let options = self.inner.options;
        let allow_refresh = options.sliding && !dont_remember(core, headers);
        let check = self
            .inner
            .auth
            .check_session_with(&token, allow_refresh, options.delete_expired)
            .await;
        match check {
            Ok(SessionCheck::Valid { data, refreshed }) => {
                let set_cookie = refreshed.then(|| {
                    let names = core.cookies();
                    names.set(
                        &names.session_token,
                        &core.signer().sign_for_cookie(&token),
                        Some(core.config().session.expires_in),
                    )
                });
                Ok(Some(Validated {
                    data,
                    from_cookie_cache: false,
                    set_cookie,
                }))
            }
            Ok(SessionCheck::Missing | SessionCheck::Expired) => Ok(None),
            // The row went between the read and the slide: revoked meanwhile.
            Err(Error::FailedToGetSession) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Better Auth's cookie cache, when configured and valid for this token.
    fn cached(&self, headers: &HeaderMap, token: &str) -> Option<SessionWithUser> {
        let core = &*self.inner.core;
        let session = &core.config().session;
        if session.cookie_cache == CookieCacheStrategy::Off {
            return None;
        }
        let raw = chunked_cookie(headers, &core.cookies().session_data)?;
        let value = percent_encoding::percent_decode_str(&raw)
            .decode_utf8()
            .ok()?;
        let cached = cookie_cache::decode(session.cookie_cache, &self.inner.cache_keys, &value)?;
        cached
            .answers(token, &session.cookie_cache_version, core.now())
            .then_some(cached.data)
    }

    /// Session checks that went to the database since this validator was built (a batched
    /// lookup answers several at once, so the statements run are at most this many).
    pub fn database_lookups(&self) -> u64 {
        self.inner.lookups.load(Ordering::Relaxed)
    }

    /// Session checks answered from Better Auth's cookie cache, with no database read.
    pub fn cookie_cache_hits(&self) -> u64 {
        self.inner.cache_hits.load(Ordering::Relaxed)
    }

    /// The settings it was built from.
    pub fn config(&self) -> &Config {
        self.inner.core.config()
    }
}
