//! Sessions of a Better Auth app that keeps them in Redis only (shared mode,
//! `SESSION_STORAGE=secondary`): there is no session table, so the look-ups, slides and
//! removals the auth and admin paths make go to Redis, in Better Auth's layout, and our
//! termination records and `session.ended` events are written to the database after each
//! removal, as a database delete writes them.

use super::shared::Core;
use super::{Error, Result};
use crate::config::Mode;
use crate::domain::ending::Ending;
use crate::domain::model::{Session, SessionWithUser};
use crate::secondary::layers::tenant_of;
use crate::secondary::{SecondaryStorage, SessionRef};
use std::sync::Arc;
use time::OffsetDateTime;

fn redis_error(e: crate::secondary::SecondaryError) -> Error {
    Error::Secondary(e.to_string())
}

impl Core {
    /// The Node app's Redis when it is the only home of its sessions.
    pub fn redis_alone(&self) -> Option<&Arc<SecondaryStorage>> {
        match self.config().mode {
            Mode::Shared => self.secondary().filter(|r| r.holds_sessions_alone()),
            Mode::Owned => None,
        }
    }

    /// Removes sessions from Redis as Better Auth's `deleteSession` does, then writes what
    /// `end` asks for. Returns how many were removed.
    pub(super) async fn end_in_redis(
        &self,
        redis: &SecondaryStorage,
        sessions: &[Session],
        end: Option<&Ending>,
    ) -> Result<u64> {
        let refs: Vec<SessionRef> = sessions
            .iter()
            .map(|s| SessionRef {
                token: s.token.clone(),
                user_id: Some(s.user_id.clone()),
            })
            .collect();
        let n = redis.remove_sessions(&refs).await.map_err(redis_error)?;
        if let Some(end) = end {
            let schema = self.store().schema();
            let gone: Vec<_> = sessions.iter().map(|s| (s, tenant_of(schema, s))).collect();
            self.store().record_ended(&gone, end).await?;
        }
        Ok(n)
    }

    /// A user's sessions in Redis (expired ones included), oldest first.
    pub(super) async fn redis_user_sessions(
        &self,
        redis: &SecondaryStorage,
        user_id: &str,
    ) -> Result<Vec<Session>> {
        let found = redis.sessions_of(user_id).await.map_err(redis_error)?;
        let mut out: Vec<Session> = found.sessions.into_iter().map(|s| s.session).collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// Removes a user's sessions from Redis, sparing `except` and, with `unexpired_at`, the
    /// sessions already expired then (as the database's `delete_user_sessions`).
    pub(super) async fn end_user_in_redis(
        &self,
        redis: &SecondaryStorage,
        user_id: &str,
        except_id: Option<&str>,
        unexpired_at: Option<OffsetDateTime>,
        end: Option<&Ending>,
    ) -> Result<u64> {
        let sessions: Vec<Session> = self
            .redis_user_sessions(redis, user_id)
            .await?
            .into_iter()
            .filter(|s| Some(s.id.as_str()) != except_id)
            .filter(|s| unexpired_at.is_none_or(|t| s.expires_at > t))
            .collect();
        self.end_in_redis(redis, &sessions, end).await
    }

    /// Writes a new session to Redis in Better Auth's layout (`createSession`: the value with
    /// its TTL, and the user's list), so the Node app accepts it. The per-user limit is applied
    /// first, from the user's list: `deny` refuses when it is full, otherwise the least
    /// recently active sessions go. Unlike the database path this is not serialised per user
    /// across instances: two simultaneous sign-ins of one user may both pass a full limit,
    /// which the cleanup's excess layer corrects. Returns how many sessions were evicted.
    pub(super) async fn issue_in_redis(
        &self,
        redis: &SecondaryStorage,
        data: &SessionWithUser,
        limit: Option<u32>,
        deny: bool,
        evicted: Option<&Ending>,
    ) -> Result<u64> {
        let now = self.now();
        let mut n = 0;
        if let Some(max) = limit {
            let mut live: Vec<Session> = self
                .redis_user_sessions(redis, &data.user.id)
                .await?
                .into_iter()
                .filter(|s| s.expires_at > now)
                .collect();
            let max = max as usize;
            if live.len() >= max {
                if deny {
                    return Err(Error::Forbidden {
                        code: "SESSION_LIMIT_REACHED",
                        message: "Session limit reached: sign out of another session first".into(),
                    });
                }
                live.sort_by(|a, b| {
                    (a.updated_at, a.created_at, &a.id).cmp(&(b.updated_at, b.created_at, &b.id))
                });
                let over = live.len() + 1 - max;
                n = self.end_in_redis(redis, &live[..over], evicted).await?;
            }
        }
        redis.put_session(data).await.map_err(redis_error)?;
        Ok(n)
    }

    /// The session with this id: Redis has no index by id, so the lists are walked a page at
    /// a time (admin paths only).
    pub(super) async fn redis_session_by_id(
        &self,
        redis: &SecondaryStorage,
        id: &str,
    ) -> Result<Option<Session>> {
        let mut walk = crate::secondary::sessions::ListWalk::new(redis);
        while let Some(page) = walk.next_page().await.map_err(redis_error)? {
            if let Some(s) = page
                .into_iter()
                .flat_map(|u| u.sessions)
                .find(|s| s.session.id == id)
            {
                return Ok(Some(s.session));
            }
        }
        Ok(None)
    }
}
