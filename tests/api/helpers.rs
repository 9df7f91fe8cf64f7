//! The test harness: `spawn_app` starts the whole server on 127.0.0.1:0 against a fresh
//! database, with a manual clock.

#![allow(dead_code)]

use reqwest::header::HeaderMap;
use serde_json::Value;
use sessionkeeper::app::Application;
use sessionkeeper::cleanup::CleanupService;
use sessionkeeper::config::{Config, Sources};
use sessionkeeper::domain::ManualClock;
use sessionkeeper::service::SessionKeeper;
use sessionkeeper::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
pub const BASE_URL: &str = "http://localhost:3001";
pub const PASSWORD: &str = "correct-horse-battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
    /// PostgreSQL through a transaction-mode PgBouncer (`TEST_POOLER_DATABASE_URL`), the server
    /// running with `DATABASE_POOLER=transaction`.
    Pooled,
}

/// A fresh database: a SQLite file in a temporary directory, or a new PostgreSQL database on
/// the server named by `TEST_DATABASE_URL` (dropped when the test ends).
pub struct TestDb {
    pub url: String,
    /// Through a pooler: the same database without it (for migrations and test set-up).
    pub direct_url: Option<String>,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

/// The PostgreSQL server for tests. In CI (`CI=true`) it must be set and reachable, so the
/// PostgreSQL half fails rather than skips.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("TEST_DATABASE_URL is not set in CI: the PostgreSQL tests must run");
            }
            None
        }
    }
}

/// The transaction-mode PgBouncer in front of `TEST_DATABASE_URL`'s server that
/// `scripts/test` starts. In CI it must be set, so the pooler tests fail rather than skip.
pub fn pooler_url() -> Option<String> {
    match std::env::var("TEST_POOLER_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("TEST_POOLER_DATABASE_URL is not set in CI: the pooler tests must run");
            }
            None
        }
    }
}

impl TestDb {
    pub async fn new(db: Db) -> Option<TestDb> {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(TestDb {
                    url,
                    direct_url: None,
                    _dir: Some(dir),
                    pg_drop: None,
                })
            }
            Db::Pooled => {
                let Some(pooler) = pooler_url() else {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "skipped: pooler half of this test (scripts/test starts a PgBouncer and sets TEST_POOLER_DATABASE_URL)"
                    );
                    return None;
                };
                let mut direct = Box::pin(TestDb::new(Db::Postgres)).await?;
                let name = direct.pg_drop.as_ref().map(|(_, n)| n.clone())?;
                direct.direct_url = Some(std::mem::replace(
                    &mut direct.url,
                    with_database(&pooler, &name),
                ));
                Some(direct)
            }
            Db::Postgres => {
                let Some(admin) = pg_admin_url() else {
                    // Straight to stderr: libtest captures eprintln!, and a skip must be seen.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "skipped: PostgreSQL half of this test (set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run it)"
                    );
                    return None;
                };
                let name = format!(
                    "sk_test_{}",
                    sessionkeeper::domain::ids::generate_id(12).to_lowercase()
                );
                let mut conn = pg_connect(&admin).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = with_database(&admin, &name);
                Some(TestDb {
                    url,
                    direct_url: None,
                    _dir: None,
                    pg_drop: Some((admin, name)),
                })
            }
        }
    }
}

impl TestDb {
    /// The same database, for a second server; only the original drops it.
    pub fn share(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            direct_url: self.direct_url.clone(),
            _dir: None,
            pg_drop: None,
        }
    }
}

async fn pg_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at TEST_DATABASE_URL is unreachable: {e}"))
}

fn with_database(admin: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_drop.take() {
            // Dropped from a plain thread: Drop may run inside or outside a runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        let mut conn = pg_connect(&admin).await;
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    });
                }
            })
            .join();
        }
    }
}

impl TestDb {
    /// A database another `TestDb` owns (and drops), opened again at `url`.
    pub fn unowned(url: &str) -> TestDb {
        TestDb {
            url: url.to_owned(),
            direct_url: None,
            _dir: None,
            pg_drop: None,
        }
    }

    /// The URL for test set-up and inspection: the direct one when the server goes through a
    /// pooler.
    pub fn setup_url(&self) -> &str {
        self.direct_url.as_deref().unwrap_or(&self.url)
    }

