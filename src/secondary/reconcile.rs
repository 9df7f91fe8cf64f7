//! Brings Redis in line with the database after removals (`SESSION_STORAGE=both`): a session
//! listed in Redis whose row the database no longer has was removed by us (or by the Node
//! app) and is removed from Redis too. This needs no change to the delete statements and heals
//! what an earlier Redis fault left behind.

use super::{
    ActiveRef, Result, SecondaryError, SecondaryStorage, SessionRef, glob_escape, wall_ms,
};
use crate::store::{Store, StoreError};
use std::collections::HashSet;

/// `SCAN ... COUNT`: keys Redis looks at per call, so one call stays well under a millisecond.
const SCAN_COUNT: usize = 250;
/// Database look-ups in flight at once (the store batches concurrent look-ups).
const LOOKUPS_IN_FLIGHT: usize = 32;
/// A session created this recently and missing from the database is looked up once more after
/// [`RECHECK`] before it goes: Better Auth writes the row first and Redis second, but inside a
/// transaction the row is not visible until it commits.
const SWEEP_GRACE_MS: i64 = 60_000;
const RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepCounts {
    /// `active-sessions` lists looked at.
    pub lists: u64,
    /// Sessions removed from Redis because the database no longer has them.
    pub removed: u64,
    /// Expired session keys and lists left without a TTL (Better Auth #10992), cleaned.
    pub floored: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Secondary(#[from] SecondaryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which of `tokens` still have a database row.
async fn existing(store: &dyn Store, tokens: &[&str]) -> Result<HashSet<String>, StoreError> {
    let mut out = HashSet::new();
    for chunk in tokens.chunks(LOOKUPS_IN_FLIGHT) {
        let found = futures::future::join_all(chunk.iter().map(|t| store.find_session(t))).await;
        for (t, f) in chunk.iter().zip(found) {
            if f?.is_some() {
                out.insert((*t).to_owned());
            }
        }
    }
    Ok(out)
}

/// After a user-wide removal (revoke all, ban, user deletion): the user's listed sessions the
/// database no longer has leave Redis. Returns how many.
pub async fn reconcile_user(
    redis: &SecondaryStorage,
    store: &dyn Store,
    user_id: &str,
) -> Result<u64, ReconcileError> {
    let refs = redis.active_refs(user_id).await?;
    let tokens: Vec<&str> = refs.iter().map(|r| r.token.as_str()).collect();
    let alive = existing(store, &tokens).await?;
    let gone: Vec<SessionRef> = refs
        .iter()
        .filter(|r| !alive.contains(&r.token))
        .map(|r| SessionRef {
            token: r.token.clone(),
            user_id: Some(user_id.to_owned()),
        })
        .collect();
    Ok(redis.remove_sessions(&gone).await?)
}

/// Walks every `active-sessions` list with `SCAN` (never `KEYS`), a page at a time with
/// pipelined reads, and removes from Redis the listed sessions the database no longer has.
/// Also cleans what Better Auth left without a TTL (#10992): expired session keys and lists.
pub async fn sweep(
    redis: &SecondaryStorage,
    store: &dyn Store,
) -> Result<SweepCounts, ReconcileError> {
    let mut sweep = Sweep::new(redis);
    while !sweep.next_page(store).await? {}
    Ok(sweep.counts)
}

/// A [`sweep`] driven a page at a time, so that the cleanup can renew its lease, pause and
/// stop between pages.
pub struct Sweep<'a> {
    redis: &'a SecondaryStorage,
    pattern: String,
    list_prefix: String,
    cursor: u64,
    pub counts: SweepCounts,
}

impl<'a> Sweep<'a> {
    pub fn new(redis: &'a SecondaryStorage) -> Self {
        Self {
            pattern: format!("{}active-sessions-*", glob_escape(redis.prefix())),
            list_prefix: format!("{}active-sessions-", redis.prefix()),
            redis,
            cursor: 0,
            counts: SweepCounts::default(),
        }
    }

    /// One `SCAN` call and what its keys need; true once the walk is complete.
    pub async fn next_page(&mut self, store: &dyn Store) -> Result<bool, ReconcileError> {
        let redis = self.redis;
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(self.cursor)
            .arg("MATCH")
            .arg(&self.pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut redis.conn())
            .await
            .map_err(SecondaryError::from)?;
        let users: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&self.list_prefix))
            .collect();
        sweep_page(redis, store, &users, &mut self.counts).await?;
        self.cursor = next;
        Ok(next == 0)
    }
}

