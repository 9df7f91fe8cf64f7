//! Better Auth's `rateLimit` table (its `rateLimit.storage: "database"`): one row per key with
//! `count` and `lastRequest` (ms), so a Node app and any number of sessionkeeper instances on one
//! database share the counters. Its own migrations create the same table with the same DDL
//! (docs/better-auth-compat.md §1.4), on both backends.

use super::Result;
use super::engine::{Args, Engine, Read};
use super::sql_store::SqlStore;
use crate::domain::rate_limit::{Counter, Rule, Step, retry_after};
use async_trait::async_trait;

/// Exactly what Better Auth 1.7.25's migration emits on PostgreSQL and SQLite.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS \"rateLimit\" (\"id\" text not null primary key, \"key\" text not null unique, \"count\" integer not null, \"lastRequest\" bigint not null)";

/// Better Auth's read-decide-write as one statement: a new key starts at 1, a key quiet for a
/// whole window restarts at 1, a key under `max` counts up; a key at `max` is not touched and
/// returns no row (refused).
const CONSUME: &str = "INSERT INTO \"rateLimit\" (\"id\", \"key\", \"count\", \"lastRequest\") VALUES ($1, $2, 1, $3) \
ON CONFLICT (\"key\") DO UPDATE SET \
\"count\" = CASE WHEN $3 - \"rateLimit\".\"lastRequest\" >= $4 THEN 1 ELSE \"rateLimit\".\"count\" + 1 END, \
\"lastRequest\" = $3 \
WHERE $3 - \"rateLimit\".\"lastRequest\" >= $4 OR \"rateLimit\".\"count\" < $5 \
RETURNING CAST(\"count\" AS BIGINT) AS \"count\"";

const READ: &str = "SELECT CAST(\"count\" AS BIGINT) AS \"count\", \"lastRequest\" FROM \"rateLimit\" WHERE \"key\" = $1";
const DELETE: &str = "DELETE FROM \"rateLimit\" WHERE \"key\" = $1";
const PRUNE: &str = "DELETE FROM \"rateLimit\" WHERE \"lastRequest\" < $1";
const LIST: &str = "SELECT \"key\", CAST(\"count\" AS BIGINT) AS \"count\", \"lastRequest\" FROM \"rateLimit\" \
WHERE \"key\" LIKE $1 ESCAPE '\\' AND \"lastRequest\" >= $2 ORDER BY \"key\" LIMIT $3";

#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Creates Better Auth's `rateLimit` table when it is missing.
    async fn ensure_rate_limit_table(&self) -> Result<()>;
    /// Counts one request under `key`.
    async fn consume_rate_limit(&self, key: &str, rule: Rule, now_ms: i64) -> Result<Step>;
    async fn read_rate_limit(&self, key: &str) -> Result<Option<Counter>>;
    async fn delete_rate_limit(&self, key: &str) -> Result<bool>;
    /// Rows whose key starts with `prefix` and whose last request is at or after `since_ms`.
    async fn list_rate_limits(
        &self,
        prefix: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<(String, Counter)>>;
    /// Deletes rows whose last request is before `before_ms`, as Better Auth does.
    async fn prune_rate_limits(&self, before_ms: i64) -> Result<u64>;
}

fn counter(row: &impl Read) -> std::result::Result<Counter, sqlx::Error> {
    Ok(Counter {
        count: u32::try_from(row.int("count")?).unwrap_or(u32::MAX),
        last_request: row.int("lastRequest")?,
    })
}

#[async_trait]
impl<DB: Engine> RateLimitStore for SqlStore<DB> {
    async fn ensure_rate_limit_table(&self) -> Result<()> {
        self.execute(CREATE, Args::new()).await?;
        Ok(())
    }

    async fn consume_rate_limit(&self, key: &str, rule: Rule, now_ms: i64) -> Result<Step> {
        let window_ms = i64::from(rule.window) * 1000;
        // A row pruned between the two statements is simply counted again.
        for _ in 0..3 {
            let args = Args::new()
                .text(&crate::domain::ids::new_id())
                .text(key)
                .int(now_ms)
                .int(window_ms)
                .int(i64::from(rule.max));
            if let Some(row) = self.fetch_optional(CONSUME, args).await? {
                return Ok(Step::Allow(Counter {
                    count: u32::try_from(row.int("count")?).unwrap_or(u32::MAX),
                    last_request: now_ms,
                }));
            }
            if let Some(c) = self.read_rate_limit(key).await? {
                return Ok(Step::Refuse {
                    retry_after: retry_after(c.last_request, rule.window, now_ms),
                });
            }
        }
        Ok(Step::Refuse {
            retry_after: u64::from(rule.window),
        })
    }

    async fn read_rate_limit(&self, key: &str) -> Result<Option<Counter>> {
        let row = self.fetch_optional(READ, Args::new().text(key)).await?;
        Ok(row.map(|r| counter(&r)).transpose()?)
    }

    async fn delete_rate_limit(&self, key: &str) -> Result<bool> {
        Ok(self.execute(DELETE, Args::new().text(key)).await? > 0)
    }

    async fn list_rate_limits(
        &self,
        prefix: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<(String, Counter)>> {
        let mut pattern = String::with_capacity(prefix.len() + 1);
        for c in prefix.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        let args = Args::new()
            .text(&pattern)
            .int(since_ms)
            .int(i64::from(limit));
        let rows = self.fetch_all(LIST, args).await?;
        rows.iter()
            .map(|r| Ok((r.text("key")?, counter(r)?)))
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    async fn prune_rate_limits(&self, before_ms: i64) -> Result<u64> {
        Ok(self.execute(PRUNE, Args::new().int(before_ms)).await?)
    }
}
