//! How long `SESSION_STORAGE=secondary` holds Redis at a time (see bench/redis_walk/README.md):
//!
//!   cargo run --release --example redis_walk
//!
//! Starts a throwaway `redis-server` on its own port (BENCH_REDIS_PORT, default 6394, nothing
//! saved to disk), fills it with BENCH_USERS (100000) users × BENCH_SESSIONS_PER_USER (10)
//! sessions in Better Auth's layout (pipelined), and runs, against a shared-mode server on a
//! throwaway SQLite database without a session table: the session statistics (one full walk),
//! a cleanup dry run, and a real cleanup. For each it prints the wall time and what Redis itself
//! measured: the longest single command from `SLOWLOG` (every command at or over
//! BENCH_SLOWLOG_US microseconds, default 20, is logged; the rest were shorter), and per command
//! the calls and mean time from `INFO commandstats`. These are Redis's own execution times, so
//! they hold on a loaded machine; the wall times do not. The server is stopped at the end,
//! which drops every key.

use sessionkeeper::app::Application;
use sessionkeeper::config::{Config, Sources};
use sessionkeeper::domain::Scope;
use sessionkeeper::domain::run::Trigger;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-service-token-0123456789abcdef";
const PREFIX: &str = "better-auth:";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn iso(t: time::OffsetDateTime) -> String {
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).expect("time");
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// Per user: 2 expired (one with its TTL floored to none, #10992), 1 idle for 40 days, the rest
/// active; with a limit of 5 the excess layer takes 2 of every 10.
async fn seed(conn: &mut redis::aio::MultiplexedConnection, users: u64, per_user: u64) {
    let t = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let day = time::Duration::days(1);
    for chunk in (0..users).collect::<Vec<_>>().chunks(500) {
        let mut pipe = redis::pipe();
        for &u in chunk {
            let user_id = format!("bu{u}");
            let user = serde_json::json!({
                "name": "Bench", "email": format!("{user_id}@example.com"),
                "emailVerified": false, "image": null,
                "createdAt": iso(now - day * 30), "updatedAt": iso(now - day * 30),
                "id": user_id,
            });
            let mut list = Vec::new();
            for i in 0..per_user {
                let token = format!("bt{u}x{i}");
                let (expires, updated) = match i {
                    0 | 1 => (now - time::Duration::hours(1), now - day * 8),
                    2 => (now + day * 5, now - day * 40),
                    _ => (now + day * 7, now - time::Duration::minutes(i as i64)),
                };
                let value = serde_json::json!({
                    "session": {
                        "id": format!("bs{u}x{i}"), "token": token, "userId": user_id,
                        "expiresAt": iso(expires), "createdAt": iso(updated - day),
                        "updatedAt": iso(updated), "ipAddress": "203.0.113.7",
                        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) bench",
                    },
                    "user": user,
                });
                let key = format!("{PREFIX}{token}");
                if i == 1 {
                    pipe.set(key, value.to_string()).ignore();
                } else {
                    pipe.set_ex(key, value.to_string(), 86_400 * 7).ignore();
                }
                let at = (expires.unix_timestamp_nanos() / 1_000_000) as i64;
                list.push(serde_json::json!({"token": token, "expiresAt": at}));
            }
            let last = list
                .iter()
                .filter_map(|e| e["expiresAt"].as_i64())
                .max()
                .unwrap_or(now_ms);
            let ttl = ((last - now_ms) / 1000).max(1) as u64;
            let list_key = format!("{PREFIX}active-sessions-{user_id}");
            pipe.set_ex(list_key, serde_json::Value::from(list).to_string(), ttl)
                .ignore();
        }
        let () = pipe.query_async(conn).await.expect("seed");
    }
    println!(
        "seeded {} sessions of {users} users in {:.1} s",
        users * per_user,
        t.elapsed().as_secs_f64()
    );
}

