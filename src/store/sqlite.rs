//! SQLite: the embedded default. Dates are Better Auth's ISO text, booleans 0/1. Everything
//! the shared store code needs that SQLite does its own way is here.

use super::cleanup::HeapWalk;
use super::engine::{Bind, Dialect, Engine, Read, Run};
use super::lookup_pool::LookupPool;
use super::sql_store::SqlStore;
use super::tables::Schema;
use super::ts::Ts;
use super::{Backend, StoreError};
use crate::config::{Mode, Pooler};
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments, Pool, Row, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

pub type SqliteStore = SqlStore<Sqlite>;

pub(crate) const DIALECT: Dialect = Dialect {
    backend: Backend::Sqlite,
    name: "sqlite",
    // SQLite's LIKE ignores ASCII case.
    ilike: "LIKE",
    token_in_batch: "IN (SELECT value FROM json_each($1))",
    delete_ids: ("IN (", ")"),
    // The process clock: `$4` the new expiry, `$5` now.
    lease_expiry: ("$4", "$5"),
    index_ddl: "",
    index_build_note: Some(
        "SQLite blocks writers while an index builds; on a large table run this at a quiet time",
    ),
    names_ignore_case: true,
    // `pk` covers INTEGER PRIMARY KEY rowid aliases, which fill themselves.
    table_columns: r#"SELECT name AS "name", "notnull" <> 0 AS "not_null", dflt_value IS NOT NULL OR (pk = 1 AND upper(type) = 'INTEGER') AS "has_default" FROM pragma_table_info($1) ORDER BY cid"#,
    index_state: r#"SELECT 1 = 1 AS "valid" FROM sqlite_master WHERE type = 'index' AND name = $1"#,
    // One writer at a time: the claim's UPDATE holds the write lock.
    claim_lock: "",
    // Deletes go through the layers' indexes.
    heap_walk_sql: None,
};

impl SqlStore<Sqlite> {
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
        Self::connect_bounded(url, max_connections, schema, owned, None).await
    }

    /// [`Self::connect_with`] with a statement timeout: the busy timeout (how long a writer
    /// waits for the lock) is the timeout up to 10 s, and each statement has the client-side
    /// deadline.
    pub async fn connect_bounded(
        url: &str,
        max_connections: u32,
        schema: Schema,
        owned: bool,
        statement_timeout: Option<Duration>,
    ) -> Result<Self, StoreError> {
        let busy = statement_timeout.map_or(BUSY_TIMEOUT, |t| t.min(BUSY_TIMEOUT));
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(owned)
            .foreign_keys(true)
            .busy_timeout(busy);
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
        Ok(Self::with_pools(pool, lookups, schema, Pooler::None)
            .with_statement_timeout(statement_timeout))
    }
}

/// The longest a SQLite writer waits for the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Engine for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;

    /// `BEGIN IMMEDIATE` takes the write lock up front: a deferred transaction that reads then
    /// writes fails with SQLITE_BUSY instead of waiting when another writer got in first.
    async fn begin_write(
        pool: &SqlitePool,
        _pooler: Pooler,
    ) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn begin_statement(_pooler: Pooler) -> Option<&'static str> {
        None
    }

    /// The immediate transaction already serialises writers.
    async fn lock_user(
        _conn: &mut SqliteConnection,
        _sql: &'static str,
        _user_id: &str,
        _pooler: Pooler,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn migrate(pool: &SqlitePool, mode: Mode, _pooler: Pooler) -> Result<(), StoreError> {
        if mode == Mode::Owned {
            let mut auth = sqlx::migrate!("./migrations/sqlite/auth");
            auth.dangerous_set_table_name("sessionkeeper_auth_migrations");
            auth.run(pool).await?;
        }
        let mut own = sqlx::migrate!("./migrations/sqlite/own");
        own.dangerous_set_table_name("sessionkeeper_migrations");
        own.run(pool).await?;
        Ok(())
    }

    /// One JSON array, read by `json_each`.
    fn bind_tokens(args: &mut SqliteArguments, tokens: &[&str]) -> Result<(), BoxDynError> {
        args.add(serde_json::to_string(tokens)?)
    }

    fn bind_lease_expiry(
        args: &mut SqliteArguments,
        ttl_seconds: u64,
        now: OffsetDateTime,
    ) -> Result<(), BoxDynError> {
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX);
        args.add(Ts(now + time::Duration::seconds(ttl)))?;
        args.add(Ts(now))
    }

    async fn scan_table(
        pool: &Pool<Sqlite>,
        sql: &'static str,
        args: SqliteArguments,
        _pooler: Pooler,
    ) -> Result<SqliteRow, sqlx::Error> {
        sqlx::query_with(sql, args).fetch_one(pool).await
    }

    fn heap_walk(_store: &SqliteStore) -> Option<&dyn HeapWalk> {
        None
    }
}

impl Run<Sqlite> for SqliteConnection {
    async fn fetch_all(
        &mut self,
        sql: &'static str,
        args: SqliteArguments,
        _pooler: Pooler,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        sqlx::query_with(sql, args).fetch_all(self).await
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: SqliteArguments,
        _pooler: Pooler,
    ) -> Result<Option<SqliteRow>, sqlx::Error> {
        sqlx::query_with(sql, args).fetch_optional(self).await
    }

    async fn execute(
        &mut self,
        sql: &'static str,
        args: SqliteArguments,
        _pooler: Pooler,
    ) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query_with(sql, args)
            .execute(self)
            .await?
            .rows_affected())
    }

    async fn execute_raw(&mut self, sql: String) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(self)
            .await?;
        Ok(())
    }
}

impl Bind for SqliteArguments {
    fn text(&mut self, v: &str) -> Result<(), BoxDynError> {
        self.add(v)
    }
    fn opt_text(&mut self, v: Option<&str>) -> Result<(), BoxDynError> {
        self.add(v)
    }
    fn int(&mut self, v: i64) -> Result<(), BoxDynError> {
        self.add(v)
    }
    fn opt_int(&mut self, v: Option<i64>) -> Result<(), BoxDynError> {
        self.add(v)
    }
    fn flag(&mut self, v: bool) -> Result<(), BoxDynError> {
        self.add(v)
    }
    fn time(&mut self, v: OffsetDateTime) -> Result<(), BoxDynError> {
        self.add(Ts(v))
    }
    fn opt_time(&mut self, v: Option<OffsetDateTime>) -> Result<(), BoxDynError> {
        self.add(v.map(Ts))
    }
}

impl Read for SqliteRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }
    fn int4(&self, col: &str) -> Result<i32, sqlx::Error> {
        self.try_get(col)
    }
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_flag(&self, col: &str) -> Result<Option<bool>, sqlx::Error> {
        self.try_get(col)
    }
    fn time(&self, col: &str) -> Result<OffsetDateTime, sqlx::Error> {
        Ok(self.try_get::<Ts, _>(col)?.0)
    }
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        Ok(self.try_get::<Option<Ts>, _>(col)?.map(|t| t.0))
    }
}
