//! Cleanup benchmark on PostgreSQL (see bench/cleanup/README.md):
//!
//!   cargo run --release --example cleanup_bench
//!
//! Seeds a million sessions (60% expired, 15% inactive, 25% active with many users over the
//! limit), then measures, each on freshly seeded identical data and under the same loopback
//! get-session load: a plain `DELETE ... WHERE "expiresAt" < now()` (and the same writing
//! termination records), our cleanup limited to the expired layer (the same rows), our full
//! cleanup, the excess layer alone, and full runs under `SESSION_CLEANUP_MAX_ROWS_PER_SECOND`
//! caps; then judges issue 18's targets. Latencies are compared with the same load on an idle
//! database. Settings via environment: BENCH_DATABASE_URL (admin URL, default
//! postgres://postgres@127.0.0.1:5432/postgres), BENCH_SESSIONS (1000000), BENCH_WORKERS (4),
//! BENCH_IDLE_SECONDS (10), BENCH_GENTLE_CAPS (10000,2000), and the server's
//! SESSION_CLEANUP_BATCH_* settings.

use sessionkeeper::app::Application;
use sessionkeeper::cleanup::CleanupService;
use sessionkeeper::config::{Config, Sources};
use sessionkeeper::domain::run::Outcome;
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::{CleanupPolicy, Scope};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod load;
mod targets;
use load::{Load, Mode};

const PASSWORD: &str = "bench-password-123";

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
    // The previous phase's termination records, so that each phase inserts into the same
    // empty table.
    exec(
        c,
        "TRUNCATE \"sessionkeeper_session_ended\", \"sessionkeeper_outbox\"",
    )
    .await;
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
    // Lets what the seed set off in the background (the kernel writing back its files) end
    // before anything is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
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
        let status = res.status();
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("better-auth.session_token="))
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie: sign-in answered {status}"))
            .to_owned();
        out.push(cookie);
    }
    out
}

pub struct Row {
    pub name: String,
    pub rows: u64,
    /// Wall time of the statement, or of `run_once` and the gauge refresh it may leave
    /// running (the load keeps going until both are done).
    pub secs: f64,
    pub load: Load,
}

impl Row {
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.secs
    }
}

/// Phase names the target table looks up.
pub const IDLE: &str = "idle (no cleanup)";
pub const PLAIN: &str = "plain DELETE (expired)";
pub const PLAIN_RECORDS: &str = "plain DELETE (expired) writing the same records";
pub const EXPIRED_DEFAULTS: &str = "sessionkeeper, expired layer, records only";
pub const EXPIRED_OFF: &str = "sessionkeeper, expired layer, records+events off";
pub const EXCESS_DEFAULTS: &str = "sessionkeeper, excess layer alone, records only";
pub const EXCESS_OFF: &str = "sessionkeeper, excess layer alone, records+events off";

pub const GENTLE: &str = "sessionkeeper, gentle";

pub fn gentle_name(cap: u32) -> String {
    format!("{GENTLE}: a full run at the defaults, at most {cap} rows/s (first {GENTLE_WINDOW} s)")
}

/// Up to how long a capped run is measured before it is stopped: long enough for a few
/// thousand requests' p99, short enough to keep a round within minutes at low caps.
const GENTLE_WINDOW: u64 = 20;

/// A statement under the load, on its own connection.
async fn timed_statement(db_url: &str, app: &Bench, mode: Mode, name: &str, sql: &str) -> Row {
    let mut conn = PgConnection::connect(db_url).await.expect("connect");
    let running = load::start(mode, &app.base, &app.cookies);
    let t = Instant::now();
    let rows = exec(&mut conn, sql).await;
    let secs = t.elapsed().as_secs_f64();
    Row {
        name: name.into(),
        rows,
        secs,
        load: running.finish(),
    }
}

