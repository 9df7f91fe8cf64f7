//! The scale bench's data: a fresh database of `n` sessions (60 % expired, 15 % inactive,
//! 25 % active, the active ones crowded on 30 % of the users so that some are over the limit),
//! one user per 20 sessions, 20 tenants. PostgreSQL is filled with `COPY` from rows generated
//! here; SQLite with one `INSERT ... SELECT` over a recursive sequence in one transaction.

use sessionkeeper::domain::timefmt;
use sqlx::Connection;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

const TENANTS: u64 = 20;
/// Rows per `COPY` message.
const CHUNK: u64 = 20_000;

pub struct Target {
    /// What the server is given as DATABASE_URL.
    pub url: String,
    admin_url: String,
    name: String,
    file: PathBuf,
}

impl Target {
    pub fn new(postgres: bool, name: &str) -> Self {
        let admin_url = super::env_or(
            "BENCH_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        );
        let dir =
            std::env::var("BENCH_SQLITE_DIR").map_or_else(|_| std::env::temp_dir(), PathBuf::from);
        let file = dir.join(format!("{name}.db"));
        let url = if postgres {
            let mut u = url::Url::parse(&admin_url).expect("BENCH_DATABASE_URL is a URL");
            u.set_path(&format!("/{name}"));
            u.to_string()
        } else {
            format!("sqlite://{}", file.display())
        };
        Self {
            url,
            admin_url,
            name: name.to_owned(),
            file,
        }
    }
}

fn users(n: u64) -> u64 {
    (n / 20).max(1000)
}

async fn exec<C>(c: &mut C, sql: String)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut *c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops and creates the database, migrates it through the application and fills it; returns
/// the seconds the fill took.
pub async fn fresh(postgres: bool, t: &Target, n: u64) -> f64 {
    if postgres {
        let mut admin = sqlx::PgConnection::connect(&t.admin_url)
            .await
            .expect("PostgreSQL reachable");
        exec(
            &mut admin,
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", t.name),
        )
        .await;
        exec(&mut admin, format!("CREATE DATABASE {}", t.name)).await;
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", t.file.display()));
        }
    }
    let store = sessionkeeper::store::connect(&t.url, 2, sessionkeeper::store::Schema::default())
        .await
        .expect("store");
    store
        .migrate(sessionkeeper::config::Mode::Owned)
        .await
        .expect("migrate");
    drop(store);
    let started = Instant::now();
    if postgres {
        copy_postgres(t, n).await;
    } else {
        insert_sqlite(t, n).await;
    }
    started.elapsed().as_secs_f64()
}

/// The session `g`'s times: (expiresAt, updatedAt), from `now`.
fn times(g: u64, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let g = g as i64;
    match g % 20 {
        0..12 => (
            now - Duration::minutes(g % 10_000 + 1),
            now - Duration::days(8) - Duration::minutes(g % 10_000),
        ),
        12..15 => (
            now + Duration::days(g % 6 + 1),
            now - Duration::days(31 + g % 30),
        ),
        _ => (now + Duration::days(7), now - Duration::minutes(g % 1440)),
    }
}

fn user_of(g: u64, users: u64) -> u64 {
    if g % 20 < 15 {
        g % users
    } else {
        g % (users * 3 / 10)
    }
}

async fn copy_postgres(t: &Target, n: u64) {
    let mut c = sqlx::PgConnection::connect(&t.url).await.expect("bench db");
    let now = OffsetDateTime::now_utc();
    let stamp = timefmt::format(now);
    let u = users(n);
    let mut copy = c
        .copy_in_raw(
            "COPY \"user\" (\"id\", \"name\", \"email\", \"emailVerified\", \"createdAt\", \"updatedAt\", \"role\", \"banned\", \"tenantId\") FROM STDIN",
        )
        .await
        .expect("COPY user");
    let mut buf = String::new();
    for g in 0..u {
        let tenant = if g % 50 == 0 {
            "\\N".to_owned()
        } else {
            format!("tenant-{}", g % TENANTS)
        };
        let _ = writeln!(
            buf,
            "bu{g}\tbench\tbu{g}@example.com\tf\t{stamp}\t{stamp}\tuser\tf\t{tenant}"
        );
        if buf.len() > 1 << 20 {
            copy.send(std::mem::take(&mut buf).into_bytes())
                .await
                .expect("COPY user");
        }
    }
    copy.send(buf.into_bytes()).await.expect("COPY user");
    copy.finish().await.expect("COPY user");

    let mut copy = c
        .copy_in_raw(
            "COPY \"session\" (\"id\", \"token\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\", \"userId\") FROM STDIN",
        )
        .await
        .expect("COPY session");
    let mut g = 1;
    while g <= n {
        let mut buf = String::with_capacity(CHUNK as usize * 200);
        for g in g..(g + CHUNK).min(n + 1) {
            let (expires, updated) = times(g, now);
            let _ = writeln!(
                buf,
                "bs{g}\tbt{g:030}\t{}\t{}\t{}\t203.0.113.{}\tMozilla/5.0 (X11; Linux x86_64) bench/{}\tbu{}",
                timefmt::format(expires),
                timefmt::format(updated - Duration::hours(1)),
                timefmt::format(updated),
                g % 250,
                g % 7,
                user_of(g, u)
            );
        }
        copy.send(buf.into_bytes()).await.expect("COPY session");
        g += CHUNK;
    }
    copy.finish().await.expect("COPY session");
    exec(&mut c, "VACUUM ANALYZE".into()).await;
    exec(&mut c, "CHECKPOINT".into()).await;
}

