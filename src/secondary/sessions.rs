//! The sessions of an app that keeps them in Redis only (`SESSION_STORAGE=secondary`), read a
//! page of users at a time: one `SCAN` call over the `active-sessions-*` lists (never `KEYS`),
//! then the listed `<prefix><token>` values and their TTLs in pipelines of bounded size. A
//! user's sessions all come from one list, so each page holds whole users, which is what the
//! excess layer decides on.

use super::cache::epoch_ms;
use super::{
    ActiveRef, Result, SecondaryStorage, SessionRef, UPDATE_LIST, glob_escape, ttl_seconds, wall_ms,
};
use crate::domain::cleanup_plan::SessionMeta;
use crate::domain::model::Session;
use crate::domain::timefmt;
use redis::AsyncCommands;
use time::OffsetDateTime;

/// `SCAN ... COUNT`: keys Redis looks at per call, so one call stays well under a millisecond.
const SCAN_COUNT: usize = 250;
/// Reads per pipeline: a page's values go in pipelines of this many `GET`s and `PTTL`s.
const READS_PER_PIPELINE: usize = 500;

/// One session as Better Auth stored it in Redis.
#[derive(Debug, Clone)]
pub struct RedisSession {
    pub token: String,
    pub meta: SessionMeta,
    pub session: Session,
    /// The user's email and name as the value holds them.
    pub email: String,
    pub name: String,
    /// `PTTL` of its key: -1 when Better Auth floored its TTL to "no expiry" (#10992).
    pub pttl: i64,
}

/// A user's listed sessions.
#[derive(Debug, Clone)]
pub struct UserSessions {
    pub user_id: String,
    pub sessions: Vec<RedisSession>,
    /// Listed tokens whose value is gone or unreadable: not sessions, only list entries.
    pub dangling: Vec<String>,
}

impl UserSessions {
    /// References for removing `tokens` of this user (the list is rewritten without them).
    pub fn refs<'a>(&self, tokens: impl IntoIterator<Item = &'a str>) -> Vec<SessionRef> {
        tokens
            .into_iter()
            .map(|t| SessionRef {
                token: t.to_owned(),
                user_id: Some(self.user_id.clone()),
            })
            .collect()
    }
}

/// A stored value's session, `None` when it is not one Better Auth wrote.
fn parse_session(token: &str, raw: &str, pttl: i64) -> Option<RedisSession> {
    let value = super::cache::parse_value(raw)?;
    let s = value.session;
    Some(RedisSession {
        email: value.user.email,
        name: value.user.name,
        token: token.to_owned(),
        meta: SessionMeta {
            id: s.id.clone(),
            user_id: s.user_id.clone(),
            expires_at: s.expires_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        },
        session: s,
        pttl,
    })
}

/// A walk over every user's list, a page at a time.
pub struct ListWalk<'a> {
    redis: &'a SecondaryStorage,
    pattern: String,
    list_prefix: String,
    cursor: u64,
    done: bool,
}

impl<'a> ListWalk<'a> {
    pub fn new(redis: &'a SecondaryStorage) -> Self {
        Self::starting_at(redis, 0)
    }

    /// A walk resumed at a `SCAN` cursor an earlier walk reported (0 is the start).
    pub fn starting_at(redis: &'a SecondaryStorage, cursor: u64) -> Self {
        Self {
            pattern: format!("{}active-sessions-*", glob_escape(redis.prefix())),
            list_prefix: format!("{}active-sessions-", redis.prefix()),
            redis,
            cursor,
            done: false,
        }
    }

    /// The `SCAN` cursor the next page starts from; 0 once the walk is complete.
    pub fn cursor(&self) -> u64 {
        if self.done { 0 } else { self.cursor }
    }

    /// Whether every page has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next page's users with their sessions; `None` once the walk is complete. A page
    /// may be empty (`SCAN` found no list in the slots it looked at).
    pub async fn next_page(&mut self) -> Result<Option<Vec<UserSessions>>> {
        if self.done {
            return Ok(None);
        }
        let redis = self.redis;
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(self.cursor)
            .arg("MATCH")
            .arg(&self.pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut redis.conn())
            .await?;
        self.cursor = next;
        self.done = next == 0;
        let users: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&self.list_prefix))
            .collect();
        let lists = redis.lists(&users).await?;
        let listed: Vec<(&str, Vec<ActiveRef>)> = users
            .into_iter()
            .zip(lists)
            .map(|(u, l)| (u, l.unwrap_or_default()))
            .collect();
        redis.read_users(&listed).await.map(Some)
    }
}

