//! PostgreSQL: for production and for many instances behind a load balancer. Everything the
//! shared store code needs that PostgreSQL does its own way is here, and its heap walk (the
//! cleanup's deletes in physical order) in `heap_walk.rs`.

mod heap_walk;
mod pooler;

pub use heap_walk::{HeapSql, heap_walk_sql};

use super::cleanup::HeapWalk;
use super::engine::{Bind, Dialect, Engine, Read, Run};
use super::lookup_pool::LookupPool;
use super::sql_store::SqlStore;
use super::tables::Schema;
use super::ts::Ts;
use super::{Backend, StoreError};
use crate::config::{Mode, Pooler};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgRow};
use sqlx::{Arguments, PgPool, Pool, Postgres, Row, Transaction};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

pub type PgStore = SqlStore<Postgres>;

pub(crate) const DIALECT: Dialect = Dialect {
    backend: Backend::Postgres,
    name: "postgres",
    // ILIKE on the bare column keeps the planner's column statistics (`LOWER(col) LIKE` is
    // estimated blind, and a badly underestimated filter turns a 51-row index walk into a
    // full scan).
    ilike: "ILIKE",
    token_in_batch: "= ANY($1)",
    // `id IN (subquery)` is planned as a hash semi-join over the whole table (one full scan
    // per batch, quadratic over a run); an array of ids makes it primary-key lookups.
    delete_ids: ("= ANY(ARRAY(", "))"),
    // The database clock: `$4` the lease's length in seconds.
    lease_expiry: ("now() + make_interval(secs => $4)", "now()"),
    // The app keeps writing its sessions while an index builds.
    index_ddl: "CONCURRENTLY ",
    index_build_note: None,
    names_ignore_case: false,
    table_columns: "SELECT a.attname::text AS \"name\", a.attnotnull AS \"not_null\", \
                    a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS \"has_default\" \
                    FROM pg_attribute a WHERE a.attrelid = to_regclass(quote_ident($1)) \
                    AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    index_state: "SELECT i.indisvalid AS \"valid\" FROM pg_index i WHERE i.indexrelid = to_regclass(quote_ident($1))",
    claim_lock: " FOR UPDATE SKIP LOCKED",
    heap_walk_sql: Some(heap_walk_sql),
};

impl SqlStore<Postgres> {
    pub async fn connect(
        url: &str,
        max_connections: u32,
        schema: Schema,
        pooler: Pooler,
    ) -> Result<Self, StoreError> {
        Self::connect_bounded(url, max_connections, schema, pooler, None).await
    }

    /// [`Self::connect`] with a statement timeout: a start-up option of direct connections;
    /// behind a transaction-mode pooler (which refuses start-up options, and where a session
    /// `SET` would leak to other clients) only the client-side deadline applies.
    pub async fn connect_bounded(
        url: &str,
        max_connections: u32,
        schema: Schema,
        pooler: Pooler,
        statement_timeout: Option<Duration>,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("sessionkeeper");
        let options = match pooler {
            // UTC sessions: a `timestamp` column without time zone (Prisma's and Drizzle's
            // default for Better Auth's dates) is then read and written as UTC, as Better Auth
            // means it.
            //
            // No JIT: our statements are short or single scans, and the planner's cost for the
            // cleanup's and statistics' per-session subplans crosses `jit_above_cost`, where
            // compiling took longer than the statement (0.7 s against 0.08 s at 200k rows).
            Pooler::None => {
                let base = [("TimeZone", "UTC".to_owned()), ("jit", "off".to_owned())];
                match statement_timeout {
                    Some(t) => options
                        .options(base)
                        .options([("statement_timeout", format!("{}ms", t.as_millis()))]),
                    None => options.options(base),
                }
            }
            Pooler::Transaction => pooler::connect_options(options),
        };
        let pool = super::pool::options::<Postgres>()
            .max_connections(super::pool::general_size(max_connections))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let lookups = LookupPool::new(
            pool.connect_options(),
            super::pool::lookup_size(max_connections),
            pool.options().get_acquire_timeout(),
        );
        Ok(Self::with_pools(pool, lookups, schema, pooler)
            .with_statement_timeout(statement_timeout))
    }
}

impl Engine for Postgres {
    const BACKEND: Backend = Backend::Postgres;

