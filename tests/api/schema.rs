//! Our owned-mode schema is Better Auth's own: the real better-auth creates its tables on one
//! database, our migrations on another, and every column, type, nullability, default and index
//! Better Auth made exists identically in ours.

use crate::compat::{BaServer, compat_dir};
use crate::helpers::*;
use sqlx::Row;
use std::collections::BTreeMap;

type Columns = BTreeMap<(String, String), String>;

async fn pg_columns(url: &str) -> (Columns, Vec<String>) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') AS d
         FROM information_schema.columns WHERE table_schema = 'public'
         AND table_name IN ('user', 'session', 'account', 'verification')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let cols = rows
        .iter()
        .map(|r| {
            let key = (r.get::<String, _>(0), r.get::<String, _>(1));
            (
                key,
                format!(
                    "{} null={} default={}",
                    r.get::<String, _>(2),
                    r.get::<String, _>(3),
                    r.get::<String, _>(4)
                ),
            )
        })
        .collect();
    let idx = sqlx::query("SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('user', 'session', 'account', 'verification')")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    pool.close().await;
    (cols, idx)
}

async fn sqlite_columns(url: &str) -> (Columns, Vec<String>) {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let mut cols = Columns::new();
    for t in ["user", "session", "account", "verification"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info(\"{t}\")")))
            .fetch_all(&pool)
            .await
            .unwrap();
        for r in rows {
            let name: String = r.get("name");
            let ty: String = r.get("type");
            let notnull: i64 = r.get("notnull");
            let default: Option<String> = r.get("dflt_value");
            let pk: i64 = r.get("pk");
            cols.insert(
                (t.to_string(), name),
                format!("{ty} notnull={notnull} default={default:?} pk={pk}"),
            );
        }
    }
    let idx = sqlx::query("SELECT name || ' ' || coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('user', 'session', 'account', 'verification')")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0).to_lowercase())
        .collect();
    pool.close().await;
    (cols, idx)
}

async fn compare(db: Db) {
    let Some(dir) = compat_dir() else { return };
    let Some(ours) = spawn_app(db).await else {
        return;
    };
    let Some(theirs_db) = TestDb::new(db).await else {
        return;
    };
    let env: Vec<(&str, &str)> = match db {
        Db::Sqlite => vec![
            (
                "SQLITE_PATH",
                theirs_db.url.strip_prefix("sqlite://").unwrap(),
            ),
            ("BA_PLUGINS", "organization"),
        ],
        Db::Postgres | Db::Pooled => vec![
            ("DATABASE_URL", theirs_db.url.as_str()),
            ("BA_PLUGINS", "organization"),
        ],
    };
    // Better Auth runs its own migrations (admin + organization plugins) before listening.
    let server = BaServer::start(&dir, &env);
    drop(server);
    let ((our_cols, our_idx), (their_cols, their_idx)) = match db {
        Db::Sqlite => (
            sqlite_columns(&ours.db.url).await,
            sqlite_columns(&theirs_db.url).await,
        ),
        Db::Postgres | Db::Pooled => (
            pg_columns(&ours.db.url).await,
            pg_columns(&theirs_db.url).await,
        ),
    };
    assert!(
        their_cols.len() >= 40,
        "Better Auth created its tables: {their_cols:?}"
    );
    for (key, def) in &their_cols {
        assert_eq!(
            our_cols.get(key),
            Some(def),
            "column {key:?} differs from Better Auth's"
        );
    }
    // Our only additions to Better Auth's tables: nullable, no default
    // (docs/better-auth-compat.md §1.5).
    let extra: Vec<_> = our_cols
        .keys()
        .filter(|k| !their_cols.contains_key(*k))
        .collect();
    assert_eq!(extra, vec![&("user".to_string(), "tenantId".to_string())]);
    assert!(our_cols[&("user".to_string(), "tenantId".to_string())].contains("null"));
    for index in &their_idx {
        assert!(
            our_idx.contains(index),
            "index {index} missing from ours: {our_idx:?}"
        );
    }
}

#[tokio::test]
async fn owned_schema_equals_better_auths_on_sqlite() {
    compare(Db::Sqlite).await;
}

#[tokio::test]
async fn owned_schema_equals_better_auths_on_postgres() {
    compare(Db::Postgres).await;
}
