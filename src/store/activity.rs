//! Sessions' last activity (`sessionkeeper_activity`, our own table keyed by session
//! id, so it works unchanged in shared mode): the batched write of the in-memory tracker.

use super::Result;
use super::engine::{Args, Engine};
use super::sql_store::SqlStore;
use crate::store::Backend;

/// One flush: every pending session in one statement. The rows travel as one JSON array of
/// `[sessionId, lastActiveAtMs]` pairs; a row only ever moves forward, so when two instances
/// race the later time wins whatever order their flushes land in.
const UPSERT_TAIL: &str = " ON CONFLICT (\"sessionId\") DO UPDATE SET \"lastActiveAt\" = excluded.\"lastActiveAt\" \
     WHERE \"sessionkeeper_activity\".\"lastActiveAt\" < excluded.\"lastActiveAt\"";

fn upsert_sql(backend: Backend) -> &'static str {
    static SQLITE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static POSTGRES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match backend {
        // `WHERE true`: SQLite's parser needs it between `INSERT ... SELECT` and `ON CONFLICT`.
        Backend::Sqlite => SQLITE.get_or_init(|| {
            format!(
                "INSERT INTO \"sessionkeeper_activity\" (\"sessionId\", \"lastActiveAt\") \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1) WHERE true{UPSERT_TAIL}"
            )
        }),
        Backend::Postgres => POSTGRES.get_or_init(|| {
            format!(
                "INSERT INTO \"sessionkeeper_activity\" (\"sessionId\", \"lastActiveAt\") \
                 SELECT e->>0, (e->>1)::bigint FROM json_array_elements($1::text::json) e{UPSERT_TAIL}"
            )
        }),
    }
}

const FIND: &str =
    "SELECT \"lastActiveAt\" AS \"t\" FROM \"sessionkeeper_activity\" WHERE \"sessionId\" = $1";

#[async_trait::async_trait]
pub trait ActivityStore: Send + Sync {
    /// Writes many sessions' last activity (milliseconds since the epoch) in ONE statement,
    /// keeping the later time where a row exists. Returns the rows written or moved forward.
    async fn flush_activity(&self, entries: &[(String, i64)]) -> Result<u64>;
    /// The stored last activity of one session, in milliseconds.
    async fn stored_activity(&self, session_id: &str) -> Result<Option<i64>>;
}

#[async_trait::async_trait]
impl<DB: Engine> ActivityStore for SqlStore<DB> {
    async fn flush_activity(&self, entries: &[(String, i64)]) -> Result<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let payload = serde_json::Value::Array(
            entries
                .iter()
                .map(|(id, t)| serde_json::json!([id, t]))
                .collect(),
        )
        .to_string();
        let args = Args::new().text(&payload);
        Ok(self.execute(upsert_sql(DB::BACKEND), args).await?)
    }

    async fn stored_activity(&self, session_id: &str) -> Result<Option<i64>> {
        let row = self
            .fetch_optional(FIND, Args::new().text(session_id))
            .await?;
        match row {
            Some(r) => Ok(Some(super::engine::Read::int(&r, "t")?)),
            None => Ok(None),
        }
    }
}