async fn cmd<T: redis::FromRedisValue>(
    conn: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(conn)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs `phase` with Redis's slow log and command statistics recording, then prints them.
async fn measured<F: std::future::Future<Output = String>>(
    conn: &mut redis::aio::MultiplexedConnection,
    name: &str,
    slowlog_us: u64,
    phase: F,
) {
    let () = cmd(conn, &["SLOWLOG", "RESET"]).await;
    let () = cmd(conn, &["CONFIG", "RESETSTAT"]).await;
    let threshold = slowlog_us.to_string();
    let () = cmd(
        conn,
        &["CONFIG", "SET", "slowlog-log-slower-than", &threshold],
    )
    .await;
    let t = Instant::now();
    let outcome = phase.await;
    let secs = t.elapsed().as_secs_f64();
    let () = cmd(conn, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]).await;
    let log: Vec<(i64, i64, i64, Vec<String>)> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query_async::<Vec<redis::Value>>(conn)
        .await
        .expect("SLOWLOG GET")
        .into_iter()
        .filter_map(|entry| match entry {
            redis::Value::Array(parts) => {
                let mut p = parts.into_iter();
                let id = redis::from_redis_value(p.next()?).ok()?;
                let at = redis::from_redis_value(p.next()?).ok()?;
                let us = redis::from_redis_value(p.next()?).ok()?;
                let args = redis::from_redis_value(p.next()?).ok()?;
                Some((id, at, us, args))
            }
            _ => None,
        })
        .collect();
    let stats: String = cmd(conn, &["INFO", "commandstats"]).await;
    println!("\n## {name}: {secs:.2} s wall; {outcome}");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut longest: Vec<&(i64, i64, i64, Vec<String>)> = log.iter().collect();
    longest.sort_by_key(|e| std::cmp::Reverse(e.2));
    let over_ms = log.iter().filter(|e| e.2 >= 1000).count();
    println!(
        "{} commands at or over {slowlog_us} µs, {over_ms} at or over 1 ms; load average {}",
        log.len(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (_, _, us, args) in longest.into_iter().take(5) {
        let shown: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
        println!("  {us} µs: {}", shown.join(" "));
    }
    println!("| command | calls | mean µs | total ms |\n|---|---:|---:|---:|");
    for line in stats.lines().filter(|l| l.starts_with("cmdstat_")) {
        let (name, rest) = line.split_once(':').unwrap_or((line, ""));
        let field = |k: &str| {
            rest.split(',')
                .find_map(|f| f.strip_prefix(&format!("{k}=")))
                .unwrap_or("?")
                .to_owned()
        };
        let usec: f64 = field("usec").parse().unwrap_or(0.0);
        println!(
            "| {} | {} | {} | {:.1} |",
            name.trim_start_matches("cmdstat_"),
            field("calls"),
            field("usec_per_call"),
            usec / 1000.0
        );
    }
}

#[tokio::main]
async fn main() {
    let port = env_num("BENCH_REDIS_PORT", 6394);
    let users = env_num("BENCH_USERS", 100_000);
    let per_user = env_num("BENCH_SESSIONS_PER_USER", 10);
    let slowlog_us = env_num("BENCH_SLOWLOG_US", 20);
    let server = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--slowlog-log-slower-than", "-1"])
        .args(["--slowlog-max-len", "1000000"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (apt-get install redis-server)");
    // Stopped (and its keys gone) however this ends, a panic included.
    let _server = Stopped(server);
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).expect("URL");
    let mut conn = None;
    for _ in 0..50 {
        // No response timeout: SLOWLOG GET after a cleanup returns a long log.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        if let Ok(c) = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut conn = conn.expect("the throwaway redis-server answers");
    seed(&mut conn, users, per_user).await;

    // Better Auth's tables without `session`, as an app with secondary storage only has them.
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    {
        use sqlx::Connection;
        let mut db = sqlx::SqliteConnection::connect(&db_url)
            .await
            .expect("sqlite");
        let schema = include_str!("../../migrations/sqlite/auth/0001_better_auth_schema.sql");
        sqlx::raw_sql(sqlx::AssertSqlSafe(schema))
            .execute(&mut db)
            .await
            .expect("schema");
        sqlx::raw_sql("DROP TABLE \"session\"")
            .execute(&mut db)
            .await
            .expect("drop session");
    }
    let mut env: std::collections::HashMap<String, String> = std::env::vars().collect();
    for (k, v) in [
        ("DATABASE_URL", db_url.as_str()),
        ("SESSIONKEEPER_MODE", "shared"),
        ("SESSION_STORAGE", "secondary"),
        ("REDIS_URL", url.as_str()),
        ("SECONDARY_STORAGE_PREFIX", PREFIX),
        ("LISTEN_ADDR", "127.0.0.1:0"),
        (
            "BETTER_AUTH_SECRET",
            "bench-secret-0123456789abcdef0123456789",
        ),
        ("ADMIN_API_TOKEN", TOKEN),
        ("AUTOMATIC_SESSION_CLEANUP", "false"),
        ("ENABLE_SESSION_CLEANUP_LOGS", "false"),
        ("MAX_SESSIONS_PER_USER", "5"),
        ("ENFORCE_SESSION_LIMITS", "true"),
        // The statistics are one request walking every list; at this size, on a debug build
        // or a loaded machine, that outlasts the default 60 s request timeout.
        ("REQUEST_TIMEOUT_SECONDS", "3600"),
        // 600,000 termination records would measure SQLite, not Redis.
        ("SESSION_HISTORY_RETENTION_DAYS", "0"),
    ] {
        env.insert(k.into(), v.into());
    }
    let config = Config::load(&Sources {
        env,
        ..Default::default()
    })
    .expect("config");
    let policy = config.cleanup.policy;
    let app = Application::build(config).await.expect("app");
    let base = format!("http://{}", app.local_addr());
    let cleanup = app.cleanup().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    println!(
        "{} cores; client built {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "in debug (wall times inflated)"
        } else {
            "in release"
        }
    );

    let http = reqwest::Client::new();
    measured(
        &mut conn,
        "session statistics (one full walk)",
        slowlog_us,
        async {
            let res = http
                .get(format!("{base}/api/admin/sessions/stats"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("stats");
            let status = res.status();
            let body: serde_json::Value = res.json().await.expect("stats JSON");
            format!(
                "HTTP {status}, totalSessions {}, expired {}, inactive {}",
                body["totalSessions"], body["expiredSessions"], body["inactiveSessions"]
            )
        },
    )
    .await;
    for (name, dry) in [("cleanup dry run", true), ("cleanup", false)] {
        let cleanup = &cleanup;
        measured(&mut conn, name, slowlog_us, async move {
            match cleanup
                .run_once(Trigger::Manual, policy, dry, Scope::All)
                .await
            {
                Ok(run) => format!("{:?}, counts {:?}", run.outcome, run.counts),
                Err(e) => format!("failed: {e}"),
            }
        })
        .await;
    }
    let left: i64 = cmd(&mut conn, &["DBSIZE"]).await;
    println!("\nkeys left: {left}");
    let () = cmd(&mut conn, &["FLUSHALL"]).await;
}

struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
