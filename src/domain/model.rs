//! Better Auth's `user` and `session` rows, and their JSON shapes
//! (docs/better-auth-compat.md §1.2, §4.1).

use super::timefmt::{iso, iso_opt};
use serde::Serialize;
use time::OffsetDateTime;

/// A `user` row. Serialises exactly as Better Auth's user output with the admin plugin, in its
/// field order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    #[serde(with = "iso")]
    pub created_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub updated_at: OffsetDateTime,
    pub role: Option<String>,
    pub banned: Option<bool>,
    pub ban_reason: Option<String>,
    #[serde(with = "iso_opt")]
    pub ban_expires: Option<OffsetDateTime>,
    pub id: String,
    /// Our own nullable column; not part of Better Auth's output.
    #[serde(skip)]
    pub tenant_id: Option<String>,
}

impl User {
    /// Roles are one comma-joined string, as the admin plugin stores them.
    pub fn has_role(&self, role: &str) -> bool {
        self.role
            .as_deref()
            .is_some_and(|r| r.split(',').any(|x| x.trim().eq_ignore_ascii_case(role)))
    }
}

/// What a sign-up or `users create` supplies.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub image: Option<String>,
    pub role: Option<String>,
    pub tenant_id: Option<String>,
}

/// A `session` row. `token` holds the stored key (a hash in owned mode), never shown as is.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: String,
    pub impersonated_by: Option<String>,
    pub active_organization_id: Option<String>,
}

impl Session {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at < now
    }

    /// The JSON Better Auth returns for a session, with `token` replaced by what the caller may
    /// see (the raw token of the caller's own session, or an opaque handle).
    pub fn to_json<'a>(&'a self, shown_token: &'a str) -> SessionJson<'a> {
        SessionJson {
            expires_at: self.expires_at,
            token: shown_token,
            created_at: self.created_at,
            updated_at: self.updated_at,
            ip_address: self.ip_address.as_deref(),
            user_agent: self.user_agent.as_deref(),
            user_id: &self.user_id,
            impersonated_by: self.impersonated_by.as_deref(),
            active_organization_id: self.active_organization_id.as_deref(),
            id: &self.id,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson<'a> {
    #[serde(with = "iso")]
    pub expires_at: OffsetDateTime,
    pub token: &'a str,
    #[serde(with = "iso")]
    pub created_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub updated_at: OffsetDateTime,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub user_id: &'a str,
    pub impersonated_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_organization_id: Option<&'a str>,
    pub id: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionWithUser {
    pub session: Session,
    pub user: User,
}
