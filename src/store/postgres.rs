//! PostgreSQL: for production and for many instances behind a load balancer.

use super::common::impl_store;
use super::lookup_batch::{LookupSql, SessionLookups};
use super::lookup_pool::LookupPool;
use super::queries::Queries;
use super::{Schema, StoreError};
use crate::config::Mode;
use sqlx::postgres::PgConnectOptions;
use sqlx::{PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) lookups: LookupPool<Postgres>,
    pub(crate) sessions: SessionLookups<Postgres>,
    pub(crate) q: Queries,
    pub(crate) schema: Schema,
}

impl PgStore {
    pub async fn connect(
        url: &str,
        max_connections: u32,
        schema: Schema,
    ) -> Result<Self, StoreError> {
        // UTC sessions: a `timestamp` column without time zone (Prisma's and Drizzle's default
        // for Better Auth's dates) is then read and written as UTC, as Better Auth means it.
        let options = PgConnectOptions::from_str(url)?
            .application_name("sessionkeeper")
            .options([("TimeZone", "UTC")]);
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
        Ok(Self::with_pools(pool, lookups, schema))
    }

    /// Session checks get connections of their own (see [`SessionLookups`]) besides `pool`.
    pub fn from_pool(pool: PgPool, schema: Schema) -> Self {
        let timeout = pool.options().get_acquire_timeout();
        let lookups = LookupPool::new(pool.connect_options(), super::lookup_batch::LANES, timeout);
        Self::with_pools(pool, lookups, schema)
    }

    pub(crate) fn with_pools(pool: PgPool, lookups: LookupPool<Postgres>, schema: Schema) -> Self {
        let q = Queries::new(&schema);
        let sessions = SessionLookups::new(
            lookups.clone(),
            LookupSql {
                one: q.find_session_with_user,
                many: q.find_sessions_any,
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

    /// Tokens of a batched session check, bound as one `text[]`.
    fn tokens_param<'c>(tokens: &'c [&'c str]) -> Result<&'c [&'c str], sqlx::Error> {
        Ok(tokens)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Row lock on the user: concurrent sign-ins of one user count and evict one at a time.
    async fn lock_user(
        tx: &mut Transaction<'static, Postgres>,
        sql: &'static str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(sql)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(())
    }

    async fn run_migrations(&self, mode: Mode) -> Result<(), StoreError> {
        if mode == Mode::Owned {
            let mut auth = sqlx::migrate!("./migrations/postgres/auth");
            auth.dangerous_set_table_name("sessionkeeper_auth_migrations");
            auth.run(&self.pool).await?;
        }
        let mut own = sqlx::migrate!("./migrations/postgres/own");
        own.dangerous_set_table_name("sessionkeeper_migrations");
        own.run(&self.pool).await?;
        Ok(())
    }
}

impl_store!(PgStore, sqlx::postgres::PgRow, Backend::Postgres);
