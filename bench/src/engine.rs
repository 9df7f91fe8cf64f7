//! The databases the bench creates: one per engine and server, named with the run's id, and
//! dropped (PostgreSQL) or deleted (SQLite) at the end. Nothing else is touched.

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool, SqlitePool};
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Sqlite => "SQLite",
        }
    }
}

/// Where a bench database lives, and how each server is pointed at it.
#[derive(Debug, Clone)]
pub enum Location {
    /// A database on the admin server; `url` reaches it.
    Postgres {
        name: String,
        url: String,
        admin_url: String,
    },
    Sqlite {
        path: PathBuf,
    },
}

impl Location {
    pub fn postgres(admin_url: &str, name: &str) -> Self {
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        Self::Postgres {
            name: name.to_owned(),
            url: format!("{base}/{name}"),
            admin_url: admin_url.to_owned(),
        }
    }

    /// Creates the (empty) database.
    pub async fn create(&self) -> Result<(), String> {
        match self {
            Location::Postgres {
                name, admin_url, ..
            } => {
                let admin = PgPool::connect(admin_url)
                    .await
                    .map_err(|e| format!("connect {admin_url}: {e}"))?;
                admin
                    .execute(sqlx::raw_sql(AssertSqlSafe(format!(
                        "CREATE DATABASE \"{name}\""
                    ))))
                    .await
                    .map_err(|e| format!("create database {name}: {e}"))?;
                admin.close().await;
                Ok(())
            }
            Location::Sqlite { path } => {
                if path.exists() {
                    return Err(format!("{} already exists", path.display()));
                }
                Ok(())
            }
        }
    }

    /// Drops what [`create`](Self::create) made (and what the servers added to it).
    pub async fn destroy(&self) {
        match self {
            Location::Postgres {
                name, admin_url, ..
            } => {
                if let Ok(admin) = PgPool::connect(admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = admin.execute(sqlx::raw_sql(AssertSqlSafe(sql))).await {
                        eprintln!("warning: could not drop {name}: {e}");
                    }
                    admin.close().await;
                }
            }
            Location::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    }

    /// The URL sessionkeeper takes in `DATABASE_URL`.
    pub fn sessionkeeper_url(&self) -> String {
        match self {
            Location::Postgres { url, .. } => url.clone(),
            Location::Sqlite { path } => format!("sqlite://{}", path.display()),
        }
    }

    pub async fn open(&self) -> Result<Db, String> {
        match self {
            Location::Postgres { url, .. } => PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .map(Db::Postgres)
                .map_err(|e| format!("connect {url}: {e}")),
            Location::Sqlite { path } => {
                let options =
                    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                        .map_err(|e| e.to_string())?;
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .map(Db::Sqlite)
                    .map_err(|e| format!("open {}: {e}", path.display()))
            }
        }
    }
}

pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Db {
    pub async fn execute(&self, sql: &str) -> Result<(), String> {
        let done = match self {
            // Bench-generated SQL: every value is made by the bench itself (see seed.rs).
            Db::Postgres(p) => p
                .execute(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())))
                .await
                .map(|_| ()),
            Db::Sqlite(p) => p
                .execute(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())))
                .await
                .map(|_| ()),
        };
        done.map_err(|e| format!("{e} (in {}...)", &sql[..sql.len().min(120)]))
    }

    /// Fresh planner statistics, the same for both servers' databases.
    pub async fn analyze(&self) -> Result<(), String> {
        self.execute("ANALYZE").await
    }

    pub async fn close(self) {
        match self {
            Db::Postgres(p) => p.close().await,
            Db::Sqlite(p) => p.close().await,
        }
    }
}