async fn insert_sqlite(t: &Target, n: u64) {
    let mut c = sqlx::SqliteConnection::connect(&t.url)
        .await
        .expect("bench db");
    let u = users(n);
    let fmt = "'%Y-%m-%dT%H:%M:%fZ'";
    exec(&mut c, "PRAGMA journal_mode = WAL".into()).await;
    exec(&mut c, "PRAGMA synchronous = OFF".into()).await;
    exec(&mut c, "BEGIN".into()).await;
    exec(
        &mut c,
        format!(
            "WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < {last}) \
             INSERT INTO \"user\" (\"id\", \"name\", \"email\", \"emailVerified\", \"createdAt\", \"updatedAt\", \"role\", \"banned\", \"tenantId\") \
             SELECT 'bu' || x, 'bench', 'bu' || x || '@example.com', 0, strftime({fmt}, 'now'), strftime({fmt}, 'now'), 'user', 0, \
             CASE WHEN x % 50 = 0 THEN NULL ELSE 'tenant-' || (x % {TENANTS}) END FROM g",
            last = u - 1
        ),
    )
    .await;
    // The same shape as `times` and `user_of`, in SQL.
    let expires = format!(
        "CASE WHEN x % 20 < 12 THEN strftime({fmt}, 'now', printf('-%d minutes', x % 10000 + 1)) \
              WHEN x % 20 < 15 THEN strftime({fmt}, 'now', printf('+%d days', x % 6 + 1)) \
              ELSE strftime({fmt}, 'now', '+7 days') END"
    );
    let updated = |extra: &str| {
        format!(
            "CASE WHEN x % 20 < 12 THEN strftime({fmt}, 'now', '-8 days', printf('-%d minutes', x % 10000){extra}) \
                  WHEN x % 20 < 15 THEN strftime({fmt}, 'now', printf('-%d days', 31 + x % 30){extra}) \
                  ELSE strftime({fmt}, 'now', printf('-%d minutes', x % 1440){extra}) END"
        )
    };
    exec(
        &mut c,
        format!(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {n}) \
             INSERT INTO \"session\" (\"id\", \"token\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\", \"userId\") \
             SELECT 'bs' || x, printf('bt%030d', x), {expires}, {created}, {updated}, '203.0.113.' || (x % 250), \
             'Mozilla/5.0 (X11; Linux x86_64) bench/' || (x % 7), \
             'bu' || CASE WHEN x % 20 < 15 THEN x % {u} ELSE x % {crowd} END FROM g",
            created = updated(", '-1 hour'"),
            updated = updated(""),
            crowd = u * 3 / 10
        ),
    )
    .await;
    exec(&mut c, "COMMIT".into()).await;
    exec(&mut c, "ANALYZE".into()).await;
    exec(&mut c, "PRAGMA wal_checkpoint(TRUNCATE)".into()).await;
}

/// The database's size in MB (SQLite: the file and its WAL).
pub async fn size_mb(postgres: bool, t: &Target) -> f64 {
    if postgres {
        let mut c = sqlx::PgConnection::connect(&t.url).await.expect("bench db");
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&mut c)
            .await
            .expect("size");
        bytes as f64 / 1e6
    } else {
        ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", t.file.display())).ok())
            .map(|m| m.len() as f64)
            .sum::<f64>()
            / 1e6
    }
}

/// Removes what the bench created.
pub async fn remove(postgres: bool, t: &Target) {
    if postgres {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&t.admin_url).await {
            exec(
                &mut admin,
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", t.name),
            )
            .await;
        }
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", t.file.display()));
        }
    }
}
