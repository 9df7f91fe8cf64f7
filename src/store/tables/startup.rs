//! Opening the store the configuration names, with the start-up checks of the tables: owned
//! mode refuses a Better Auth app's database and creates its schema; both modes then check the
//! tables and columns sessionkeeper needs (shared mode before writing anything, so a wrong
//! database is left exactly as it was) and drop absent plugin columns from the [`Schema`].

use super::check::{self, Expectations};
use super::schema::Schema;
use crate::config::{Config, Mode, Pooler, TenantSource};
use crate::store::{self, Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database is not one this configuration can use; the message says what to change.
    #[error("{0}")]
    Refused(String),
}

/// The table and column names the configuration asks for (before the start-up check has
/// dropped absent plugin columns).
pub fn schema_for(config: &Config) -> Schema {
    Schema::from_config(config)
}

/// What the start-up check must find, from the configuration.
fn expectations(config: &Config) -> Expectations {
    let mut required_optional = BTreeSet::new();
    if config.admin.tenant_source == TenantSource::ActiveOrganization {
        required_optional.insert("session.active_organization_id");
    }
    let mut explicit: BTreeSet<String> =
        config.schema.names.keys().map(|k| k.to_string()).collect();
    if config.schema.use_plural {
        explicit.extend(["user.table", "session.table", "account.table"].map(String::from));
    }
    Expectations {
        explicit,
        required_optional,
        sessions_in_redis: config.mode == Mode::Shared
            && config.secondary.session_storage == crate::config::SessionStorage::Secondary,
    }
}

/// Opens the store, creates what the mode owns and checks the tables. With
/// `create_own_tables` false, shared mode writes nothing at all (for dry runs).
pub async fn open_checked(
    config: &Config,
    create_own_tables: bool,
) -> Result<Arc<dyn Store>, OpenError> {
    if config.mode == Mode::Shared
        && let Some(path) = sqlite_path(&config.database_url)
        && !std::path::Path::new(path).exists()
    {
        return Err(OpenError::Refused(format!(
            "{path} does not exist: in shared mode DATABASE_URL must name the Better Auth app's existing database (sessionkeeper does not create it)"
        )));
    }
    let store = store::open_bounded(
        &config.database_url,
        config.database_max_connections,
        schema_for(config),
        config.mode,
        config.database_pooler,
        statement_timeout(config),
    )
    .await?;
    if config.mode == Mode::Owned {
        refuse_foreign_better_auth(&*store).await?;
        migrate(config, &*store).await?;
    }
    let checked = match check::verify(&*store, &expectations(config)).await {
        Ok(c) => c,
        Err(StoreError::Schema(message)) => return Err(OpenError::Refused(message)),
        Err(e) => return Err(e.into()),
    };
    for warning in &checked.warnings {
        tracing::warn!("schema: {warning}");
    }
    let store = if &checked.schema == store.schema() {
        store
    } else {
        store.with_schema(checked.schema)
    };
    if config.mode == Mode::Shared {
        if create_own_tables {
            migrate(config, &*store).await?;
        }
        let s = store.schema();
        tracing::info!(
            user = %s.user.table,
            session = %s.session.table,
            account = %s.account.table,
            admin_plugin = s.user.role.is_some(),
            organization_plugin = s.session.active_organization_id.is_some(),
            "shared mode: Better Auth's tables are left as they are"
        );
    }
    Ok(store)
}

/// Opens the store for session checks only (the library's validator): in either mode it
/// creates, migrates and changes nothing (a SQLite file must exist and keeps its journal
/// mode), so a read replica or a read-only role will do; then the same table check.
pub async fn open_read_only(config: &Config) -> Result<Arc<dyn Store>, OpenError> {
    if let Some(path) = sqlite_path(&config.database_url)
        && !std::path::Path::new(path).exists()
    {
        return Err(OpenError::Refused(format!(
            "{path} does not exist: DATABASE_URL must name the Better Auth app's existing database"
        )));
    }
    // Shared mode's connection settings are the ones that write nothing.
    let store = store::open_bounded(
        &config.database_url,
        config.database_max_connections,
        schema_for(config),
        Mode::Shared,
        config.database_pooler,
        statement_timeout(config),
    )
    .await?;
    let checked = match check::verify(&*store, &expectations(config)).await {
        Ok(c) => c,
        Err(StoreError::Schema(message)) => return Err(OpenError::Refused(message)),
        Err(e) => return Err(e.into()),
    };
    Ok(if &checked.schema == store.schema() {
        store
    } else {
        store.with_schema(checked.schema)
    })
}

/// `DATABASE_STATEMENT_TIMEOUT_SECONDS`; `None` when 0.
fn statement_timeout(config: &Config) -> Option<std::time::Duration> {
    (config.database_statement_timeout_seconds > 0)
        .then(|| std::time::Duration::from_secs(config.database_statement_timeout_seconds))
}

/// Runs the migrations over `DATABASE_DIRECT_URL` when one is set (as Prisma's `directUrl`),
/// else over the store's own connections; behind a transaction-mode pooler without a direct
/// URL that only checks, and refuses to start while any migration is pending.
async fn migrate(config: &Config, store: &dyn Store) -> Result<(), OpenError> {
    if let Some(direct) = config.database_direct_url.as_deref()
        && config.is_postgres()
    {
        let schema = store.schema().clone();
        let direct = store::open(direct, 1, schema, config.mode, Pooler::None).await?;
        return Ok(direct.migrate(config.mode).await?);
    }
    match store.migrate(config.mode).await {
        Err(StoreError::Schema(message)) => Err(OpenError::Refused(message)),
        other => Ok(other?),
    }
}

/// The file of a `sqlite:` URL, when it names one (not `:memory:`).
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Owned mode would try to create Better Auth's tables in a Better Auth app's database and
/// fail half-way with "already exists"; say what to do instead.
async fn refuse_foreign_better_auth(store: &dyn Store) -> Result<(), OpenError> {
    if !store.owned_schema_applied().await?
        && store
            .table_columns(&store.schema().session.table)
            .await?
            .is_some()
    {
        return Err(OpenError::Refused(
            "this database already has Better Auth tables that sessionkeeper did not create: to manage the sessions of an existing Better Auth app, set SESSIONKEEPER_MODE=shared (mode = \"shared\")".into(),
        ));
    }
    Ok(())
}
