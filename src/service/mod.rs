//! The core API. The HTTP layer, the CLI and the cleanup service are all clients of
//! [`SessionKeeper`]; a Rust application can embed it directly.
//!
//! [`SessionKeeper`] is three parts:
//! - [`auth`](SessionKeeper::auth): what a user does with their own account and sessions
//!   (sign-up, sign-in, sign-out, get-session, list and revoke their sessions), in `auth.rs`;
//! - [`admin`](SessionKeeper::admin): what an admin does (statistics, listing and deleting
//!   sessions, Better Auth's admin plugin operations, the audit log, and the cleanup control),
//!   in `admin/`, one file per area;
//! - [`core`](SessionKeeper::core): what both share (settings, store, clock, cookie signer,
//!   token storage, password hashing, session lookup), in `shared.rs`.

mod account;
pub mod activity;
pub mod admin;
mod auth;
mod error;
pub mod events;
mod hashing;
pub mod presented;
pub mod rate_limit;
mod redis_sessions;
mod shared;
pub mod tenant_policies;
mod validator;

pub use account::{PasswordChange, PasswordChanged};
pub use admin::AdminService;
pub(crate) use auth::check_password;
pub use auth::{AuthService, ClientInfo, Issued, SessionCheck, SignUp};
pub use error::{Error, Result};
pub use shared::Core;
pub use validator::{Validated, Validator, ValidatorError, ValidatorOptions};

use crate::cleanup::CleanupService;
use crate::config::Config;
use crate::domain::Clock;
use crate::secondary::SecondaryStorage;
use crate::store::Store;
use std::sync::Arc;

pub struct SessionKeeper {
    core: Arc<Core>,
    auth: AuthService,
    admin: AdminService,
}

impl SessionKeeper {
    /// `config.secret` must be set (start-up generates one in development). Creates the
    /// cleanup service too (not started: see [`CleanupService::start`]).
    pub fn new(config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self::with_secondary(config, store, clock, None)
    }

    /// [`new`](Self::new) with the Better Auth app's Redis (`SESSION_STORAGE=both`): every
    /// removal then reaches Redis too.
    pub fn with_secondary(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secondary: Option<Arc<SecondaryStorage>>,
    ) -> Self {
        let w = &config.webhooks;
        let events = crate::cleanup::RunEvents {
            finished_endpoints: w.endpoints_for("cleanup.run.finished"),
            session_endpoints: if w.cleanup_session_events {
                w.endpoints_for("session.ended")
            } else {
                0
            },
        };
        let cleanup = CleanupService::with_parts(
            store.clone(),
            clock.clone(),
            config.cleanup.clone(),
            events,
            secondary.clone(),
        );
        let tracking = config.session.activity_tracking;
        let core = Arc::new(Core::new(config, store, clock, secondary));
        if tracking {
            core.track_activity();
        }
        core.watch_tenant_policies();
        Self {
            auth: AuthService::new(core.clone()),
            admin: AdminService::new(core.clone(), cleanup),
            core,
        }
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub fn auth(&self) -> &AuthService {
        &self.auth
    }

    pub fn admin(&self) -> &AdminService {
        &self.admin
    }
}
