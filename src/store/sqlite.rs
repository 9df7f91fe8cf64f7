//! SQLite: the embedded default. Dates are Better Auth's ISO text, booleans 0/1.

use super::common::impl_store;
use super::lookup_batch::{LookupSql, SessionLookups};
use super::lookup_pool::LookupPool;
use super::queries::Queries;
use super::{Schema, StoreError};
use crate::config::Mode;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) lookups: LookupPool<Sqlite>,
    pub(crate) sessions: SessionLookups<Sqlite>,
    pub(crate) q: Queries,
    pub(crate) schema: Schema,
}

impl SqliteStore {
    pub async fn connect(
        url: &str,
        max_connections: u32,
        schema: Schema,
    ) -> Result<Self, StoreError> {
        Self::connect_with(url, max_connections, schema, true).await
    }

    /// `owned`: create the file when missing and switch it to WAL (readers never block the
    /// writer). A shared file must exist already, and keeps the journal mode its app chose:
    /// without WAL, synchronous stays FULL, since NORMAL is only crash-safe with WAL.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        schema: Schema,
        owned: bool,
    ) -> Result<Self, StoreError> {
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(owned)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if owned {
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
        }
        let pool = super::pool::options::<Sqlite>()
            .max_connections(super::pool::general_size(max_connections))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let lookups = LookupPool::new(
            pool.connect_options(),
            super::pool::lookup_size(max_connections),
            pool.options().get_acquire_timeout(),
        );
        Ok(Self::with_pools(pool, lookups, schema))
    }

    /// Session checks get connections of their own (see [`SessionLookups`]) besides `pool`.
    pub fn from_pool(pool: SqlitePool, schema: Schema) -> Self {
        let timeout = pool.options().get_acquire_timeout();
        let lookups = LookupPool::new(pool.connect_options(), super::lookup_batch::LANES, timeout);
        Self::with_pools(pool, lookups, schema)
    }

    pub(crate) fn with_pools(
        pool: SqlitePool,
        lookups: LookupPool<Sqlite>,
        schema: Schema,
    ) -> Self {
        let q = Queries::new(&schema);
        let sessions = SessionLookups::new(
            lookups.clone(),
            LookupSql {
                one: q.find_session_with_user,
                many: q.find_sessions_json,
            },
            fetch_sessions,
        );
        Self {
            q,
            pool,
            lookups,
            sessions,
            schema,
        }
    }

    /// Tokens of a batched session check, bound as one JSON array for `json_each`.
    fn tokens_param(tokens: &[&str]) -> Result<String, sqlx::Error> {
        serde_json::to_string(tokens).map_err(|e| sqlx::Error::Encode(Box::new(e)))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front: a deferred transaction that reads then
    /// writes fails with SQLITE_BUSY instead of waiting when another writer got in first.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The immediate transaction already serialises writers.
    async fn lock_user(
        _tx: &mut Transaction<'static, Sqlite>,
        _sql: &'static str,
        _user_id: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    async fn run_migrations(&self, mode: Mode) -> Result<(), StoreError> {
        if mode == Mode::Owned {
            let mut auth = sqlx::migrate!("./migrations/sqlite/auth");
            auth.dangerous_set_table_name("sessionkeeper_auth_migrations");
            auth.run(&self.pool).await?;
        }
        let mut own = sqlx::migrate!("./migrations/sqlite/own");
        own.dangerous_set_table_name("sessionkeeper_migrations");
        own.run(&self.pool).await?;
        Ok(())
    }
}

impl_store!(SqliteStore, sqlx::sqlite::SqliteRow, Backend::Sqlite);
