//! Persistence: one [`Store`] trait and one implementation of it, [`SqlStore<DB>`], whose
//! operations are written once for both backends:
//!
//! - `auth.rs`, `admin.rs`, `cleanup.rs`: the operations; `auth_sql.rs`, `admin_sql.rs`,
//!   `cleanup_sql.rs`: their SQL, built once per schema into [`statements`] (the one cache).
//! - `engine.rs`: the [`Engine`](engine::Engine) trait, what a backend provides;
//!   `sqlite.rs` and `postgres/` are the one place that says what differs (locking, parameter
//!   arrays, migrations, PostgreSQL's heap walk).
//! - `tables/`: everything that describes the tables (names, mapping, column lists, catalog,
//!   start-up checks, indexes).
//! - `lookup_batch.rs`, `lookup_pool.rs`, `pool.rs`: the connections and the batched session
//!   checks of the hot path.

pub mod account;
pub mod account_sql;
pub mod activity;
pub mod admin;
pub mod admin_sql;
mod auth;
pub mod auth_sql;
pub mod cleanup;
pub mod cleanup_sql;
pub mod ended;
pub mod ended_sql;
pub mod engine;
pub mod last_active;
mod lookup_batch;
mod lookup_pool;
pub mod outbox;
mod pool;
pub mod postgres;
pub mod rate_limit;
pub mod sql_store;
pub mod sqlite;
pub mod statements;
pub mod stats_snapshot;
pub mod tables;
pub mod tenant_policy;
pub mod ts;

// The paths these modules had before they moved into `tables/`.
pub use tables::{catalog, indexes, schema};

use crate::config::{Mode, Pooler};
use crate::domain::ending::Ending;
use crate::domain::{Session, SessionWithUser, User};
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;

pub use sql_store::SqlStore;
pub use tables::Schema;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. an e-mail already registered).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("schema check failed: {0}")]
    Schema(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        self.dialect().name
    }

    /// The SQL that differs on this backend (from `sqlite.rs` or `postgres/`).
    pub fn dialect(self) -> &'static engine::Dialect {
        match self {
            Backend::Sqlite => &sqlite::DIALECT,
            Backend::Postgres => &postgres::DIALECT,
        }
    }
}

/// One connection pool's state: `general` (sqlx's pool) or `lookup` (the session checks' lanes).
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub pool: &'static str,
    /// Connections open now.
    pub open: u32,
    pub idle: u32,
    /// Connections it opens at most.
    pub max: u32,
}

/// Counts a request for a connection that finds every one of the pool's connections in use.
pub(crate) fn note_pool_wait(pool: &'static str) {
    metrics::counter!(crate::metrics::POOL_WAITS, "pool" => pool).increment(1);
}

/// A user row with its credential password hash, for sign-in.
#[derive(Debug, Clone)]
pub struct UserWithPassword {
    pub user: User,
    pub password_hash: Option<String>,
}

/// The events a new session writes in its own transaction: `session.created`, and
/// `session.new-device` when its browser, OS and device type match none of the user's
/// sessions, live or ended since `window_start` (and the user had one).
#[derive(Debug, Clone)]
pub struct SessionEvents {
    pub created_endpoints: u32,
    pub new_device_endpoints: u32,
    pub window_start: OffsetDateTime,
    pub tenant_id: Option<String>,
    /// Both events' `data`, as JSON.
    pub data: String,
}