    async fn begin_write(
        pool: &PgPool,
        pooler: Pooler,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        match Self::begin_statement(pooler) {
            Some(begin) => pool.begin_with(begin).await,
            None => pool.begin().await,
        }
    }

    fn begin_statement(pooler: Pooler) -> Option<&'static str> {
        (pooler == Pooler::Transaction).then_some(pooler::BEGIN)
    }

    /// Row lock on the user: concurrent sign-ins of one user count and evict one at a time.
    async fn lock_user(
        conn: &mut PgConnection,
        sql: &'static str,
        user_id: &str,
        pooler: Pooler,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql)
            .bind(user_id)
            .persistent(named(pooler))
            .fetch_optional(conn)
            .await?;
        Ok(())
    }

    async fn migrate(pool: &PgPool, mode: Mode, pooler: Pooler) -> Result<(), StoreError> {
        let mut wanted = Vec::new();
        if mode == Mode::Owned {
            wanted.push((
                pooler::AUTH_MIGRATIONS,
                sqlx::migrate!("./migrations/postgres/auth"),
            ));
        }
        wanted.push((
            pooler::OWN_MIGRATIONS,
            sqlx::migrate!("./migrations/postgres/own"),
        ));
        for (table, mut migrator) in wanted {
            migrator.dangerous_set_table_name(table);
            match pooler {
                // On a connection of its own, closed afterwards: a migration may build an
                // index for longer than any statement timeout.
                Pooler::None => {
                    let mut conn = pool.acquire().await?.detach();
                    sqlx::query("SET statement_timeout = 0")
                        .execute(&mut conn)
                        .await?;
                    let ran = migrator.run_direct(None, &mut conn, false).await;
                    let _ = sqlx::Connection::close(conn).await;
                    ran?
                }
                // sqlx's migrator holds a session-level advisory lock and caches named
                // statements: neither survives a transaction-mode pooler.
                Pooler::Transaction => pooler::check_applied(pool, &migrator, table).await?,
            }
        }
        Ok(())
    }

    /// One `text[]`.
    fn bind_tokens(args: &mut PgArguments, tokens: &[&str]) -> Result<(), BoxDynError> {
        args.add(tokens)
    }

    fn bind_lease_expiry(
        args: &mut PgArguments,
        ttl_seconds: u64,
        _now: OffsetDateTime,
    ) -> Result<(), BoxDynError> {
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX);
        args.add(ttl as f64)
    }

    /// One process for the whole table, not a parallel scan: parallel workers would take both
    /// cores of a small server from the traffic the cleanup must not slow down.
    async fn scan_table(
        pool: &Pool<Postgres>,
        sql: &'static str,
        args: PgArguments,
        pooler: Pooler,
    ) -> Result<PgRow, sqlx::Error> {
        let mut tx = Self::begin_write(pool, pooler).await?;
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
            .persistent(named(pooler))
            .execute(&mut *tx)
            .await?;
        // A background count of the whole table, which may outlast a statement timeout
        // meant for requests.
        sqlx::query("SET LOCAL statement_timeout = 0")
            .persistent(named(pooler))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query_with(sql, args)
            .persistent(named(pooler))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    fn heap_walk(store: &PgStore) -> Option<&dyn HeapWalk> {
        Some(store)
    }
}

/// Named prepared statements, cached per connection, except behind a transaction-mode pooler,
/// where the next transaction may reach a server connection that lacks them (or has another
/// client's statement under the same name).
fn named(pooler: Pooler) -> bool {
    pooler == Pooler::None
}

impl Run<Postgres> for PgConnection {
    async fn fetch_all(
        &mut self,
        sql: &'static str,
        args: PgArguments,
        pooler: Pooler,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query_with(sql, args)
            .persistent(named(pooler))
            .fetch_all(self)
            .await
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: PgArguments,
        pooler: Pooler,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        sqlx::query_with(sql, args)
            .persistent(named(pooler))
            .fetch_optional(self)
            .await
    }

    async fn execute(
        &mut self,
        sql: &'static str,
        args: PgArguments,
        pooler: Pooler,
    ) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query_with(sql, args)
            .persistent(named(pooler))
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

impl Bind for PgArguments {
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

impl Read for PgRow {
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