    /// `settings` with, through a pooler, the pooler mode and the direct URL for migrations
    /// first (a test's own settings come later and win).
    pub fn pooler_settings(&self, settings: Settings) -> Settings {
        match &self.direct_url {
            Some(direct) => {
                let mut all = Settings::new()
                    .set("DATABASE_POOLER", "transaction")
                    .set("DATABASE_DIRECT_URL", direct);
                all.0.extend(settings.0);
                all
            }
            None => settings,
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub http: reqwest::Client,
    pub keeper: Arc<SessionKeeper>,
    pub cleanup: Arc<CleanupService>,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Settings for a test server, as environment variables (the same names users set).
pub struct Settings(pub Vec<(String, String)>);

impl Settings {
    pub fn new() -> Self {
        Settings(vec![])
    }
    pub fn set(mut self, k: &str, v: &str) -> Self {
        self.0.push((k.into(), v.into()));
        self
    }
}

pub fn test_config(db_url: &str, settings: &Settings) -> Config {
    let mut env: std::collections::HashMap<String, String> = [
        ("BETTER_AUTH_SECRET", SECRET),
        ("BASE_URL", BASE_URL),
        ("LISTEN_ADDR", "127.0.0.1:0"),
        ("DATABASE_URL", db_url),
        ("AUTOMATIC_SESSION_CLEANUP", "false"),
        ("DATABASE_MAX_CONNECTIONS", "5"),
        // Sign-ins on a loaded machine (tests hash passwords in parallel, and queue for the
        // hashing threads) can take longer than the production default.
        ("REQUEST_TIMEOUT_SECONDS", "300"),
        // Every test talks from 127.0.0.1; only the rate-limit tests turn the limiter on.
        ("RATE_LIMIT_ENABLED", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(settings.0.iter().cloned());
    Config::load(&Sources {
        env,
        ..Default::default()
    })
    .expect("test config")
}

/// Starts the server on a fresh database; `None` when that store is not available here.
pub async fn spawn_app(db: Db) -> Option<TestApp> {
    spawn_app_with(db, Settings::new()).await
}

pub async fn spawn_app_with(db: Db, settings: Settings) -> Option<TestApp> {
    let db = TestDb::new(db).await?;
    Some(spawn_on(db, settings).await.expect("app starts"))
}

/// Starts the server on a database that already exists (e.g. one a Better Auth app made);
/// the start-up error when it refuses to.
pub async fn spawn_on(
    db: TestDb,
    settings: Settings,
) -> Result<TestApp, sessionkeeper::app::StartError> {
    spawn_on_clock(db, settings, false).await
}

/// [`spawn_on`] with the wall clock when `real_clock` (for comparisons with a Node server,
/// which keeps real time); `TestApp::clock` then steers nothing.
pub async fn spawn_on_clock(
    db: TestDb,
    settings: Settings,
    real_clock: bool,
) -> Result<TestApp, sessionkeeper::app::StartError> {
    let config = test_config(&db.url, &db.pooler_settings(settings));
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let used: Arc<dyn sessionkeeper::domain::Clock> = if real_clock {
        Arc::new(sessionkeeper::domain::SystemClock)
    } else {
        clock.clone()
    };
    let app = Application::build_with_clock(config, used).await?;
    let addr = app.local_addr();
    let keeper = app.keeper().clone();
    let cleanup = app.cleanup().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Ok(TestApp {
        addr,
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        keeper,
        cleanup,
        clock,
        db,
        shutdown: Some(tx),
    })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Res {
    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    }

    /// `name=value` of the session cookie this response set, for a later `Cookie` header.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| {
                c.starts_with("better-auth.session_token=")
                    && !c.starts_with("better-auth.session_token=;")
            })
            .map(|c| c.split(';').next().unwrap_or_default().to_string())
    }

    pub fn auth_token(&self) -> Option<String> {
        self.headers
            .get("set-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    pub fn store(&self) -> &Arc<dyn Store> {
        self.keeper.core().store()
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Res {
        let res = req.send().await.expect("request reaches the server");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Res {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Res {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req).await
    }

    /// A POST from the trusted origin, as a browser would send it.
    pub async fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> Res {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("origin", BASE_URL)
            .json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req).await
    }

    pub async fn sign_up(&self, email: &str) -> Res {
        let body = serde_json::json!({"name": "Test User", "email": email, "password": PASSWORD});
        let res = self.post("/api/auth/sign-up/email", None, body).await;
        assert_eq!(res.status, 200, "sign-up failed: {:?}", res.body);
        res
    }

    pub async fn sign_in(&self, email: &str) -> Res {
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        let res = self.post("/api/auth/sign-in/email", None, body).await;
        assert_eq!(res.status, 200, "sign-in failed: {:?}", res.body);
        res
    }

    /// Signs up and returns the session cookie.
    pub async fn user_cookie(&self, email: &str) -> String {
        self.sign_up(email)
            .await
            .session_cookie()
            .expect("session cookie")
    }
}

/// Runs the same test body on SQLite and on PostgreSQL:
/// `both_stores!(name, |app| async move { ... });` or with settings
/// `both_stores!(name, settings, |app| ...)`.
#[macro_export]
macro_rules! both_stores {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::both_stores!($name, $crate::helpers::Settings::new(), |$app| $body);
    };
    ($name:ident, $settings:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some($app) =
                    $crate::helpers::spawn_app_with($crate::helpers::Db::Sqlite, $settings).await
                else {
                    return;
                };
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) =
                    $crate::helpers::spawn_app_with($crate::helpers::Db::Postgres, $settings).await
                else {
                    return;
                };
                $body.await
            }
        }
    };
}

/// [`both_stores!`], and the same body once more on PostgreSQL through the transaction-mode
/// PgBouncer that `scripts/test` starts (`pooled`): the tests that CI runs through a pooler.
#[macro_export]
macro_rules! all_stores {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::all_stores!($name, $crate::helpers::Settings::new(), |$app| $body);
    };
    ($name:ident, $settings:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(db: $crate::helpers::Db) {
                let Some($app) = $crate::helpers::spawn_app_with(db, $settings).await else {
                    return;
                };
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::Db::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::helpers::Db::Postgres).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pooled() {
                run($crate::helpers::Db::Pooled).await
            }
        }
    };
}

impl TestApp {
    pub fn clock_now(&self) -> time::OffsetDateTime {
        use sessionkeeper::domain::Clock;
        self.clock.now()
    }
}
