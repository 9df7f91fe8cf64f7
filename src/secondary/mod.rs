//! Better Auth's secondary storage (Redis), in the layout `@better-auth/redis-storage` writes
//! (COMPAT.md §3.5): `<prefix><token>` holds `{session, user}` with a TTL, and
//! `<prefix>active-sessions-<userId>` the user's `[{token, expiresAt}]` list.
//!
//! With `SESSION_STORAGE=both` the Node app reads a session from Redis before the database, so
//! a session we delete from the database lives on there until this module removes it. Removal
//! is a separate step after the database delete ([`SecondaryStorage::remove_sessions`] for
//! known sessions, [`reconcile`] for "whatever the database no longer has"), so a Redis fault
//! never undoes or blocks the database side and the next sweep finishes the job.
//!
//! Client: the `redis` crate's [`ConnectionManager`], one multiplexed connection that
//! reconnects by itself; every command carries a response timeout so a dead Redis fails a
//! request or a cleanup run quickly instead of hanging it.

pub mod cache;
pub mod layers;
pub mod reconcile;
pub mod sessions;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Rewrites one `active-sessions` list the way Better Auth's `setActiveSessionReferences`
/// does (expired and removed entries out, sorted by `expiresAt`, TTL the whole seconds to the
/// last entry, deleted when nothing is left), but inside Redis in one step: two instances
/// changing one user's list at once must not lose each other's entries, or a later user-wide
/// removal, which finds sessions through the list, would miss one. A list we cannot read is
/// left alone. KEYS[1]: the list; ARGV[1]: now (epoch ms); ARGV[2]: a token to add or replace
/// (empty for none); ARGV[3]: its `expiresAt` (ms); ARGV[4..]: tokens to remove.
static UPDATE_LIST: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r#"
local now = tonumber(ARGV[1])
local drop = {}
for i = 4, #ARGV do drop[ARGV[i]] = true end
if ARGV[2] ~= '' then drop[ARGV[2]] = true end
local kept = {}
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, list = pcall(cjson.decode, raw)
  if not ok or type(list) ~= 'table' then return -1 end
  for _, e in ipairs(list) do
    local at = type(e) == 'table' and tonumber(e.expiresAt)
    if at and at > now and type(e.token) == 'string' and not drop[e.token] then
      kept[#kept + 1] = {e.token, at}
    end
  end
end
if ARGV[2] ~= '' then kept[#kept + 1] = {ARGV[2], tonumber(ARGV[3])} end
table.sort(kept, function(a, b) return a[2] < b[2] end)
local ttl = 0
if #kept > 0 then ttl = math.floor((kept[#kept][2] - now) / 1000) end
if ttl <= 0 then
  if raw then redis.call('DEL', KEYS[1]) end
  return 0
end
local parts = {}
for i, e in ipairs(kept) do
  parts[i] = '{"token":' .. cjson.encode(e[1]) .. ',"expiresAt":' .. string.format('%.0f', e[2]) .. '}'
end
redis.call('SET', KEYS[1], '[' .. table.concat(parts, ',') .. ']', 'EX', ttl)
return #kept
"#,
    )
});

