//! Admin API latency with a million sessions in PostgreSQL, against a baseline measured in the
//! same run (`SELECT count(*) FROM session`). See bench/admin/README.md.
//!
//! `cargo run --release --example admin_bench` (env: BENCH_DATABASE_URL, BENCH_SESSIONS,
//! BENCH_RESEED=1 to rebuild the data set).

use sessionkeeper::app::Application;
use sessionkeeper::config::{Config, Sources};
use sqlx::Connection;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-service-token-0123456789";
const DB: &str = "sk_bench_admin";
const USERS: i64 = 100_000;
const TENANTS: i64 = 20;

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "curl/8.5.0",
    "",
];

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn with_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("BENCH_DATABASE_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

async fn exec(conn: &mut sqlx::PgConnection, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .expect("bench SQL");
}

/// Creates and fills the bench database unless it already holds `sessions` rows.
async fn seed(admin_url: &str, url: &str, sessions: i64) {
    let reseed = std::env::var("BENCH_RESEED").is_ok_and(|v| v == "1");
    if !reseed && let Ok(mut conn) = sqlx::PgConnection::connect(url).await {
        let n: Result<i64, _> = sqlx::query_scalar("SELECT count(*) FROM session")
            .fetch_one(&mut conn)
            .await;
        if n.as_ref().is_ok_and(|n| *n == sessions) {
            println!("reusing {DB} ({sessions} sessions); BENCH_RESEED=1 rebuilds it");
            return;
        }
    }
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("PostgreSQL reachable");
    exec(
        &mut admin,
        format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
    )
    .await;
    exec(&mut admin, format!("CREATE DATABASE {DB}")).await;
    // Migrations first, through the application itself.
    let store = sessionkeeper::store::connect(url, 2, sessionkeeper::store::Schema::default())
        .await
        .expect("store");
    store
        .migrate(sessionkeeper::config::Mode::Owned)
        .await
        .expect("migrate");
    let mut conn = sqlx::PgConnection::connect(url).await.expect("bench db");
    let started = Instant::now();
    exec(
        &mut conn,
        format!(
            "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role, banned, \"tenantId\") \
             SELECT 'u' || g, 'User ' || g, 'user' || g || '@bench.test', false, now() - interval '90 days', now() - interval '90 days', \
             'user', false, CASE WHEN g % 50 = 0 THEN NULL ELSE 'tenant-' || (g % {TENANTS}) END FROM generate_series(1, {USERS}) g"
        ),
    )
    .await;
    let agents: Vec<String> = AGENTS
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "''")))
        .collect();
    // Uncorrelated random data (fixed seed): created over 60 days, last used between creation
    // and now (so some are inactive), about one in seven already expired, ten sessions per
    // user on average and a thousand heavy users far over the limit.
    exec(&mut conn, "SELECT setseed(0.42)".into()).await;
    exec(
        &mut conn,
        format!(
            "INSERT INTO session (id, \"expiresAt\", token, \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\", \"userId\") \
             SELECT 's' || lpad(g::text, 9, '0'), now() + (r1 * 14 - 2) * interval '1 day', md5(g::text) || md5((g + 7)::text), \
             now() - r2 * interval '60 days', now() - r2 * r3 * interval '60 days', \
             '10.' || (g % 250) || '.' || (g % 200) || '.' || (g % 100), (ARRAY[{}])[1 + floor(r4 * {})::int], \
             'u' || (1 + CASE WHEN r5 < 0.1 THEN floor(r6 * 1000) ELSE floor(r6 * {USERS}) END)::bigint \
             FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6 \
                   FROM generate_series(1, {sessions}) g) x",
            agents.join(", "),
            AGENTS.len()
        ),
    )
    .await;
    exec(&mut conn, "VACUUM ANALYZE".into()).await;
    println!(
        "seeded {sessions} sessions and {USERS} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

struct Timing {
    median: f64,
    p95: f64,
}

/// Median and 95th percentile in milliseconds of `runs` calls, after `warmup` unmeasured ones.
async fn time<F, Fut>(warmup: usize, runs: usize, mut f: F) -> Timing
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        f().await;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let p95 = ms[((runs as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(runs - 1)];
    Timing {
        median: ms[runs / 2],
        p95,
    }
}

#[tokio::main]
async fn main() {
    let admin_url = env(
        "BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let sessions: i64 = env("BENCH_SESSIONS", "1000000")
        .parse()
        .expect("BENCH_SESSIONS is a number");
    let url = with_db(&admin_url, DB);
    seed(&admin_url, &url, sessions).await;

    let env_vars = [
        ("DATABASE_URL", url.as_str()),
        ("ADMIN_API_TOKEN", TOKEN),
        (
            "BETTER_AUTH_SECRET",
            "bench-secret-0123456789abcdef0123456789",
        ),
        ("LISTEN_ADDR", "127.0.0.1:0"),
        ("AUTOMATIC_SESSION_CLEANUP", "false"),
        ("DATABASE_MAX_CONNECTIONS", "10"),
    ];
    let sources = Sources {
        env: env_vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let config = Config::load(&sources).expect("bench config");
    let app = Application::build(config).await.expect("server starts");
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let fetch = |path: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let res = http
                .get(format!("{base}{path}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("request");
            assert!(res.status().is_success(), "{path}: {}", res.status());
            res.json::<serde_json::Value>().await.expect("json")
        }
    };

    let first = fetch("/api/admin/sessions?limit=50".into()).await;
    let mut cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    for _ in 0..200 {
        let page = fetch(format!("/api/admin/sessions?limit=50&cursor={cursor}")).await;
        cursor = page["nextCursor"]
            .as_str()
            .expect("a next page")
            .to_string();
    }
    let stats = fetch("/api/admin/sessions/stats".into()).await;
    println!(
        "data: {} sessions ({} expired, {} inactive), {} users with sessions, {} over the limit",
        stats["totalSessions"],
        stats["expiredSessions"],
        stats["inactiveSessions"],
        stats["usersWithSessions"],
        stats["usersOverLimit"]
    );

    let pg = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("bench db");
    let (warmup, runs) = (3, 21);
    let baseline = time(warmup, runs, || {
        let pg = pg.clone();
        async move {
            let _: i64 = sqlx::query_scalar("SELECT count(*) FROM session")
                .fetch_one(&pg)
                .await
                .expect("count");
        }
    })
    .await;
    let cases: Vec<(&str, String, Option<f64>)> = vec![
        (
            "stats (all tenants)",
            "/api/admin/sessions/stats".into(),
            Some(300.0),
        ),
        (
            "stats (one tenant)",
            "/api/admin/sessions/stats?tenantId=tenant-3".into(),
            Some(300.0),
        ),
        (
            "list: first page of 50",
            "/api/admin/sessions?limit=50".into(),
            Some(50.0),
        ),
        (
            "list: page 202 (cursor)",
            format!("/api/admin/sessions?limit=50&cursor={cursor}"),
            Some(50.0),
        ),
        (
            "list: tenant + active",
            "/api/admin/sessions?limit=50&tenantId=tenant-3&status=active".into(),
            Some(50.0),
        ),
        (
            "list: one user",
            "/api/admin/sessions?limit=50&userId=u42".into(),
            Some(50.0),
        ),
        (
            "list: user agent text",
            "/api/admin/sessions?limit=50&userAgent=android".into(),
            Some(50.0),
        ),
    ];
    println!("\n| what | median ms | p95 ms | × baseline | target |");
    println!("|---|---:|---:|---:|---|");
    println!(
        "| baseline: `SELECT count(*) FROM session` (direct SQL) | {:.1} | {:.1} | 1.00 | |",
        baseline.median, baseline.p95
    );
    let mut failed = false;
    for (name, path, target) in cases {
        let t = time(warmup, runs, || {
            let f = fetch(path.clone());
            async move {
                f.await;
            }
        })
        .await;
        let verdict = match target {
            Some(limit) if t.median < limit => format!("< {limit} ms: met"),
            Some(limit) => {
                failed = true;
                format!("< {limit} ms: MISSED")
            }
            None => String::new(),
        };
        println!(
            "| {name} (HTTP) | {:.1} | {:.1} | {:.2} | {verdict} |",
            t.median,
            t.p95,
            t.median / baseline.median
        );
    }
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(100)).await;
    if failed {
        std::process::exit(1);
    }
}