/// Users and sessions: everything the auth path needs.
#[async_trait]
pub trait Store:
    admin::AdminStore
    + account::AccountStore
    + activity::ActivityStore
    + cleanup::CleanupStore
    + ended::EndedStore
    + outbox::OutboxStore
    + rate_limit::RateLimitStore
    + stats_snapshot::StatsSnapshotStore
    + tables::catalog::CatalogStore
    + tenant_policy::TenantPolicyStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Connection counts of each pool, read when `/metrics` is scraped.
    fn pool_stats(&self) -> Vec<PoolStats> {
        Vec::new()
    }

    /// Cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;

    /// Creates what the mode owns: in owned mode the Better Auth schema and our tables, in
    /// shared mode only our own tables.
    async fn migrate(&self, mode: Mode) -> Result<()>;

    /// Inserts a user and its credential account in one transaction.
    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserWithPassword>>;
    async fn find_user(&self, id: &str) -> Result<Option<User>>;
    /// Writes `name`, `image` and `updatedAt` of an existing user.
    async fn update_user_profile(&self, user: &User) -> Result<bool>;

    /// Inserts a session. With `max_active`, first evicts the user's least recently active
    /// unexpired sessions so that at most `max_active` remain, in the same transaction and
    /// serialised per user, so the limit holds under concurrent sign-ins. Returns how many
    /// sessions were evicted, recording them with `evicted` when given.
    async fn insert_session_ending(
        &self,
        session: &Session,
        max_active: Option<u32>,
        now: OffsetDateTime,
        evicted: Option<&Ending>,
        events: Option<&SessionEvents>,
    ) -> Result<u64>;
    /// [`Store::insert_session_ending`] without records.
    async fn insert_session(
        &self,
        session: &Session,
        max_active: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<u64> {
        self.insert_session_ending(session, max_active, now, None, None)
            .await
    }
    /// [`insert_session_ending`](Self::insert_session_ending) under the `deny` strategy: when
    /// the user already has `max_active` unexpired sessions nothing is written and this returns
    /// false. Serialised per user in one transaction, as eviction is.
    async fn insert_session_unless_full(
        &self,
        session: &Session,
        max_active: u32,
        now: OffsetDateTime,
        events: Option<&SessionEvents>,
    ) -> Result<bool>;
    /// The session stored under `token_key`, with its user.
    async fn find_session(&self, token_key: &str) -> Result<Option<SessionWithUser>>;
    async fn find_session_by_id(&self, id: &str) -> Result<Option<Session>>;
    /// Slides a session; false when the row is gone.
    async fn touch_session(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Result<bool>;
    /// Deletes a session, writing its termination record when `end` is given (so with every
    /// delete below).
    async fn delete_session(&self, id: &str, end: Option<&Ending>) -> Result<bool>;
    /// Deletes the session stored under `token_key`; false when there was none.
    async fn delete_session_by_token(&self, token_key: &str, end: Option<&Ending>) -> Result<bool>;
    /// A user's sessions, oldest first; with `active_at`, only those expiring after it.
    async fn list_user_sessions(
        &self,
        user_id: &str,
        active_at: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<Session>>;
    /// Deletes a user's sessions, optionally sparing one and optionally only unexpired ones.
    async fn delete_user_sessions(
        &self,
        user_id: &str,
        except_id: Option<&str>,
        unexpired_at: Option<OffsetDateTime>,
        end: Option<&Ending>,
    ) -> Result<u64>;
}

/// Opens the store named by `database_url`, creating a SQLite file when missing.
pub async fn connect(
    database_url: &str,
    max_connections: u32,
    schema: Schema,
) -> Result<Arc<dyn Store>> {
    open(
        database_url,
        max_connections,
        schema,
        Mode::Owned,
        Pooler::None,
    )
    .await
}

/// [`connect`] for a mode, and on PostgreSQL for what sits in front of it. A shared SQLite
/// file must exist and keeps the journal mode its app chose (owned mode switches to WAL): the
/// journal mode is a lasting property of the file.
pub async fn open(
    database_url: &str,
    max_connections: u32,
    schema: Schema,
    mode: Mode,
    pooler: Pooler,
) -> Result<Arc<dyn Store>> {
    open_bounded(database_url, max_connections, schema, mode, pooler, None).await
}

/// [`open`] with a statement timeout (`DATABASE_STATEMENT_TIMEOUT_SECONDS`): PostgreSQL's
/// `statement_timeout` on direct connections (behind a transaction-mode pooler no session
/// setting survives; set it on the role there), SQLite's busy timeout up to 10 s, and on both
/// a client-side deadline on each statement (see [`SqlStore`]).
pub async fn open_bounded(
    database_url: &str,
    max_connections: u32,
    schema: Schema,
    mode: Mode,
    pooler: Pooler,
    statement_timeout: Option<std::time::Duration>,
) -> Result<Arc<dyn Store>> {
    if database_url.starts_with("postgres") {
        Ok(Arc::new(
            postgres::PgStore::connect_bounded(
                database_url,
                max_connections,
                schema,
                pooler,
                statement_timeout,
            )
            .await?,
        ))
    } else {
        Ok(Arc::new(
            sqlite::SqliteStore::connect_bounded(
                database_url,
                max_connections,
                schema,
                mode == Mode::Owned,
                statement_timeout,
            )
            .await?,
        ))
    }
}

/// Maps a unique violation to [`StoreError::Duplicate`].
fn on_unique(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::from(e),
    }
}
