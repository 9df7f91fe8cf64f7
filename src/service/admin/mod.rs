//! The admin service: who may call it ([`Actor`]), and what it does, one file per area:
//! session statistics, listing, bulk deletion and revocation (`sessions.rs`), Better Auth's
//! admin plugin operations on users (`users.rs`), the audit log (`audit.rs`) and the cleanup
//! control (`cleanup.rs`). Every operation takes the actor and never reaches past its
//! [`Scope`].

mod audit;
mod cleanup;
mod history;
mod locks;
mod recount_gate;
mod redis_admin;
mod redis_list;
mod sessions;
mod stats_snapshot;
mod tenant_policy;
pub mod tenant_rule;
pub mod types;
pub mod users;
mod webhooks;

pub use stats_snapshot::STATS_LEASE;

use super::{Core, Error, Result};
use crate::cleanup::CleanupService;
use crate::config::TenantSource;
use crate::domain::input;
use crate::domain::limits::{self, PageSize};
use crate::domain::model::SessionWithUser;
use crate::domain::{Scope, User};
use std::sync::Arc;

/// What an admin does. Owns the cleanup service, so that manual runs, the status and the run
/// history are reached through one place.
pub struct AdminService {
    core: Arc<Core>,
    cleanup: Arc<CleanupService>,
    /// One statistics recount at a time in this process.
    recounts: recount_gate::RecountGate<stats_snapshot::Counted>,
}

/// Global admins hold this role (Better Auth's default `adminRoles`).
pub const ADMIN_ROLE: &str = "admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    Admin,
    TenantAdmin,
    /// `Authorization: Bearer <ADMIN_API_TOKEN>`.
    Service,
}

impl CallerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::Admin => "admin",
            CallerKind::TenantAdmin => "tenant-admin",
            CallerKind::Service => "service",
        }
    }
}

/// An authorised admin caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: CallerKind,
    pub user: Option<User>,
    /// The caller's own session, spared by bulk deletion unless asked otherwise.
    pub session_id: Option<String>,
    pub scope: Scope,
}

impl Actor {
    pub fn service() -> Self {
        Self {
            kind: CallerKind::Service,
            user: None,
            session_id: None,
            scope: Scope::All,
        }
    }

    /// The ending recorded on the sessions this caller ends (`None`: records are off): the
    /// admin's user id, or `service` for the API token.
    pub(crate) fn ending(
        &self,
        core: &crate::service::Core,
        reason: crate::domain::ending::EndReason,
    ) -> Option<crate::domain::ending::Ending> {
        use crate::domain::ending::Actor as By;
        let by = self
            .user
            .as_ref()
            .map_or(By::Service, |u| By::Admin(u.id.clone()));
        core.ending(reason, &by)
    }

    /// `admin:<userId>`, `tenant-admin:<userId>` or `service`: who, in the audit log.
    pub fn label(&self) -> String {
        match &self.user {
            Some(u) => format!("{}:{}", self.kind.as_str(), u.id),
            None => self.kind.as_str().to_owned(),
        }
    }

    /// The scope of a request that names `requested` (or no) tenant: a global caller narrows
    /// to it, a tenant admin may only name their own.
    pub fn narrow(&self, requested: Option<&str>) -> Result<Scope> {
        if let Some(t) = requested {
            required("tenantId", t, limits::ID_LEN)?;
        }
        match (&self.scope, requested) {
            (Scope::All, Some(t)) => Ok(Scope::Tenant(t.to_owned())),
            (Scope::All, None) => Ok(Scope::All),
            (Scope::Tenant(own), Some(t)) if own != t => Err(forbidden_tenant()),
            (Scope::Tenant(own), _) => Ok(Scope::Tenant(own.clone())),
        }
    }
}

pub(crate) fn forbidden_tenant() -> Error {
    Error::Forbidden {
        code: "FORBIDDEN",
        message: "You may only act on your own tenant".into(),
    }
}

/// Why a caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No valid session: 401.
    Unauthenticated,
    /// Signed in, but not an admin of anything: 403.
    Forbidden,
}

impl AdminService {
    pub(super) fn new(core: Arc<Core>, cleanup: Arc<CleanupService>) -> Self {
        Self {
            core,
            cleanup,
            recounts: stats_snapshot::gate(),
        }
    }

