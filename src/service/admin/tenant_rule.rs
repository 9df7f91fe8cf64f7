//! **The tenant rule**, in one place. Every admin path that reaches a user, a user's sessions
//! or server-wide state asks [`AdminService::authorize`] first; a new admin route must too
//! (it is the only place that knows what a tenant admin may reach).
//!
//! Global admins and the service token reach everything. A tenant admin reaches:
//! - a user ([`Target::UserSessions`], [`Target::UserWide`]) only when the user belongs to
//!   their tenant and is not a global admin (in any letter case: `Admin` counts). Signing a
//!   global admin out is as much "acting on" them as banning them is;
//! - a user-wide change ([`Target::UserWide`]: ban, unban, role, password) only with
//!   `TENANT_SOURCE=user`. With `organization` a user belongs to many organisations and such
//!   a change would reach all of them, so a tenant admin may only end the user's sessions in
//!   their own organisation;
//! - server-wide state ([`Target::Server`]: the cleanup's status, history and manual runs
//!   across tenants) never; a tenant admin's manual run is confined to their tenant instead.

use super::{ADMIN_ROLE, Actor, AdminService};
use crate::config::TenantSource;
use crate::domain::{Scope, User};
use crate::service::Result;

/// What an admin action reaches.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The user's sessions within the actor's scope (list or end them).
    UserSessions(&'a User),
    /// The user themself, in every tenant: ban, unban, set-role, set-user-password.
    UserWide(&'a User),
    /// State of the whole server, across tenants.
    Server,
}

impl AdminService {
    /// True when `actor` may act on `target`. Callers turn `false` into their own refusal
    /// (a 403 with the route's code, or a 404 where existence must not leak).
    pub async fn authorize(&self, actor: &Actor, target: Target<'_>) -> Result<bool> {
        let Scope::Tenant(tenant) = &actor.scope else {
            return Ok(true);
        };
        let user = match target {
            Target::Server => return Ok(false),
            Target::UserWide(_)
                if self.core.config().admin.tenant_source == TenantSource::ActiveOrganization =>
            {
                return Ok(false);
            }
            Target::UserSessions(u) | Target::UserWide(u) => u,
        };
        if user.has_role(ADMIN_ROLE) {
            return Ok(false);
        }
        Ok(self.core.store().user_in_tenant(&user.id, tenant).await?)
    }

    /// Whether `actor` may end a session of the user `user_id` (a session whose user is gone
    /// may be ended by anyone whose scope holds the session).
    pub(super) async fn may_end_session_of(&self, actor: &Actor, user_id: &str) -> Result<bool> {
        if actor.scope == Scope::All {
            return Ok(true);
        }
        match self.core.store().find_user(user_id).await? {
            Some(user) => self.authorize(actor, Target::UserSessions(&user)).await,
            None => Ok(true),
        }
    }

    /// The role whose holders a tenant admin's bulk deletion spares (none for global callers).
    pub(super) fn spared_role(actor: &Actor) -> Option<String> {
        matches!(actor.scope, Scope::Tenant(_)).then(|| ADMIN_ROLE.to_owned())
    }
}
