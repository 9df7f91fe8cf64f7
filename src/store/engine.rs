//! What a backend gives the shared store code: the [`Engine`] trait, implemented by
//! `sqlx::Sqlite` in `sqlite.rs` and `sqlx::Postgres` in `postgres/`.
//!
//! Every store operation is written once, as a method of
//! [`SqlStore<DB>`](super::sql_store::SqlStore) generic over `DB: Engine`. The bounds those
//! bodies need (run a statement on a connection, bind a value, read a column by name) are
//! associated-type bounds of [`Engine`]'s supertrait, so Rust implies them wherever
//! `DB: Engine` is written and no `where` clause repeats them. They are met by the small
//! [`Run`], [`Bind`] and [`Read`] impls in the two backend files, which only call sqlx.

use super::cleanup::HeapWalk;
use super::postgres::HeapSql;
use super::sql_store::SqlStore;
use super::tables::Schema;
use super::{Backend, StoreError};
use crate::config::{Mode, Pooler};
use sqlx::error::BoxDynError;
use sqlx::{Database, Pool, Transaction};
use std::future::Future;
use time::OffsetDateTime;

/// A database sessionkeeper runs on.
pub trait Engine: Database<Connection: Run<Self>, Row: Read, Arguments: Bind> {
    const BACKEND: Backend;

    /// A transaction that will write. SQLite takes the write lock up front.
    fn begin_write(
        pool: &Pool<Self>,
        pooler: Pooler,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// What opens a transaction behind `pooler` when a plain `BEGIN` is not enough (PostgreSQL
    /// behind a transaction-mode pooler: the time zone is set per transaction).
    fn begin_statement(pooler: Pooler) -> Option<&'static str>;

    /// Serialises concurrent sign-ins of one user for the per-user limit (`sql` locks the
    /// user row); a no-op where the write transaction already serialises writers.
    fn lock_user<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
        user_id: &'c str,
        pooler: Pooler,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'c;

    /// Creates what the mode owns (see [`Store::migrate`](super::Store::migrate)); behind a
    /// transaction-mode pooler, only checks that nothing is pending.
    fn migrate(
        pool: &Pool<Self>,
        mode: Mode,
        pooler: Pooler,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Binds the tokens of a batched session check as one parameter.
    fn bind_tokens(args: &mut Self::Arguments, tokens: &[&str]) -> Result<(), BoxDynError>;

    /// Binds the lease statement's expiry parameters (after name, holder and run id).
    fn bind_lease_expiry(
        args: &mut Self::Arguments,
        ttl_seconds: u64,
        now: OffsetDateTime,
    ) -> Result<(), BoxDynError>;

    /// Runs a one-row statement that reads the whole session table.
    fn scan_table<'a>(
        pool: &'a Pool<Self>,
        sql: &'static str,
        args: Self::Arguments,
        pooler: Pooler,
    ) -> impl Future<Output = Result<Self::Row, sqlx::Error>> + Send + 'a;

    /// The deletes in physical order, where the backend has them.
    fn heap_walk(store: &SqlStore<Self>) -> Option<&dyn HeapWalk>;
}

/// The SQL that differs between the backends, read by the statement builders.
#[derive(Debug)]
pub struct Dialect {
    pub backend: Backend,
    pub name: &'static str,
    /// A case-insensitive `LIKE`.
    pub ilike: &'static str,
    /// The batched session check's condition on the token column, the tokens bound as `$1`.
    pub token_in_batch: &'static str,
    /// Wraps a bounded id selection into a delete by primary key: `DELETE ... WHERE id`,
    /// then the two halves around the `SELECT`.
    pub delete_ids: (&'static str, &'static str),
    /// The lease expiry written (`$4`...) and the instant an old lease is compared with.
    pub lease_expiry: (&'static str, &'static str),
    /// Between `CREATE INDEX`/`DROP INDEX` and the rest.
    pub index_ddl: &'static str,
    /// Printed before indexes are built, when building blocks the app.
    pub index_build_note: Option<&'static str>,
    /// Whether identifiers match without case.
    pub names_ignore_case: bool,
    /// A table's columns: `name`, `not_null`, `has_default`, the table name as `$1`.
    pub table_columns: &'static str,
    /// `valid` of the index named `$1`; no row when there is none.
    pub index_state: &'static str,
    /// Ends the outbox claim's selection: PostgreSQL skips rows another instance is claiming.
    pub claim_lock: &'static str,
    /// The statements of the heap walk, where there is one.
    pub heap_walk_sql: Option<fn(&Schema) -> HeapSql>,
}

/// Statements run on one connection. Rows are read by column name ([`Read`]). Behind a
/// transaction-mode pooler (`pooler`) PostgreSQL's statements go unnamed, and the caller runs
/// them inside a transaction.
pub trait Run<DB: Database>: Send {
    fn fetch_all<'c>(
        &'c mut self,
        sql: &'static str,
        args: DB::Arguments,
        pooler: Pooler,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + 'c;

