//! PostgreSQL behind a transaction-mode pooler (`DATABASE_POOLER=transaction`: PgBouncer's
//! `pool_mode = transaction`, Supavisor's port 6543, Neon's pooled endpoint, RDS Proxy).
//!
//! The pooler lends a server connection for one transaction at a time, so nothing may outlive
//! a transaction:
//!
//! - no named prepared statements: statements go unnamed (`persistent(false)`, see `named` in
//!   `mod.rs`) and sqlx's per-connection statement cache is off;
//! - sqlx prepares an unnamed statement in one exchange (Parse, Describe, Sync) and runs it in
//!   the next (Bind, Execute, Sync); between the two, outside a transaction, the pooler may
//!   hand the next exchange to another server connection, which lacks the statement. So every
//!   statement runs inside a transaction, opened by [`BEGIN`];
//! - no startup `options` (PgBouncer refuses them) and no session `SET`: the time zone is set
//!   by [`BEGIN`] for each transaction (`SET LOCAL`, undone at its end), so a `timestamp
//!   without time zone` column is read, written and compared as UTC whatever the server's
//!   `TimeZone`;
//! - no advisory locks and no `LISTEN`: the per-user limit locks the user row inside the
//!   sign-in's transaction, and the cleanup's lease is a row (`sessionkeeper_lease`);
//! - migrations (sqlx's migrator takes a session-level advisory lock) run over
//!   `DATABASE_DIRECT_URL` (see `tables/startup.rs`); through the pooler they are only checked.

use crate::config::Pooler;
use crate::store::StoreError;
use crate::store::engine::{Read, Run};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions};
use sqlx::{Arguments, PgPool};
use std::collections::BTreeSet;

/// Opens every transaction: one simple-protocol message, so the time zone and `jit` (see
/// `mod.rs`) cost no extra round trip.
pub(super) const BEGIN: &str = "BEGIN; SET LOCAL TIME ZONE 'UTC'; SET LOCAL jit = off";

/// The connection settings that survive a transaction-mode pooler. sqlx still sends
/// `extra_float_digits` at start-up, which PgBouncer needs in `ignore_startup_parameters`.
pub(super) fn connect_options(options: PgConnectOptions) -> PgConnectOptions {
    options.statement_cache_capacity(0)
}

/// The tables where sqlx's migrator records the versions it applied.
pub(super) const AUTH_MIGRATIONS: &str = "sessionkeeper_auth_migrations";
pub(super) const OWN_MIGRATIONS: &str = "sessionkeeper_migrations";

/// Fails with what to do when `migrator` has versions that `table` does not list.
pub(super) async fn check_applied(
    pool: &PgPool,
    migrator: &Migrator,
    table: &'static str,
) -> Result<(), StoreError> {
    let applied = applied_versions(pool, table).await?;
    let pending = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .count();
    if pending == 0 {
        return Ok(());
    }
    Err(StoreError::Schema(format!(
        "{pending} database migration(s) are not applied ({table}), and migrations cannot run \
         through a transaction-mode pooler (DATABASE_POOLER=transaction): set \
         DATABASE_DIRECT_URL to a direct connection to the same database (Prisma's directUrl; \
         on Supabase the session pooler or direct connection on port 5432), or run \
         `sessionkeeper migrate` once with DATABASE_URL set to one"
    )))
}

async fn applied_versions(
    pool: &PgPool,
    table: &'static str,
) -> Result<BTreeSet<i64>, sqlx::Error> {
    let versions_sql = match table {
        AUTH_MIGRATIONS => {
            "SELECT version AS \"version\" FROM sessionkeeper_auth_migrations WHERE success"
        }
        _ => "SELECT version AS \"version\" FROM sessionkeeper_migrations WHERE success",
    };
    let unnamed = Pooler::Transaction;
    let mut tx = pool.begin_with(BEGIN).await?;
    let mut args = PgArguments::default();
    args.add(table).map_err(sqlx::Error::Encode)?;
    let present = tx
        .fetch_optional(
            "SELECT to_regclass($1) IS NOT NULL AS \"present\"",
            args,
            unnamed,
        )
        .await?
        .map(|row| row.flag("present"))
        .transpose()?
        .unwrap_or(false);
    let mut versions = BTreeSet::new();
    if present {
        let rows = tx
            .fetch_all(versions_sql, PgArguments::default(), unnamed)
            .await?;
        for row in rows {
            versions.insert(row.int("version")?);
        }
    }
    tx.commit().await?;
    Ok(versions)
}
