//! Cleanup benchmark on PostgreSQL (see bench/cleanup/README.md):
//!
//!   cargo run --release --example cleanup_bench
//!
//! Seeds a million sessions (60% expired, 15% inactive, 25% active with many users over the
//! limit), then measures, each on freshly seeded identical data and under the same loopback
//! get-session load: a plain `DELETE ... WHERE "expiresAt" < now()`, our cleanup limited to the
//! expired layer (the same rows), and our full cleanup. Latencies are compared with the same
//! load on an idle database. Settings via environment: BENCH_DATABASE_URL (admin URL, default
//! postgres://postgres@127.0.0.1:5432/postgres), BENCH_SESSIONS (1000000), BENCH_WORKERS (4),
//! BENCH_IDLE_SECONDS (10), and the server's SESSION_CLEANUP_BATCH_* settings.

use sessionkeeper::app::Application;
use sessionkeeper::config::{Config, Sources};
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::{CleanupPolicy, Scope};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-123";
/// Every load worker stops after this many requests, whatever the phase length.
const MAX_REQUESTS_PER_WORKER: usize = 200_000;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn exec(c: &mut PgConnection, sql: &str) -> u64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected()
}

/// The same million rows every time (deterministic in `g`).
async fn seed(c: &mut PgConnection, n: u64) {
    let t = Instant::now();
    exec(c, "DELETE FROM \"session\" WHERE \"id\" LIKE 'bs%'").await;
    // Frees the old rows' space before the insert, so that every phase gets the same compact
    // table: without it, a reseed after a run that left dead rows appends the new rows behind
    // them and that phase's table has twice the blocks, half of them empty.
    exec(c, "VACUUM \"session\"").await;
    exec(
        c,
        &format!(
            "INSERT INTO \"session\" (\"id\", \"token\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\", \"userId\") \
             SELECT 'bs' || g, md5('bench' || g), e, u - interval '1 hour', u, '203.0.113.' || (g % 250), \
                    'Mozilla/5.0 (X11; Linux x86_64) bench/' || (g % 7), uid \
             FROM (SELECT g, \
                     CASE WHEN g % 20 < 12 THEN now() - make_interval(mins => (g % 10000)::int + 1) \
                          WHEN g % 20 < 15 THEN now() + make_interval(days => (g % 6)::int + 1) \
                          ELSE now() + interval '7 days' END AS e, \
                     CASE WHEN g % 20 < 12 THEN now() - interval '8 days' - make_interval(mins => (g % 10000)::int) \
                          WHEN g % 20 < 15 THEN now() - make_interval(days => 31 + (g % 30)::int) \
                          ELSE now() - make_interval(mins => (g % 1440)::int) END AS u, \
                     CASE WHEN g % 20 < 15 THEN 'bu' || (g % 50000) ELSE 'bu' || (g % 15000) END AS uid \
                   FROM generate_series(1, {n}) g) x"
        ),
    )
    .await;
    exec(c, "VACUUM ANALYZE \"session\"").await;
    // Every phase starts right after a checkpoint: the first change to each page after one
    // writes the whole page to the WAL, and a checkpoint still running from the seed would
    // otherwise land on whichever phase comes first.
    exec(c, "CHECKPOINT").await;
    println!("seeded {n} sessions in {:.1} s", t.elapsed().as_secs_f64());
}

struct Load {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Load {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.latencies.clone();
        v.sort();
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i].as_secs_f64() * 1000.0
    }
    fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Get-session from `workers` loopback clients until `stop` is set.
fn start_load(
    base: &str,
    cookies: &[String],
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Load> {
    let base = base.to_owned();
    let cookies = cookies.to_vec();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for cookie in cookies {
            let stop = stop.clone();
            let url = format!("{base}/api/auth/get-session");
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut out = Vec::new();
                while !stop.load(Ordering::Relaxed) && out.len() < MAX_REQUESTS_PER_WORKER {
                    let t = Instant::now();
                    let res = http.get(&url).header("cookie", &cookie).send().await;
                    let ok = match res {
                        Ok(r) => {
                            r.status().is_success()
                                && r.text().await.is_ok_and(|b| b.contains("\"user\""))
                        }
                        Err(_) => false,
                    };
                    assert!(ok, "get-session failed under load");
                    out.push(t.elapsed());
                }
                out
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap_or_default());
        }
        Load {
            latencies,
            elapsed: start.elapsed(),
        }
    })
}