async fn sweep_page(
    redis: &SecondaryStorage,
    store: &dyn Store,
    users: &[&str],
    counts: &mut SweepCounts,
) -> Result<(), ReconcileError> {
    if users.is_empty() {
        return Ok(());
    }
    let now = wall_ms();
    let lists = redis.lists(users).await?;
    let list_ttls = pttls(redis, users.iter().map(|u| redis.list_key(u))).await?;
    counts.lists += users.len() as u64;
    let listed: Vec<(&str, &ActiveRef)> = users
        .iter()
        .zip(&lists)
        .filter_map(|(u, l)| Some((*u, l.as_ref()?)))
        .flat_map(|(u, l)| l.iter().map(move |e| (u, e)))
        .collect();
    let live: Vec<&str> = listed
        .iter()
        .filter(|(_, e)| e.expires_at > now)
        .map(|(_, e)| e.token.as_str())
        .collect();
    let alive = existing(store, &live).await?;
    // The candidates: live entries the database lacks, and expired entries (whose keys are
    // looked at for a missing TTL).
    let candidates: Vec<(&str, &ActiveRef)> = listed
        .iter()
        .copied()
        .filter(|(_, e)| e.expires_at <= now || !alive.contains(&e.token))
        .collect();
    let tokens: Vec<&str> = candidates.iter().map(|(_, e)| e.token.as_str()).collect();
    let values = redis.values(&tokens).await?;
    let ttls = pttls(redis, tokens.iter().map(|t| redis.token_key(t))).await?;
    let mut remove = Vec::new();
    let mut young = Vec::new();
    let mut floored = Vec::new();
    for (((user, entry), value), ttl) in candidates.iter().zip(&values).zip(&ttls) {
        let stored = value.as_deref().and_then(super::Stored::parse);
        if entry.expires_at > now {
            let created = stored
                .as_ref()
                .and_then(|s| s.session.created_at.as_deref())
                .and_then(super::iso_ms);
            let r = SessionRef {
                token: entry.token.clone(),
                user_id: Some((*user).to_owned()),
            };
            if created.is_some_and(|c| now - c < SWEEP_GRACE_MS) {
                young.push(r);
            } else {
                remove.push(r);
            }
        } else if *ttl == -1 {
            let expired = stored
                .as_ref()
                .and_then(|s| s.session.expires_at.as_deref())
                .and_then(super::iso_ms)
                .is_none_or(|e| e <= now);
            if expired {
                floored.push(entry.token.clone());
            }
        }
    }
    if !young.is_empty() {
        tokio::time::sleep(RECHECK).await;
        let tokens: Vec<&str> = young.iter().map(|r| r.token.as_str()).collect();
        let committed = existing(store, &tokens).await?;
        remove.extend(young.into_iter().filter(|r| !committed.contains(&r.token)));
    }
    counts.removed += redis.remove_sessions(&remove).await?;
    // Lists without a TTL are rewritten the way Better Auth rewrites them, which gives them
    // one (or deletes them when nothing in them is live).
    let removed: HashSet<&str> = remove.iter().map(|r| r.token.as_str()).collect();
    let mut pipe = redis::pipe();
    let mut writes = 0u64;
    for ((user, list), ttl) in users.iter().zip(lists).zip(&list_ttls) {
        if *ttl != -1 {
            continue;
        }
        let Some(list) = list else { continue };
        let kept = list
            .into_iter()
            .filter(|e| e.expires_at > now && !removed.contains(e.token.as_str()))
            .collect();
        redis.write_list(&mut pipe, user, kept, now);
        writes += 1;
    }
    for t in &floored {
        pipe.del(redis.token_key(t)).ignore();
        writes += 1;
    }
    if writes > 0 {
        let () = pipe
            .query_async(&mut redis.conn())
            .await
            .map_err(SecondaryError::from)?;
    }
    counts.floored += writes;
    Ok(())
}

/// `PTTL` of each key, in one round trip: -1 for no expiry, -2 for absent.
async fn pttls(
    redis: &SecondaryStorage,
    keys: impl Iterator<Item = String>,
) -> Result<Vec<i64>, ReconcileError> {
    let mut pipe = redis::pipe();
    let mut n = 0;
    for k in keys {
        pipe.cmd("PTTL").arg(k);
        n += 1;
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(pipe
        .query_async(&mut redis.conn())
        .await
        .map_err(SecondaryError::from)?)
}
