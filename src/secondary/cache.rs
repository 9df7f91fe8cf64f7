//! Owned mode's session cache: the sessions we issue are written to Redis in Better Auth's
//! layout (`<prefix><token>` = `{session, user}` with a TTL, plus the user's `active-sessions`
//! list, as its `createSession` writes them), and get-session reads Redis before the database.
//!
//! The database stays the source of truth: a cache miss falls back to it, and removing an
//! entry only costs the next look-up a database read. So every removal deletes the entry (the
//! same [`SecondaryStorage::remove_sessions`] as shared mode) and a user change drops the user's
//! entries instead of rewriting them. In owned mode the key holds the token's hash, as the
//! `session` table does: Redis never sees a usable token.

use super::{Result, SecondaryStorage, UPDATE_LIST, ttl_seconds, wall_ms};
use crate::domain::model::{Session, SessionWithUser, User};
use crate::domain::timefmt::{iso, iso_opt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The stored `session`, in Better Auth's field order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedSession {
    #[serde(with = "iso")]
    expires_at: OffsetDateTime,
    token: String,
    #[serde(with = "iso")]
    created_at: OffsetDateTime,
    #[serde(with = "iso")]
    updated_at: OffsetDateTime,
    ip_address: Option<String>,
    user_agent: Option<String>,
    user_id: String,
    #[serde(default)]
    impersonated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_organization_id: Option<String>,
    id: String,
}

/// The stored `user`, in Better Auth's field order, plus our own `tenantId` (Better Auth
/// ignores fields it does not know).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedUser {
    name: String,
    email: String,
    email_verified: bool,
    image: Option<String>,
    #[serde(with = "iso")]
    created_at: OffsetDateTime,
    #[serde(with = "iso")]
    updated_at: OffsetDateTime,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    banned: Option<bool>,
    #[serde(default)]
    ban_reason: Option<String>,
    #[serde(default, with = "iso_opt")]
    ban_expires: Option<OffsetDateTime>,
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    session: CachedSession,
    user: CachedUser,
}

impl From<&SessionWithUser> for Cached {
    fn from(d: &SessionWithUser) -> Self {
        let (s, u) = (&d.session, &d.user);
        Cached {
            session: CachedSession {
                expires_at: s.expires_at,
                token: s.token.clone(),
                created_at: s.created_at,
                updated_at: s.updated_at,
                ip_address: s.ip_address.clone(),
                user_agent: s.user_agent.clone(),
                user_id: s.user_id.clone(),
                impersonated_by: s.impersonated_by.clone(),
                active_organization_id: s.active_organization_id.clone(),
                id: s.id.clone(),
            },
            user: CachedUser {
                name: u.name.clone(),
                email: u.email.clone(),
                email_verified: u.email_verified,
                image: u.image.clone(),
                created_at: u.created_at,
                updated_at: u.updated_at,
                role: u.role.clone(),
                banned: u.banned,
                ban_reason: u.ban_reason.clone(),
                ban_expires: u.ban_expires,
                id: u.id.clone(),
                tenant_id: u.tenant_id.clone(),
            },
        }
    }
}

impl From<Cached> for SessionWithUser {
    fn from(c: Cached) -> Self {
        let (s, u) = (c.session, c.user);
        SessionWithUser {
            session: Session {
                id: s.id,
                token: s.token,
                expires_at: s.expires_at,
                created_at: s.created_at,
                updated_at: s.updated_at,
                ip_address: s.ip_address,
                user_agent: s.user_agent,
                user_id: s.user_id,
                impersonated_by: s.impersonated_by,
                active_organization_id: s.active_organization_id,
            },
            user: User {
                name: u.name,
                email: u.email,
                email_verified: u.email_verified,
                image: u.image,
                created_at: u.created_at,
                updated_at: u.updated_at,
                role: u.role,
                banned: u.banned,
                ban_reason: u.ban_reason,
                ban_expires: u.ban_expires,
                id: u.id,
                tenant_id: u.tenant_id,
            },
        }
    }
}

/// A stored `{session, user}` value, `None` when it is not one Better Auth wrote.
pub(super) fn parse_value(raw: &str) -> Option<SessionWithUser> {
    serde_json::from_str::<Cached>(raw)
        .ok()
        .map(SessionWithUser::from)
}

pub(super) fn epoch_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl SecondaryStorage {
    /// The cached session stored under `token` (the stored token), or `None` on a miss. An
    /// unreadable value counts as a miss: the database answers instead.
    pub async fn cached_session(&self, token: &str) -> Result<Option<SessionWithUser>> {
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.token_key(token))
            .query_async(&mut self.conn())
            .await?;
        Ok(raw
            .and_then(|r| serde_json::from_str::<Cached>(&r).ok())
            .map(SessionWithUser::from))
    }

    /// Writes a session as Better Auth's `createSession`/`updateSession` do: the value with a
    /// TTL of the whole seconds left, and the user's list with this token's entry replaced and
    /// expired entries pruned. Nothing is written for a session that has (all but) expired.
    pub async fn put_session(&self, data: &SessionWithUser) -> Result<()> {
        let now = wall_ms();
        let expires = epoch_ms(data.session.expires_at);
        let ttl = ttl_seconds(expires, now);
        if ttl == 0 {
            return Ok(());
        }
        let json = match serde_json::to_string(&Cached::from(data)) {
            Ok(j) => j,
            Err(_) => return Ok(()),
        };
        let token = data.session.token.as_str();
        let mut pipe = redis::pipe();
        pipe.load_script(&UPDATE_LIST).ignore();
        pipe.set_ex(self.token_key(token), json, ttl).ignore();
        let mut call = UPDATE_LIST.key(self.list_key(&data.session.user_id));
        call.arg(now).arg(token).arg(expires);
        pipe.invoke_script(&call).ignore();
        let () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }

    /// Drops the cached values of a user's listed sessions (after a change to the user, so the
    /// next look-up reads the database). The list stays: it only names sessions.
    pub async fn forget_user(&self, user_id: &str) -> Result<()> {
        let refs = self.active_refs(user_id).await?;
        if refs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for r in &refs {
            pipe.del(self.token_key(&r.token)).ignore();
        }
        let () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_session_round_trips() {
        let t = OffsetDateTime::from_unix_timestamp(1_764_547_200)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let data = SessionWithUser {
            session: Session {
                id: "s1".into(),
                token: "h".into(),
                expires_at: t,
                created_at: t,
                updated_at: t,
                ip_address: Some("127.0.0.1".into()),
                user_agent: None,
                user_id: "u1".into(),
                impersonated_by: None,
                active_organization_id: None,
            },
            user: User {
                name: "A".into(),
                email: "a@example.com".into(),
                email_verified: false,
                image: None,
                created_at: t,
                updated_at: t,
                role: Some("user".into()),
                banned: Some(false),
                ban_reason: None,
                ban_expires: None,
                id: "u1".into(),
                tenant_id: Some("t1".into()),
            },
        };
        let json = serde_json::to_string(&Cached::from(&data)).unwrap_or_default();
        assert!(
            json.starts_with(r#"{"session":{"expiresAt":"2025-12-01T00:00:00.000Z","token":"h""#)
        );
        let back = serde_json::from_str::<Cached>(&json).map(SessionWithUser::from);
        assert_eq!(back.ok(), Some(data));
    }
}