async fn sign_in_cookies(base: &str, workers: usize) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for i in 0..workers {
        let email = format!("load{i}@example.com");
        let body = serde_json::json!({"name": "Load", "email": email, "password": PASSWORD});
        let mut res = http
            .post(format!("{base}/api/auth/sign-up/email"))
            .header("origin", "http://localhost:3001")
            .json(&body)
            .send()
            .await
            .unwrap();
        if !res.status().is_success() {
            let body = serde_json::json!({"email": email, "password": PASSWORD});
            res = http
                .post(format!("{base}/api/auth/sign-in/email"))
                .header("origin", "http://localhost:3001")
                .json(&body)
                .send()
                .await
                .unwrap();
        }
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("better-auth.session_token="))
            .and_then(|c| c.split(';').next())
            .expect("session cookie")
            .to_owned();
        out.push(cookie);
    }
    out
}

struct Row {
    name: String,
    rows: u64,
    secs: f64,
    /// Our runs: the run's own `durationMs` (the deleting, without the gauge refresh and the
    /// history write that follow it).
    run_secs: Option<f64>,
    /// Our runs: the gauge refresh after `run_once` returned (under the same load).
    refresh_secs: Option<f64>,
    load: Load,
}

#[tokio::main]
async fn main() {
    let admin = env_or(
        "BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let n: u64 = env_or("BENCH_SESSIONS", "1000000")
        .parse()
        .expect("BENCH_SESSIONS");
    let workers: usize = env_or("BENCH_WORKERS", "4").parse().expect("BENCH_WORKERS");
    let idle_secs: u64 = env_or("BENCH_IDLE_SECONDS", "10")
        .parse()
        .expect("BENCH_IDLE_SECONDS");

    let mut c = PgConnection::connect(&admin)
        .await
        .expect("BENCH_DATABASE_URL reachable");
    exec(&mut c, "DROP DATABASE IF EXISTS sk_bench WITH (FORCE)").await;
    exec(&mut c, "CREATE DATABASE sk_bench").await;
    let mut url = url::Url::parse(&admin).expect("URL");
    url.set_path("/sk_bench");
    let db_url = url.to_string();

    let mut env: std::collections::HashMap<String, String> = std::env::vars().collect();
    for (k, v) in [
        ("DATABASE_URL", db_url.as_str()),
        ("LISTEN_ADDR", "127.0.0.1:0"),
        (
            "BETTER_AUTH_SECRET",
            "bench-secret-0123456789abcdef0123456789",
        ),
        ("AUTOMATIC_SESSION_CLEANUP", "false"),
        ("ENABLE_SESSION_CLEANUP_LOGS", "false"),
    ] {
        env.insert(k.into(), v.into());
    }
    let config = Config::load(&Sources {
        env,
        ..Default::default()
    })
    .expect("config");
    let cfg = config.cleanup.clone();
    let app = Application::build(config).await.expect("app");
    let base = format!("http://{}", app.local_addr());
    let cleanup = app.cleanup.clone();
    tokio::spawn(app.run_until(std::future::pending()));

    let mut c = PgConnection::connect(&db_url).await.unwrap();
    exec(
        &mut c,
        "INSERT INTO \"user\" (\"id\", \"name\", \"email\", \"emailVerified\", \"createdAt\", \"updatedAt\") \
         SELECT 'bu' || g, 'bench', 'bu' || g || '@example.com', false, now(), now() FROM generate_series(0, 49999) g",
    )
    .await;
    let cookies = sign_in_cookies(&base, workers).await;
    println!(
        "batch size {}, batch target {} ms, pause {}% of each batch + {} ms, {} load workers, machine: {} cores",
        cfg.batch_size,
        cfg.batch_target_ms,
        cfg.batch_pause_percent,
        cfg.batch_pause_ms,
        workers,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut results = Vec::new();
    seed(&mut c, n).await;
    {
        let stop = Arc::new(AtomicBool::new(false));
        let load = start_load(&base, &cookies, stop.clone());
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        stop.store(true, Ordering::Relaxed);
        results.push(Row {
            name: "idle (no cleanup)".into(),
            rows: 0,
            secs: 0.0,
            run_secs: None,
            refresh_secs: None,
            load: load.await.unwrap(),
        });
    }
    {
        let stop = Arc::new(AtomicBool::new(false));
        let load = start_load(&base, &cookies, stop.clone());
        let mut del = PgConnection::connect(&db_url).await.unwrap();
        let t = Instant::now();
        let rows = exec(
            &mut del,
            "DELETE FROM \"session\" WHERE \"expiresAt\" < now()",
        )
        .await;
        let secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        results.push(Row {
            name: "plain DELETE (expired)".into(),
            rows,
            secs,
            run_secs: None,
            refresh_secs: None,
            load: load.await.unwrap(),
        });
    }
    let expired_only = CleanupPolicy {
        clean_inactive_sessions: false,
        enforce_session_limits: false,
        ..cfg.policy
    };
    for (name, policy) in [
        ("sessionkeeper, expired layer", expired_only),
        ("sessionkeeper, all layers", cfg.policy),
    ] {
        seed(&mut c, n).await;
        let stop = Arc::new(AtomicBool::new(false));
        let load = start_load(&base, &cookies, stop.clone());
        let t = Instant::now();
        let run = cleanup
            .run_once(Trigger::Manual, policy, false, Scope::All)
            .await
            .expect("cleanup runs");
        let secs = t.elapsed().as_secs_f64();
        // The session gauges are refreshed right after the run, in the background: the load
        // goes on until that is done too, so its cost shows in the latencies.
        cleanup.gauges_refreshed().await;
        let refresh_secs = t.elapsed().as_secs_f64() - secs;
        stop.store(true, Ordering::Relaxed);
        assert_eq!(
            run.outcome,
            sessionkeeper::domain::run::Outcome::Ok,
            "{:?}",
            run.error
        );
        println!("{name}: {:?}", run.counts);
        results.push(Row {
            name: name.into(),
            rows: run.total,
            secs,
            run_secs: run.duration_ms.map(|ms| ms as f64 / 1000.0),
            refresh_secs: Some(refresh_secs),
            load: load.await.unwrap(),
        });
    }

    let idle_p99 = results[0].load.pct(0.99);
    let plain_rate = results[1].rows as f64 / results[1].secs;
    println!();
    println!(
        "| run | rows deleted | seconds | rows/s | vs plain DELETE | deleting only: s, rows/s, vs plain | then gauge refresh: s; rows/s counting it, vs plain | get-session req/s | p50 ms | p99 ms | p99 vs idle |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        let (rate, ratio) = if r.rows > 0 {
            let rate = r.rows as f64 / r.secs;
            (format!("{rate:.0}"), format!("{:.2}x", rate / plain_rate))
        } else {
            ("-".into(), "-".into())
        };
        let deleting = match r.run_secs {
            Some(s) if s > 0.0 => {
                let rate = r.rows as f64 / s;
                format!("{s:.2}, {rate:.0}, {:.2}x", rate / plain_rate)
            }
            _ => "-".into(),
        };
        let refresh = match r.refresh_secs {
            Some(s) => {
                let rate = r.rows as f64 / (r.secs + s);
                format!("{s:.2}; {rate:.0}, {:.2}x", rate / plain_rate)
            }
            None => "-".into(),
        };
        println!(
            "| {} | {} | {} | {rate} | {ratio} | {deleting} | {refresh} | {:.0} | {:.2} | {:.2} | {:.2}x |",
            r.name,
            r.rows,
            if r.secs > 0.0 {
                format!("{:.2}", r.secs)
            } else {
                "-".into()
            },
            r.load.rps(),
            r.load.pct(0.5),
            r.load.pct(0.99),
            r.load.pct(0.99) / idle_p99,
        );
    }
}