    fn fetch_optional<'c>(
        &'c mut self,
        sql: &'static str,
        args: DB::Arguments,
        pooler: Pooler,
    ) -> impl Future<Output = Result<Option<DB::Row>, sqlx::Error>> + Send + 'c;

    /// Rows affected.
    fn execute<'c>(
        &'c mut self,
        sql: &'static str,
        args: DB::Arguments,
        pooler: Pooler,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;

    /// One statement without parameters, by the simple protocol (outside any transaction, as
    /// `CREATE INDEX CONCURRENTLY` requires).
    fn execute_raw(
        &mut self,
        sql: String,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_;
}

/// The values store statements bind. Timestamps go through [`Ts`](super::ts::Ts).
pub trait Bind: Send {
    fn text(&mut self, v: &str) -> Result<(), BoxDynError>;
    fn opt_text(&mut self, v: Option<&str>) -> Result<(), BoxDynError>;
    fn int(&mut self, v: i64) -> Result<(), BoxDynError>;
    fn opt_int(&mut self, v: Option<i64>) -> Result<(), BoxDynError>;
    fn flag(&mut self, v: bool) -> Result<(), BoxDynError>;
    fn time(&mut self, v: OffsetDateTime) -> Result<(), BoxDynError>;
    fn opt_time(&mut self, v: Option<OffsetDateTime>) -> Result<(), BoxDynError>;
}

/// A row's columns by name.
pub trait Read {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn int4(&self, col: &str) -> Result<i32, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
    fn opt_flag(&self, col: &str) -> Result<Option<bool>, sqlx::Error>;
    fn time(&self, col: &str) -> Result<OffsetDateTime, sqlx::Error>;
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>, sqlx::Error>;
}

/// A statement's arguments, bound in placeholder order. Keeps the first encoding error and
/// reports it when the statement runs, so binding chains.
pub struct Args<DB: Engine> {
    inner: DB::Arguments,
    error: Option<BoxDynError>,
}

impl<DB: Engine> Default for Args<DB> {
    fn default() -> Self {
        Self {
            inner: DB::Arguments::default(),
            error: None,
        }
    }
}

impl<DB: Engine> Args<DB> {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, bind: impl FnOnce(&mut DB::Arguments) -> Result<(), BoxDynError>) -> Self {
        if self.error.is_none()
            && let Err(e) = bind(&mut self.inner)
        {
            self.error = Some(e);
        }
        self
    }

    pub fn text(self, v: &str) -> Self {
        self.push(|a| a.text(v))
    }
    pub fn opt_text(self, v: Option<&str>) -> Self {
        self.push(|a| a.opt_text(v))
    }
    pub fn int(self, v: i64) -> Self {
        self.push(|a| a.int(v))
    }
    pub fn opt_int(self, v: Option<i64>) -> Self {
        self.push(|a| a.opt_int(v))
    }
    pub fn flag(self, v: bool) -> Self {
        self.push(|a| a.flag(v))
    }
    pub fn time(self, v: OffsetDateTime) -> Self {
        self.push(|a| a.time(v))
    }
    pub fn opt_time(self, v: Option<OffsetDateTime>) -> Self {
        self.push(|a| a.opt_time(v))
    }
    /// A backend-specific binding ([`Engine::bind_tokens`], [`Engine::bind_lease_expiry`]).
    pub fn with(self, bind: impl FnOnce(&mut DB::Arguments) -> Result<(), BoxDynError>) -> Self {
        self.push(bind)
    }

    pub fn finish(self) -> Result<DB::Arguments, sqlx::Error> {
        match self.error {
            Some(e) => Err(sqlx::Error::Encode(e)),
            None => Ok(self.inner),
        }
    }
}