    /// The cleanup service this admin service controls (to start, stop or watch it).
    pub fn cleanup(&self) -> &Arc<CleanupService> {
        &self.cleanup
    }

    /// Decides what a signed-in user may do. Global `admin` wins over the tenant-admin role; a
    /// tenant admin without a tenant, and a banned user, get nothing.
    pub fn actor(&self, signed_in: SessionWithUser) -> std::result::Result<Actor, Denied> {
        let SessionWithUser { session, user } = signed_in;
        let now = self.core.now();
        if user.banned == Some(true) && user.ban_expires.is_none_or(|until| until > now) {
            return Err(Denied::Forbidden);
        }
        let (kind, scope) = if user.has_role(ADMIN_ROLE) {
            (CallerKind::Admin, Scope::All)
        } else if user.has_role(&self.core.config().admin.tenant_admin_role) {
            let tenant = match self.core.config().admin.tenant_source {
                TenantSource::UserColumn => user.tenant_id.clone(),
                TenantSource::ActiveOrganization => session.active_organization_id.clone(),
            };
            match tenant.filter(|t| !t.is_empty()) {
                Some(t) => (CallerKind::TenantAdmin, Scope::Tenant(t)),
                None => return Err(Denied::Forbidden),
            }
        } else {
            return Err(Denied::Forbidden);
        };
        Ok(Actor {
            kind,
            user: Some(user),
            session_id: Some(session.id),
            scope,
        })
    }

    pub fn whoami(&self, actor: &Actor) -> types::WhoAmI {
        types::WhoAmI {
            kind: actor.kind.as_str().to_owned(),
            user: actor.user.as_ref().map(|u| types::WhoAmIUser {
                id: u.id.clone(),
                email: u.email.clone(),
                name: u.name.clone(),
                role: u.role.clone(),
            }),
            tenant_id: actor.scope.tenant().map(str::to_owned),
        }
    }
}

/// A page size from the query: the default when absent, 400 outside `1..=max`.
pub fn page_limit(limit: Option<u32>, size: PageSize) -> Result<u32> {
    match limit {
        None => Ok(size.default),
        Some(n) if (1..=size.max).contains(&n) => Ok(n),
        Some(n) => Err(Error::Validation(format!(
            "limit must be between 1 and {}, got {n}",
            size.max
        ))),
    }
}

/// Rejects empty, oversized and control-character free-text inputs, naming the field
/// ([`input::check`], the one rule for text that reaches a query).
pub(crate) fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => {
            input::check(&v, max).map_err(|r| Error::Validation(r.message(field)))?;
            Ok(Some(v))
        }
    }
}

/// One required id or token (path segment or body field), checked as [`text`] checks.
pub(crate) fn required(field: &str, value: &str, max: usize) -> Result<()> {
    input::check(value, max).map_err(|r| Error::Validation(r.message(field)))
}

pub(crate) fn invalid_cursor() -> Error {
    Error::BadRequest {
        code: "INVALID_CURSOR",
        message: "The cursor is not one this server issued".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_actor(t: &str) -> Actor {
        Actor {
            kind: CallerKind::TenantAdmin,
            user: None,
            session_id: None,
            scope: Scope::Tenant(t.into()),
        }
    }

    #[test]
    fn tenant_admins_cannot_name_another_tenant() {
        let a = tenant_actor("a");
        assert_eq!(a.narrow(None).unwrap(), Scope::Tenant("a".into()));
        assert_eq!(a.narrow(Some("a")).unwrap(), Scope::Tenant("a".into()));
        assert!(matches!(a.narrow(Some("b")), Err(Error::Forbidden { .. })));
        let g = Actor::service();
        assert_eq!(g.narrow(None).unwrap(), Scope::All);
        assert_eq!(g.narrow(Some("b")).unwrap(), Scope::Tenant("b".into()));
        assert!(matches!(g.narrow(Some("")), Err(Error::Validation(_))));
    }

    #[test]
    fn page_limits_are_bounded() {
        let size = PageSize {
            default: 50,
            max: 500,
        };
        assert_eq!(page_limit(None, size).unwrap(), 50);
        assert_eq!(page_limit(Some(500), size).unwrap(), 500);
        assert!(page_limit(Some(0), size).is_err());
        assert!(page_limit(Some(501), size).is_err());
    }
}
