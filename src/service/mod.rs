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

    /// Runs a password hash or verify on the blocking pool, at most one per core at a time,
    /// at a lower CPU priority than the async workers.
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
        tokio::task::spawn_blocking(move || {
            lower_thread_priority();
            f()
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))
    }
}

/// Nice value of a thread that has hashed a password. A sign-in flood would otherwise take
/// every core for scrypt and triple the latency of the session checks that every other
/// request waits on; at nice 5 the scheduler gives the hashes what the checks leave, and
/// about a third of a contended core each (CFS weight 335 against 1024).
#[cfg(target_os = "linux")]
const HASH_NICE: libc::c_int = 5;

/// Lowers the calling blocking-pool thread's priority, once per thread (on Linux the nice
/// value is per thread). The thread may later run other blocking work at that priority,
/// which is only file and DNS work, never a request's hot path.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        thread_local! {
            static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        LOWERED.with(|done| {
            if !done.get() {
                done.set(true);
                // SAFETY: setpriority takes plain integers; who = 0 is the calling thread.
                let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASH_NICE) };
                if rc != 0 {
                    tracing::debug!("could not lower the priority of a hashing thread");
                }
            }
        });
    }
}