/// One cleanup run under the load, stopped after `window` if it is still running then.
async fn timed_run(
    app: &Bench,
    mode: Mode,
    name: String,
    cleanup: &Arc<CleanupService>,
    policy: CleanupPolicy,
    window: Option<Duration>,
) -> Row {
    let running = load::start(mode, &app.base, &app.cookies);
    let t = Instant::now();
    let service = cleanup.clone();
    let mut task = tokio::spawn(async move {
        service
            .run_once(Trigger::Manual, policy, false, Scope::All)
            .await
    });
    let done = match window {
        Some(window) => tokio::time::timeout(window, &mut task).await.ok(),
        None => None,
    };
    let done = match done {
        Some(done) => done,
        None => {
            if window.is_some() {
                cleanup.stop().await;
            }
            task.await
        }
    };
    let run = done.expect("run task").expect("cleanup runs");
    cleanup.gauges_refreshed().await;
    let secs = t.elapsed().as_secs_f64();
    let load = running.finish();
    assert!(
        matches!(run.outcome, Outcome::Ok | Outcome::Stopped),
        "{name}: {:?} {:?}",
        run.outcome,
        run.error
    );
    println!("{name}: {:?}", run.counts);
    Row {
        name,
        rows: run.total,
        secs,
        load,
    }
}

/// One bench round under one kind of load, each phase (but the first three) on freshly
/// seeded identical data: idle, the plain DELETE, the control, the plain DELETE writing
/// records, our expired layer and our full run (records+events on, records only, off), the
/// excess layer alone (after the other layers, untimed), and the gentle runs.
async fn round(
    c: &mut PgConnection,
    db_url: &str,
    app: &Bench,
    mode: Mode,
    n: u64,
    idle: Duration,
) -> Vec<Row> {
    let mut results = Vec::new();
    seed(c, n).await;
    let running = load::start(mode, &app.base, &app.cookies);
    tokio::time::sleep(idle).await;
    results.push(Row {
        name: IDLE.into(),
        rows: 0,
        secs: 0.0,
        load: running.finish(),
    });
    let plain = "DELETE FROM \"session\" WHERE \"expiresAt\" < now()";
    results.push(timed_statement(db_url, app, mode, PLAIN, plain).await);
    // The control: one PostgreSQL backend keeping a core busy with no I/O and no locks, for
    // about as long as the deletes take, to show what CPU contention alone does to the tail.
    let control = "SELECT count(*) FROM generate_series(1, 8000000)";
    let name = "control: one core busy in PostgreSQL, no deletes";
    let mut row = timed_statement(db_url, app, mode, name, control).await;
    row.rows = 0;
    results.push(row);
    // The least a cleanup that keeps termination records must do: the plain DELETE with
    // each removed session's record inserted in the same statement (no tenant here).
    seed(c, n).await;
    let with_records = "WITH d AS (DELETE FROM \"session\" WHERE \"expiresAt\" < now() \
         RETURNING \"id\", \"userId\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\") \
         INSERT INTO \"sessionkeeper_session_ended\" (\"sessionId\", \"userId\", \"tenantId\", \
         \"createdAt\", \"lastActiveAt\", \"ipAddress\", \"userAgent\", \"endedAt\", \"reason\", \"actor\") \
         SELECT \"id\", \"userId\", NULL, \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\", \
         now(), 'expired', 'cleanup' FROM d";
    results.push(timed_statement(db_url, app, mode, PLAIN_RECORDS, with_records).await);

    let expired_only = CleanupPolicy {
        clean_inactive_sessions: false,
        enforce_session_limits: false,
        ..app.policy
    };
    // Each layer set three times: termination records and events on, records only (the
    // defaults), both off (three cleanup services on the same database, differing only in
    // SESSION_HISTORY_RETENTION_DAYS and WEBHOOK_URLS), interleaved so that a loaded machine
    // weighs on all alike.
    let sets = [
        ("records+events on", &app.cleanup_records),
        ("records only", &app.cleanup_records_only),
        ("records+events off", &app.cleanup_no_records),
    ];
    for (layers, policy) in [("expired layer", expired_only), ("all layers", app.policy)] {
        for (records, cleanup) in sets {
            seed(c, n).await;
            let name = format!("sessionkeeper, {layers}, {records}");
            results.push(timed_run(app, mode, name, cleanup, policy, None).await);
        }
    }
    // The excess layer timed alone, after the expired and inactive layers as in a full run.
    let before_excess = CleanupPolicy {
        enforce_session_limits: false,
        ..app.policy
    };
    let excess_only = CleanupPolicy {
        clean_expired_tokens: false,
        clean_inactive_sessions: false,
        ..app.policy
    };
    for (name, cleanup) in [
        (EXCESS_DEFAULTS, &app.cleanup_records_only),
        (EXCESS_OFF, &app.cleanup_no_records),
    ] {
        seed(c, n).await;
        cleanup
            .run_once(Trigger::Manual, before_excess, false, Scope::All)
            .await
            .expect("the layers before the excess layer");
        cleanup.gauges_refreshed().await;
        exec(c, "CHECKPOINT").await;
        results.push(timed_run(app, mode, name.into(), cleanup, excess_only, None).await);
    }
    // The gentle setting: a full run at the defaults under each cap, for at most the window.
    for (cap, cleanup) in &app.gentle {
        seed(c, n).await;
        let window = Some(Duration::from_secs(GENTLE_WINDOW));
        let name = gentle_name(*cap);
        results.push(timed_run(app, mode, name, cleanup, app.policy, window).await);
    }
    results
}

