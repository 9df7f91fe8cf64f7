//! What the database itself says about its tables and indexes, for the start-up schema check
//! and `migrate --indexes`. Read-only except for [`CatalogStore::create_index`].

use super::Schema;
use crate::config::Pooler;
use crate::store::engine::{Args, Engine, Read, Run};
use crate::store::sql_store::SqlStore;
use crate::store::{Backend, Result, Store};
use async_trait::async_trait;
use std::sync::Arc;

/// One column as the database declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub not_null: bool,
    /// A default, identity or generated value: inserts may leave the column out.
    pub has_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    Missing,
    Valid,
    /// PostgreSQL only: a `CREATE INDEX CONCURRENTLY` that failed half-way leaves an index
    /// that is maintained but never used, and `IF NOT EXISTS` would skip it forever.
    Invalid,
}

#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// The schema the store's queries were built from.
    fn schema(&self) -> &Schema;
    /// The same database (and pool) with queries built from other names.
    fn with_schema(&self, schema: Schema) -> Arc<dyn Store>;
    /// The columns of `table` (in the search path on PostgreSQL), or `None` when it does not
    /// exist.
    async fn table_columns(&self, table: &str) -> Result<Option<Vec<ColumnInfo>>>;
    async fn index_state(&self, name: &str) -> Result<IndexState>;
    /// Whether owned mode's Better Auth schema migration has ever succeeded here.
    async fn owned_schema_applied(&self) -> Result<bool>;
    /// Runs one `CREATE INDEX` / `DROP INDEX` statement outside any transaction, as
    /// `CONCURRENTLY` requires.
    async fn run_index_ddl(&self, sql: String) -> Result<()>;
}

#[async_trait]
impl<DB: Engine> CatalogStore for SqlStore<DB> {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn with_schema(&self, schema: Schema) -> Arc<dyn Store> {
        Arc::new(
            SqlStore::with_pools(self.pool.clone(), self.lookups.clone(), schema, self.pooler)
                .with_statement_timeout(self.statement_timeout),
        )
    }

    async fn table_columns(&self, table: &str) -> Result<Option<Vec<ColumnInfo>>> {
        let sql = DB::BACKEND.dialect().table_columns;
        let rows = self.fetch_all(sql, Args::new().text(table)).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let columns = rows
            .iter()
            .map(|r| {
                Ok(ColumnInfo {
                    name: r.text("name")?,
                    not_null: r.flag("not_null")?,
                    has_default: r.flag("has_default")?,
                })
            })
            .collect::<std::result::Result<_, sqlx::Error>>()?;
        Ok(Some(columns))
    }

    async fn index_state(&self, name: &str) -> Result<IndexState> {
        let sql = DB::BACKEND.dialect().index_state;
        let row = self.fetch_optional(sql, Args::new().text(name)).await?;
        Ok(match row.map(|r| r.flag("valid")).transpose()? {
            None => IndexState::Missing,
            Some(true) => IndexState::Valid,
            Some(false) => IndexState::Invalid,
        })
    }

    async fn owned_schema_applied(&self) -> Result<bool> {
        if self
            .table_columns("sessionkeeper_auth_migrations")
            .await?
            .is_none()
        {
            return Ok(false);
        }
        let sql = "SELECT COUNT(*) AS \"n\" FROM sessionkeeper_auth_migrations WHERE success";
        Ok(self.fetch_one(sql, Args::new()).await?.int("n")? > 0)
    }

    async fn run_index_ddl(&self, sql: String) -> Result<()> {
        // The simple protocol runs the statement on its own, outside any transaction.
        let mut conn = self.pool.acquire().await?;
        if DB::BACKEND == Backend::Postgres
            && self.pooler == Pooler::None
            && self.statement_timeout.is_some()
        {
            // An index build may take longer than any statement timeout: on a connection
            // taken out of the pool, so that the setting goes with it.
            let mut conn = conn.detach();
            conn.execute_raw("SET statement_timeout = 0".into()).await?;
            let built = conn.execute_raw(sql).await;
            let _ = sqlx::Connection::close(conn).await;
            return Ok(built?);
        }
        Ok(conn.execute_raw(sql).await?)
    }
}