/// Longest wait for a Redis reply or connection; a fault fails the operation, never hangs it.
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SecondaryError {
    #[error("secondary storage (Redis) error: {0}")]
    Redis(#[from] redis::RedisError),
}

pub type Result<T, E = SecondaryError> = std::result::Result<T, E>;

/// One entry of an `active-sessions-<userId>` list, field order as Better Auth writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveRef {
    pub token: String,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// A session to remove: its token and, when the caller knows it, its user. Without the user,
/// it is read from the stored value, as Better Auth's `deleteSession` does.
#[derive(Debug, Clone)]
pub struct SessionRef {
    pub token: String,
    pub user_id: Option<String>,
}

/// The part of a stored `{session, user}` value this module reads.
#[derive(Debug, Deserialize)]
struct Stored {
    session: StoredSession,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSession {
    user_id: String,
    /// ISO strings, as `JSON.stringify` writes dates.
    expires_at: Option<String>,
    created_at: Option<String>,
}

impl Stored {
    fn parse(raw: &str) -> Option<Self> {
        serde_json::from_str(raw).ok()
    }
}

/// Epoch milliseconds of an ISO date string.
fn iso_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Redis TTLs run on the wall clock (and so does the Node app), whatever clock the rest of
/// the server was given.
pub fn wall_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub struct SecondaryStorage {
    conn: ConnectionManager,
    prefix: String,
    /// The app keeps its sessions here only (`SESSION_STORAGE=secondary`, no session table).
    alone: bool,
}

impl std::fmt::Debug for SecondaryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondaryStorage")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl SecondaryStorage {
    /// Opens the connection and checks that Redis answers.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        let this = Self {
            conn,
            prefix: prefix.to_owned(),
            alone: false,
        };
        this.ping().await?;
        Ok(this)
    }

    /// Marks this Redis as the only place the app keeps its sessions (`SESSION_STORAGE=secondary`).
    pub fn holding_sessions_alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// Whether the sessions live here only: the cleanup's layers and gauges then read Redis.
    pub fn holds_sessions_alone(&self) -> bool {
        self.alone
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING").query_async(&mut self.conn()).await?;
        Ok(())
    }

    fn token_key(&self, token: &str) -> String {
        format!("{}{token}", self.prefix)
    }

    fn list_key(&self, user_id: &str) -> String {
        format!("{}active-sessions-{user_id}", self.prefix)
    }

    /// A user's `active-sessions` list as stored (expired entries included); empty when absent
    /// or unreadable.
    pub async fn active_refs(&self, user_id: &str) -> Result<Vec<ActiveRef>> {
        let raw: Option<String> = self.conn().get(self.list_key(user_id)).await?;
        Ok(raw.and_then(|r| parse_list(&r)).unwrap_or_default())
    }

    /// Deletes a user's `active-sessions` list, as Better Auth's `deleteSessions` does once
    /// it has removed the sessions the list names (a deleted user has none left to list).
    pub async fn drop_list(&self, user_id: &str) -> Result<()> {
        let _: i64 = self.conn().del(self.list_key(user_id)).await?;
        Ok(())
    }

    /// The stored values of `tokens`, in order (`None` when absent).
    async fn values(&self, tokens: &[&str]) -> Result<Vec<Option<String>>> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = tokens.iter().map(|t| self.token_key(t)).collect();
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.get(k);
        }
        Ok(pipe.query_async(&mut self.conn()).await?)
    }

    /// Removes sessions as Better Auth's `deleteSession` does: each user's list loses the
    /// removed tokens and its expired entries, sorted by `expiresAt` and kept until its last
    /// entry expires (deleted when nothing is left), then the session keys go. Batched: one
    /// round trip for missing user ids, one for the lists, one for the writes.
    pub async fn remove_sessions(&self, refs: &[SessionRef]) -> Result<u64> {
        if refs.is_empty() {
            return Ok(0);
        }
        let now = wall_ms();
        let unknown: Vec<&str> = refs
            .iter()
            .filter(|r| r.user_id.is_none())
            .map(|r| r.token.as_str())
            .collect();
        let read: HashMap<&str, String> = unknown
            .iter()
            .copied()
            .zip(self.values(&unknown).await?)
            .filter_map(|(t, v)| Some((t, Stored::parse(&v?)?.session.user_id)))
            .collect();
        let mut by_user: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for r in refs {
            let user = r
                .user_id
                .as_deref()
                .or_else(|| read.get(r.token.as_str()).map(String::as_str));
            if let Some(user) = user {
                by_user.entry(user).or_default().insert(r.token.as_str());
            }
        }
        let mut pipe = redis::pipe();
        pipe.load_script(&UPDATE_LIST).ignore();
        for (user, removed) in &by_user {
            let mut call = UPDATE_LIST.key(self.list_key(user));
            call.arg(now).arg("").arg(0);
            for t in removed {
                call.arg(*t);
            }
            pipe.invoke_script(&call).ignore();
        }
        for r in refs {
            pipe.del(self.token_key(&r.token)).ignore();
        }
        let () = pipe.query_async(&mut self.conn()).await?;
        Ok(refs.len() as u64)
    }

    /// The parsed lists of `users`, in order (`None` when absent or unreadable).
    async fn lists(&self, users: &[&str]) -> Result<Vec<Option<Vec<ActiveRef>>>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for u in users {
            pipe.get(self.list_key(u));
        }
        let raw: Vec<Option<String>> = pipe.query_async(&mut self.conn()).await?;
        Ok(raw
            .into_iter()
            .map(|r| r.and_then(|r| parse_list(&r)))
            .collect())
    }

    /// Better Auth's `setActiveSessionReferences`: sorted ascending by `expiresAt`, TTL the
    /// whole seconds until the last one expires, deleted when that is not positive.
    fn write_list(
        &self,
        pipe: &mut redis::Pipeline,
        user: &str,
        mut list: Vec<ActiveRef>,
        now: i64,
    ) {
        list.sort_by_key(|e| e.expires_at);
        let ttl = list.last().map_or(0, |e| ttl_seconds(e.expires_at, now));
        let key = self.list_key(user);
        match serde_json::to_string(&list) {
            Ok(json) if ttl > 0 => {
                pipe.set_ex(key, json, ttl).ignore();
            }
            _ => {
                pipe.del(key).ignore();
            }
        }
    }
}

/// Better Auth's `getTTLSeconds`: whole seconds until `expires_ms`, never negative.
fn ttl_seconds(expires_ms: i64, now: i64) -> u64 {
    u64::try_from((expires_ms - now).div_euclid(1000)).unwrap_or(0)
}

fn parse_list(raw: &str) -> Option<Vec<ActiveRef>> {
    serde_json::from_str(raw).ok()
}

/// Escapes the glob characters of a key prefix for `SCAN MATCH`.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trips_in_better_auths_field_order() {
        let raw = r#"[{"token":"a","expiresAt":1764547200123}]"#;
        let list = parse_list(raw).unwrap_or_default();
        assert_eq!(list.len(), 1);
        assert_eq!(serde_json::to_string(&list).unwrap_or_default(), raw);
    }

    #[test]
    fn ttl_floors_like_better_auth() {
        assert_eq!(ttl_seconds(10_999, 0), 10);
        assert_eq!(ttl_seconds(999, 0), 0);
        assert_eq!(ttl_seconds(-5, 0), 0);
    }

    #[test]
    fn prefix_globs_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn stored_value_gives_user_and_dates() {
        let raw = r#"{"session":{"userId":"u1","expiresAt":"2026-12-01T00:00:00.000Z","createdAt":"2026-11-30T00:00:00.000Z"},"user":{}}"#;
        let s = Stored::parse(raw).map(|s| s.session);
        assert_eq!(s.as_ref().map(|s| s.user_id.as_str()), Some("u1"));
        assert!(
            s.and_then(|s| s.expires_at)
                .and_then(|e| iso_ms(&e))
                .is_some()
        );
    }
}
