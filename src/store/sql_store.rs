//! [`SqlStore`]: the one store type, generic over the backend. Its operations are written
//! once, in `auth.rs`, `admin.rs`, `cleanup.rs` and `tables/catalog.rs`; `sqlite.rs` and
//! `postgres/` say how to connect and what differs.

use super::engine::{Args, Engine, Run};
use super::lookup_batch::{LookupSql, SessionLookups};
use super::lookup_pool::LookupPool;
use super::statements::{self, Statements};
use super::tables::Schema;
use crate::config::Pooler;
use crate::spans::statement_span;
use sqlx::{Pool, Transaction};
use std::time::Duration;
use tracing::Instrument;

pub struct SqlStore<DB: Engine> {
    pub(crate) pool: Pool<DB>,
    pub(crate) lookups: LookupPool<DB>,
    pub(crate) sessions: SessionLookups<DB>,
    pub(crate) sql: &'static Statements,
    pub(crate) schema: Schema,
    /// Behind a transaction-mode pooler every statement runs in a transaction of its own
    /// (see `postgres/pooler.rs`).
    pub(crate) pooler: Pooler,
    /// `DATABASE_STATEMENT_TIMEOUT_SECONDS`: the server's own limit where it can be set (see
    /// the backends' `connect`), and the deadline of [`Self::fetch_all`], [`Self::fetch_optional`]
    /// and [`Self::execute`] here, a little later, for a database that stops answering
    /// altogether (a server-side timeout never fires when the network is what hangs).
    pub(crate) statement_timeout: Option<Duration>,
}

/// How long after the server's own statement timeout the client gives up: the server's
/// error, when it can send one, is the better message.
const CLIENT_DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// The error a statement past its deadline fails with (a 503 `DATABASE_UNAVAILABLE`, as any
/// connection failure).
fn timed_out(limit: Duration) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "the database did not answer within {} s (DATABASE_STATEMENT_TIMEOUT_SECONDS)",
            limit.as_secs()
        ),
    ))
}

impl<DB: Engine> SqlStore<DB> {
    /// Session checks get connections of their own (see [`SessionLookups`]) besides `pool`.
    pub fn from_pool(pool: Pool<DB>, schema: Schema) -> Self {
        let timeout = pool.options().get_acquire_timeout();
        let lookups = LookupPool::new(pool.connect_options(), super::lookup_batch::LANES, timeout);
        Self::with_pools(pool, lookups, schema, Pooler::None)
    }

    pub(crate) fn with_pools(
        pool: Pool<DB>,
        lookups: LookupPool<DB>,
        schema: Schema,
        pooler: Pooler,
    ) -> Self {
        let sql = statements::for_schema(&schema, DB::BACKEND);
        let sessions = SessionLookups::new(
            lookups.clone(),
            LookupSql {
                one: sql.auth.find_session_with_user,
                many: sql.auth.find_sessions_batch,
                pooler,
            },
            super::auth::fetch_sessions::<DB>,
        );
        Self {
            pool,
            lookups,
            sessions,
            sql,
            schema,
            pooler,
            statement_timeout: None,
        }
    }

    /// With `DATABASE_STATEMENT_TIMEOUT_SECONDS` (`None`: no deadline).
    pub(crate) fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// `work` within the statement deadline, when there is one.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        match self.statement_timeout {
            None => work.await,
            Some(limit) => tokio::time::timeout(limit + CLIENT_DEADLINE_MARGIN, work)
                .await
                .unwrap_or_else(|_| Err(timed_out(limit))),
        }
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// A transaction (that reads, or writes without SQLite's up-front write lock).
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, DB>, sqlx::Error> {
        match DB::begin_statement(self.pooler) {
            Some(begin) => self.pool.begin_with(begin).await,
            None => self.pool.begin().await,
        }
    }

    /// A transaction that will write ([`Engine::begin_write`]).
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, DB>, sqlx::Error> {
        DB::begin_write(&self.pool, self.pooler).await
    }

    /// Whether a lone statement needs a transaction around it: behind a transaction-mode
    /// pooler, where preparing and executing an unnamed statement are two exchanges that must
    /// reach the same server connection.
    fn wrapped(&self) -> bool {
        DB::begin_statement(self.pooler).is_some()
    }

    /// Both pools' connection counts.
    pub(crate) fn pool_stats(&self) -> Vec<super::PoolStats> {
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(open);
        vec![
            super::PoolStats {
                pool: "general",
                open,
                idle: idle.min(open),
                max: self.pool.options().get_max_connections(),
            },
            self.lookups.stats(),
        ]
    }

    /// Counts a wait when sqlx's pool has no idle connection and cannot open another. Read
    /// without a lock, so a request racing another's release may be miscounted either way.
    pub(crate) fn note_general_wait(&self) {
        if self.pool.num_idle() == 0
            && self.pool.size() >= self.pool.options().get_max_connections()
        {
            super::note_pool_wait("general");
        }
    }

    pub(crate) async fn fetch_all(
        &self,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<Vec<DB::Row>, sqlx::Error> {
        let args = args.finish()?;
        self.note_general_wait();
        let pooler = self.pooler;
        self.bounded(async {
            if self.wrapped() {
                let mut tx = self.begin().await?;
                let rows = tx.fetch_all(sql, args, pooler).await?;
                tx.commit().await?;
                return Ok(rows);
            }
            self.pool
                .acquire()
                .await?
                .fetch_all(sql, args, pooler)
                .await
        })
        .instrument(statement_span(sql))
        .await
    }

    pub(crate) async fn fetch_optional(
        &self,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<Option<DB::Row>, sqlx::Error> {
        let args = args.finish()?;
        self.note_general_wait();
        let pooler = self.pooler;
        self.bounded(async {
            if self.wrapped() {
                let mut tx = self.begin().await?;
                let row = tx.fetch_optional(sql, args, pooler).await?;
                tx.commit().await?;
                return Ok(row);
            }
            self.pool
                .acquire()
                .await?
                .fetch_optional(sql, args, pooler)
                .await
        })
        .instrument(statement_span(sql))
        .await
    }

    pub(crate) async fn fetch_one(
        &self,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<DB::Row, sqlx::Error> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Rows affected.
    pub(crate) async fn execute(
        &self,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<u64, sqlx::Error> {
        let args = args.finish()?;
        self.note_general_wait();
        let pooler = self.pooler;
        self.bounded(async {
            if self.wrapped() {
                let mut tx = self.begin().await?;
                let n = tx.execute(sql, args, pooler).await?;
                tx.commit().await?;
                return Ok(n);
            }
            self.pool.acquire().await?.execute(sql, args, pooler).await
        })
        .instrument(statement_span(sql))
        .await
    }

    /// [`Run`] on a transaction's connection, with [`Args`].
    pub(crate) async fn fetch_one_in(
        &self,
        conn: &mut DB::Connection,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<DB::Row, sqlx::Error> {
        conn.fetch_optional(sql, args.finish()?, self.pooler)
            .instrument(statement_span(sql))
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub(crate) async fn fetch_all_in(
        &self,
        conn: &mut DB::Connection,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<Vec<DB::Row>, sqlx::Error> {
        conn.fetch_all(sql, args.finish()?, self.pooler)
            .instrument(statement_span(sql))
            .await
    }

    pub(crate) async fn execute_in(
        &self,
        conn: &mut DB::Connection,
        sql: &'static str,
        args: Args<DB>,
    ) -> Result<u64, sqlx::Error> {
        conn.execute(sql, args.finish()?, self.pooler)
            .instrument(statement_span(sql))
            .await
    }
}
