//! The extra indexes that keep cleanup and statistics index scans (owned mode creates them in
//! its migration `0002_session_management_indexes.sql`). In shared mode they are created only
//! on request (`sessionkeeper migrate --indexes`), from the mapped names.

use super::schema::{Schema, TenantColumn, q};
use crate::store::Backend;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub table: String,
    /// The column list, already quoted: `"userId", "updatedAt" DESC`.
    pub columns: String,
    /// What it is for, printed next to it.
    pub purpose: &'static str,
}

/// PostgreSQL truncates identifiers at 63 bytes, which could make two names collide.
const MAX_NAME: usize = 63;

fn index_name(table: &str, what: &str) -> String {
    let name = format!("sessionkeeper_{table}_{what}_idx");
    if name.len() <= MAX_NAME {
        return name;
    }
    // FNV-1a keeps a long name unique and stable across runs.
    let hash = name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    let mut short: String = name.chars().take(MAX_NAME - 17).collect();
    while short.len() > MAX_NAME - 17 {
        short.pop();
    }
    format!("{short}_{hash:016x}")
}

/// The indexes, named after the mapped table and columns (so with Better Auth's default names
/// they are exactly the owned-mode ones).
pub fn session_management_indexes(schema: &Schema) -> Vec<IndexDef> {
    let s = &schema.session;
    let mut out = vec![
        IndexDef {
            name: index_name(&s.table, &s.expires_at),
            table: s.table.clone(),
            columns: q(&s.expires_at),
            purpose: "cleanup of expired sessions, expired counts",
        },
        IndexDef {
            name: index_name(&s.table, &s.updated_at),
            table: s.table.clone(),
            columns: q(&s.updated_at),
            purpose: "cleanup of inactive sessions, inactive counts",
        },
        IndexDef {
            name: index_name(&s.table, &format!("{}_activity", s.user_id)),
            table: s.table.clone(),
            columns: format!(
                "{}, {} DESC, {} DESC, {} DESC",
                q(&s.user_id),
                q(&s.updated_at),
                q(&s.created_at),
                q(&s.id)
            ),
            purpose: "per-user session limits (most recently active first)",
        },
    ];
    match &schema.tenant {
        TenantColumn::User(c) => out.push(IndexDef {
            name: index_name(&schema.user.table, c),
            table: schema.user.table.clone(),
            columns: q(c),
            purpose: "tenant-scoped admin views",
        }),
        TenantColumn::Session(c) => out.push(IndexDef {
            name: index_name(&s.table, c),
            table: s.table.clone(),
            columns: q(c),
            purpose: "tenant-scoped admin views",
        }),
        TenantColumn::Absent => {}
    }
    out.extend([
        IndexDef {
            name: index_name(&s.table, &format!("{}_{}", s.created_at, s.id)),
            table: s.table.clone(),
            columns: format!("{} DESC, {} DESC", q(&s.created_at), q(&s.id)),
            purpose: "admin session listing (keyset pages, newest first), sessions created per day",
        },
        IndexDef {
            name: index_name(
                &s.table,
                &format!("{}_{}_{}", s.user_id, s.expires_at, s.updated_at),
            ),
            table: s.table.clone(),
            columns: format!(
                "{}, {}, {}",
                q(&s.user_id),
                q(&s.expires_at),
                q(&s.updated_at)
            ),
            purpose: "admin statistics: per-user and status counts in one index-only pass",
        },
        IndexDef {
            name: index_name(&s.table, &s.user_agent),
            table: s.table.clone(),
            columns: q(&s.user_agent),
            purpose: "admin statistics: sessions by browser, OS and device type",
        },
    ]);
    out
}

impl IndexDef {
    /// `CONCURRENTLY` on PostgreSQL (see `Dialect::index_ddl`).
    pub fn create_sql(&self, backend: Backend) -> String {
        let how = backend.dialect().index_ddl;
        format!(
            "CREATE INDEX {how}IF NOT EXISTS {} ON {} ({})",
            q(&self.name),
            q(&self.table),
            self.columns
        )
    }

    pub fn drop_sql(&self, backend: Backend) -> String {
        let how = backend.dialect().index_ddl;
        format!("DROP INDEX {how}IF EXISTS {}", q(&self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_the_owned_migration_ones() {
        let schema = Schema::default();
        let sql: Vec<String> = session_management_indexes(&schema)
            .iter()
            .map(|i| i.create_sql(Backend::Sqlite))
            .collect();
        // migrations/sqlite/auth/0002_session_management_indexes.sql, with IF NOT EXISTS.
        assert_eq!(
            sql,
            [
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_session_expiresAt_idx" ON "session" ("expiresAt")"#,
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_session_updatedAt_idx" ON "session" ("updatedAt")"#,
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_session_userId_activity_idx" ON "session" ("userId", "updatedAt" DESC, "createdAt" DESC, "id" DESC)"#,
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_user_tenantId_idx" ON "user" ("tenantId")"#,
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_session_createdAt_id_idx" ON "session" ("createdAt" DESC, "id" DESC)"#,
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_session_userId_expiresAt_updatedAt_idx" ON "session" ("userId", "expiresAt", "updatedAt")"#,
                r#"CREATE INDEX IF NOT EXISTS "sessionkeeper_session_userAgent_idx" ON "session" ("userAgent")"#,
            ]
        );
    }

    #[test]
    fn mapped_names_flow_into_the_indexes_and_postgres_builds_concurrently() {
        let mut schema = Schema::default();
        schema.session.table = "sessions".into();
        schema.session.user_id = "user_id".into();
        schema.session.updated_at = "updated_at".into();
        schema.tenant = TenantColumn::Absent;
        let defs = session_management_indexes(&schema);
        assert_eq!(defs.len(), 6);
        assert_eq!(
            defs[2].create_sql(Backend::Postgres),
            r#"CREATE INDEX CONCURRENTLY IF NOT EXISTS "sessionkeeper_sessions_user_id_activity_idx" ON "sessions" ("user_id", "updated_at" DESC, "createdAt" DESC, "id" DESC)"#
        );
        assert_eq!(
            defs[1].drop_sql(Backend::Postgres),
            r#"DROP INDEX CONCURRENTLY IF EXISTS "sessionkeeper_sessions_updated_at_idx""#
        );
    }

    #[test]
    fn long_names_stay_within_postgres_limit_and_distinct() {
        let a = index_name(&"t".repeat(40), &"c".repeat(40));
        let b = index_name(&"t".repeat(40), &format!("{}d", "c".repeat(39)));
        assert!(a.len() <= MAX_NAME && b.len() <= MAX_NAME);
        assert_ne!(a, b);
    }
}
