//! The one statement cache: every SQL text the store runs, built from the [`Schema`] names once
//! per (schema, backend) for the life of the process.
//!
//! Statements are `&'static str`: sqlx takes `'static` SQL without copying it. Tests open many
//! stores with the same schema, so the sets are shared, and only a new schema leaks a new set
//! (a few KiB). The admin views add one text per filter *shape* (see
//! [`AdminSql::intern`](super::admin_sql::AdminSql)), bounded by the number of shapes.

use super::Backend;
use super::account_sql::AccountSql;
use super::admin_sql::AdminSql;
use super::auth_sql::AuthSql;
use super::cleanup_sql::CleanupSql;
use super::ended_sql::EndedSql;
use super::outbox::OutboxSql;
use super::postgres::HeapSql;
use super::tables::Schema;
use super::tenant_policy::TenantSql;
use std::sync::Mutex;

pub struct Statements {
    pub auth: AuthSql,
    pub account: AccountSql,
    pub admin: AdminSql,
    pub cleanup: CleanupSql,
    pub ended: EndedSql,
    pub outbox: OutboxSql,
    pub tenant: TenantSql,
    /// PostgreSQL's heap walk; `None` elsewhere.
    pub heap: Option<HeapSql>,
}

/// The statements for `schema` on `backend`, built the first time they are asked for.
pub fn for_schema(schema: &Schema, backend: Backend) -> &'static Statements {
    static CACHE: Mutex<Vec<(Schema, Backend, &'static Statements)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, found)) = cache.iter().find(|(s, b, _)| s == schema && *b == backend) {
        return found;
    }
    let dialect = backend.dialect();
    let built: &'static Statements = Box::leak(Box::new(Statements {
        auth: AuthSql::new(schema, dialect),
        account: AccountSql::new(schema, dialect),
        admin: AdminSql::new(schema, dialect),
        cleanup: CleanupSql::new(schema, dialect),
        ended: EndedSql::new(schema),
        outbox: OutboxSql::new(dialect.claim_lock),
        tenant: TenantSql::new(schema, dialect),
        heap: dialect.heap_walk_sql.map(|build| build(schema)),
    }));
    cache.push((schema.clone(), backend, built));
    built
}

/// A `'static` copy of a statement text.
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}