fn print_table(mode: Mode, clients: usize, repeat: u32, results: &[Row]) {
    let idle_p99 = results[0].load.pct(0.99);
    let plain_rate = results[1].rate();
    println!();
    println!(
        "Load: {}; each phase pooled over {repeat} rounds",
        mode.describe(clients)
    );
    println!();
    println!(
        "| run | rows deleted | seconds | rows/s | vs plain DELETE | get-session req/s | p50 ms | p99 ms | p99 vs idle | CPU busy | sent late p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let secs = if r.secs > 0.0 {
            format!("{:.2}", r.secs)
        } else {
            "-".into()
        };
        let (rate, ratio) = if r.rows > 0 {
            let rate = r.rows as f64 / r.secs;
            (format!("{rate:.0}"), format!("{:.2}x", rate / plain_rate))
        } else {
            ("-".into(), "-".into())
        };
        println!(
            "| {} | {} | {secs} | {rate} | {ratio} | {:.0} | {:.2} | {:.2} | {:.2}x | {:.0}% | {:.2} |",
            r.name,
            r.rows,
            r.load.rps(),
            r.load.pct(0.5),
            r.load.pct(0.99),
            r.load.pct(0.99) / idle_p99,
            r.load.cpu_busy * 100.0,
            r.load.late_pct(0.99),
        );
    }
}

/// The server under test, as the load and the rounds see it.
struct Bench {
    base: String,
    cookies: Vec<String>,
    /// The cleanup with termination records and a `session.ended` event per session (one
    /// receiver).
    cleanup_records: Arc<CleanupService>,
    /// Termination records and no receiver: no outbox rows.
    cleanup_records_only: Arc<CleanupService>,
    /// The same cleanup with `SESSION_HISTORY_RETENTION_DAYS=0` and no receiver: neither.
    cleanup_no_records: Arc<CleanupService>,
    /// Records only (the defaults) under each `SESSION_CLEANUP_MAX_ROWS_PER_SECOND` cap.
    gentle: Vec<(u32, Arc<CleanupService>)>,
    policy: CleanupPolicy,
}

fn load_config(env: std::collections::HashMap<String, String>) -> Config {
    Config::load(&Sources {
        env,
        ..Default::default()
    })
    .expect("config")
}

