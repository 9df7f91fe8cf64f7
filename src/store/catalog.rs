//! What the database itself says about its tables and indexes, for the start-up schema check
//! and `migrate --indexes`. Read-only except for [`CatalogStore::create_index`].

use super::{Result, Schema, Store};
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

macro_rules! impl_catalog {
    ($store:ty, $columns_sql:expr, $index_sql:expr) => {
        #[async_trait]
        impl CatalogStore for $store {
            fn schema(&self) -> &Schema {
                &self.schema
            }

            fn with_schema(&self, schema: Schema) -> Arc<dyn Store> {
                Arc::new(<$store>::with_pools(
                    self.pool.clone(),
                    self.lookups.clone(),
                    schema,
                ))
            }

            async fn table_columns(&self, table: &str) -> Result<Option<Vec<ColumnInfo>>> {
                let rows: Vec<(String, bool, bool)> = sqlx::query_as($columns_sql)
                    .bind(table)
                    .fetch_all(&self.pool)
                    .await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                Ok(Some(
                    rows.into_iter()
                        .map(|(name, not_null, has_default)| ColumnInfo {
                            name,
                            not_null,
                            has_default,
                        })
                        .collect(),
                ))
            }

            async fn index_state(&self, name: &str) -> Result<IndexState> {
                let valid: Option<bool> = sqlx::query_scalar($index_sql)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match valid {
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
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sessionkeeper_auth_migrations WHERE success",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(n > 0)
            }

            async fn run_index_ddl(&self, sql: String) -> Result<()> {
                // The simple protocol runs the statement on its own, outside any transaction.
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_catalog!(
    super::sqlite::SqliteStore,
    // `pk` covers INTEGER PRIMARY KEY rowid aliases, which fill themselves.
    r#"SELECT name, "notnull" <> 0, dflt_value IS NOT NULL OR (pk = 1 AND upper(type) = 'INTEGER') FROM pragma_table_info($1) ORDER BY cid"#,
    "SELECT 1 = 1 FROM sqlite_master WHERE type = 'index' AND name = $1"
);

impl_catalog!(
    super::postgres::PgStore,
    "SELECT a.attname::text, a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' \
     FROM pg_attribute a WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum",
    "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(quote_ident($1))"
);