impl SecondaryStorage {
    /// The sessions each user's list names, with the entries that name nothing; the values
    /// and TTLs of all the users are read together, in pipelines of bounded size.
    async fn read_users(&self, listed: &[(&str, Vec<ActiveRef>)]) -> Result<Vec<UserSessions>> {
        let entries: Vec<(usize, &ActiveRef)> = listed
            .iter()
            .enumerate()
            .flat_map(|(i, (_, list))| list.iter().map(move |e| (i, e)))
            .collect();
        let mut out: Vec<UserSessions> = listed
            .iter()
            .map(|(u, list)| UserSessions {
                user_id: (*u).to_owned(),
                sessions: Vec::with_capacity(list.len()),
                dangling: Vec::new(),
            })
            .collect();
        for chunk in entries.chunks(READS_PER_PIPELINE / 2) {
            let mut pipe = redis::pipe();
            for (_, e) in chunk {
                let key = self.token_key(&e.token);
                pipe.get(&key);
                pipe.cmd("PTTL").arg(key);
            }
            let replies: Vec<redis::Value> = pipe.query_async(&mut self.conn()).await?;
            for ((i, e), pair) in chunk.iter().zip(replies.chunks(2)) {
                let raw: Option<String> = pair
                    .first()
                    .and_then(|v| redis::from_redis_value(v.clone()).ok());
                let pttl: i64 = pair
                    .get(1)
                    .and_then(|v| redis::from_redis_value(v.clone()).ok())
                    .unwrap_or(-2);
                let Some(user) = out.get_mut(*i) else {
                    continue;
                };
                match raw.and_then(|r| parse_session(&e.token, &r, pttl)) {
                    Some(s) if s.meta.user_id == user.user_id => user.sessions.push(s),
                    _ => user.dangling.push(e.token.clone()),
                }
            }
        }
        Ok(out)
    }

    /// A user's sessions, read through the user's list.
    pub async fn sessions_of(&self, user_id: &str) -> Result<UserSessions> {
        let list = self.active_refs(user_id).await?;
        let mut read = self.read_users(&[(user_id, list)]).await?;
        Ok(read.pop().unwrap_or_else(|| UserSessions {
            user_id: user_id.to_owned(),
            sessions: Vec::new(),
            dangling: Vec::new(),
        }))
    }
}

impl SecondaryStorage {
    /// A slide, as Better Auth's `updateSession` writes it: the stored value keeps every field
    /// but `expiresAt` and `updatedAt`, takes the TTL of the new expiry, and the user's list
    /// entry moves with it. Written only over a value that is still there (`SET ... XX`), so a
    /// removal in between is not undone; false when it was gone.
    pub async fn slide_session(
        &self,
        token: &str,
        user_id: &str,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Result<bool> {
        let key = self.token_key(token);
        let raw: Option<String> = self.conn().get(&key).await?;
        let Some(mut value) = raw.and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
        else {
            return Ok(false);
        };
        let Some(session) = value.get_mut("session").and_then(|s| s.as_object_mut()) else {
            return Ok(false);
        };
        session.insert("expiresAt".into(), timefmt::format(expires_at).into());
        session.insert("updatedAt".into(), timefmt::format(updated_at).into());
        let now = wall_ms();
        let expires = epoch_ms(expires_at);
        let ttl = ttl_seconds(expires, now);
        if ttl == 0 {
            return Ok(false);
        }
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(value.to_string())
            .arg("EX")
            .arg(ttl)
            .arg("XX")
            .query_async(&mut self.conn())
            .await?;
        if set.is_none() {
            return Ok(false);
        }
        let mut call = UPDATE_LIST.key(self.list_key(user_id));
        call.arg(now).arg(token).arg(expires);
        let _: i64 = call.invoke_async(&mut self.conn()).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_better_auth_value_parses_and_junk_does_not() {
        let raw = r#"{"session":{"id":"s1","token":"t","userId":"u1","expiresAt":"2026-12-08T00:00:00.000Z","createdAt":"2026-12-01T00:00:00.000Z","updatedAt":"2026-12-01T00:00:01.500Z","ipAddress":null,"userAgent":null},"user":{"name":"A","email":"a@example.com","emailVerified":false,"image":null,"createdAt":"2026-12-01T00:00:00.000Z","updatedAt":"2026-12-01T00:00:00.000Z","id":"u1"}}"#;
        let s = parse_session("t", raw, -1).map(|s| s.meta);
        assert_eq!(s.as_ref().map(|m| m.id.as_str()), Some("s1"));
        assert_eq!(
            s.map(|m| m.updated_at.unix_timestamp_nanos() / 1_000_000),
            Some(1_796_083_201_500)
        );
        assert!(parse_session("t", r#"{"session":{"id":"s1"}}"#, 10).is_none());
        assert!(parse_session("t", "not json", 10).is_none());
    }
}