/// A cleanup service on the bench database with these settings; it serves nothing and
/// delivers nothing.
async fn cleanup_only(env: std::collections::HashMap<String, String>) -> Arc<CleanupService> {
    let app = Application::build(load_config(env)).await.expect("app");
    app.cleanup().clone()
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
    let idle = Duration::from_secs(
        env_or("BENCH_IDLE_SECONDS", "10")
            .parse()
            .expect("BENCH_IDLE_SECONDS"),
    );
    let rate: u32 = env_or("BENCH_RATE", "2000").parse().expect("BENCH_RATE");
    // The deleting phases last about a second: one gives too few slow requests for a stable
    // p99, so each round is repeated and its phases pooled.
    let repeat: u32 = env_or("BENCH_REPEAT", "3").parse().expect("BENCH_REPEAT");
    let modes: Vec<Mode> = match env_or("BENCH_LOAD", "both").as_str() {
        "open" => vec![Mode::Open(rate)],
        "closed" => vec![Mode::Closed],
        "both" => vec![Mode::Open(rate), Mode::Closed],
        other => panic!("BENCH_LOAD must be open, closed or both, not {other:?}"),
    };

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
        // The load signs in from one address; the limiter is not what this measures.
        ("RATE_LIMIT_ENABLED", "false"),
    ] {
        env.insert(k.into(), v.into());
    }
    // Records and events on: a receiver that is never asked (this server runs no worker), so
    // the events stay queued as they would while a receiver is slow.
    let mut on_env = env.clone();
    on_env.insert("SESSION_HISTORY_RETENTION_DAYS".into(), "90".into());
    on_env.insert("WEBHOOK_URLS".into(), "http://127.0.0.1:9/hook".into());
    on_env.insert(
        "WEBHOOK_SECRET".into(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0xb0yA1LbGc=".into(),
    );
    let mut records_only_env = env.clone();
    records_only_env.insert("SESSION_HISTORY_RETENTION_DAYS".into(), "90".into());
    records_only_env.remove("WEBHOOK_URLS");
    let mut no_records_env = env.clone();
    no_records_env.insert("SESSION_HISTORY_RETENTION_DAYS".into(), "0".into());
    no_records_env.remove("WEBHOOK_URLS");
    let gentle_env = |cap: u32| {
        let mut env = records_only_env.clone();
        env.insert(
            "SESSION_CLEANUP_MAX_ROWS_PER_SECOND".into(),
            cap.to_string(),
        );
        env
    };
    let caps: Vec<u32> = env_or("BENCH_GENTLE_CAPS", "10000,2000")
        .split(',')
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            c.trim()
                .parse()
                .expect("BENCH_GENTLE_CAPS: rows/s, comma-separated")
        })
        .collect();
    let config = load_config(env);
    let cfg = config.cleanup.clone();
    let app = Application::build(config).await.expect("app");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let mut gentle = Vec::new();
    for cap in caps {
        gentle.push((cap, cleanup_only(gentle_env(cap)).await));
    }
    let cleanup_no_records = cleanup_only(no_records_env).await;
    let cleanup_records_only = cleanup_only(records_only_env).await;
    let cleanup_records = cleanup_only(on_env).await;

    let mut c = PgConnection::connect(&db_url).await.unwrap();
    exec(
        &mut c,
        "INSERT INTO \"user\" (\"id\", \"name\", \"email\", \"emailVerified\", \"createdAt\", \"updatedAt\") \
         SELECT 'bu' || g, 'bench', 'bu' || g || '@example.com', false, now(), now() FROM generate_series(0, 49999) g",
    )
    .await;
    let cookies = sign_in_cookies(&base, workers).await;
    println!(
        "batch size {}, batch target {} ms, pause {}% of each batch + {} ms, {} load clients, machine: {} cores",
        cfg.batch_size,
        cfg.batch_target_ms,
        cfg.batch_pause_percent,
        cfg.batch_pause_ms,
        workers,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let bench = Bench {
        base,
        cookies,
        cleanup_records,
        cleanup_records_only,
        cleanup_no_records,
        gentle,
        policy: cfg.policy,
    };
    let mut tables = Vec::new();
    for mode in modes {
        let mut pooled: Vec<Row> = Vec::new();
        for _ in 0..repeat {
            let rows = round(&mut c, &db_url, &bench, mode, n, idle).await;
            if pooled.is_empty() {
                pooled = rows;
                continue;
            }
            for (p, r) in pooled.iter_mut().zip(rows) {
                p.rows += r.rows;
                p.secs += r.secs;
                p.load.merge(r.load);
            }
        }
        tables.push((mode, pooled));
    }
    for (mode, results) in &tables {
        print_table(*mode, workers, repeat, results);
        targets::print(results);
    }
}
