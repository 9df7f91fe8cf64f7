//! How each figure grows with the session table (see bench/scale/README.md):
//!
//!   cargo run --release --example scale_bench
//!
//! For each size in BENCH_SIZES (default 100000,1000000,10000000) it builds a fresh database
//! (PostgreSQL: `COPY`; SQLite: one `INSERT ... SELECT` over a recursive sequence), starts the
//! server on it and measures get-session (closed loop: req/s and p99), an admin list page
//! (first, and after 200 pages of 50), the statistics (from the snapshot, and `?fresh=true`), a
//! cleanup dry run, a real cleanup of the expired layer (60 % of the rows: seconds, rows/s), the
//! database's size and the process's peak RSS. Then it prints one markdown table with each
//! figure by size and its growth from the smallest size to the largest.
//!
//! Environment: BENCH_ENGINE (postgres | sqlite), BENCH_DATABASE_URL (PostgreSQL admin URL,
//! default postgres://postgres@127.0.0.1:5432/postgres), BENCH_SIZES, BENCH_LOAD_SECONDS (10),
//! BENCH_CLIENTS (4), BENCH_SQLITE_DIR (a temporary directory). Needs a quiet machine for
//! figures worth comparing; the database it creates (`sk_bench_scale`) is dropped at the end.

use sessionkeeper::app::Application;
use sessionkeeper::config::{Config, Sources};
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::{CleanupPolicy, Scope};
use std::time::{Duration, Instant};

// The cleanup bench's load generator; this bench needs only its closed loop.
#[path = "../cleanup/load.rs"]
#[allow(dead_code)]
mod load;
mod seed;

const TOKEN: &str = "bench-service-token-0123456789";
const PASSWORD: &str = "bench-password-123";
const DB: &str = "sk_bench_scale";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    Sqlite,
}

/// One size's figures, in the order of [`FIGURES`].
type Figures = Vec<f64>;

/// Name and unit.
const FIGURES: &[(&str, &str)] = &[
    ("seed (COPY / bulk insert)", "s"),
    ("get-session, closed loop", "req/s"),
    ("get-session p99", "ms"),
    ("list: first page of 50 (median)", "ms"),
    ("list: page 201 by cursor (median)", "ms"),
    ("stats from the snapshot (median)", "ms"),
    ("stats ?fresh=true (median of 3)", "ms"),
    ("cleanup dry run (median of 3)", "ms"),
    ("cleanup, expired layer (60 %)", "s"),
    ("cleanup, expired layer", "rows/s"),
    ("then the inactive layer (15 %)", "s"),
    ("then the inactive layer", "rows/s"),
    ("then the excess layer", "s"),
    ("then the excess layer", "rows/s"),
    ("database size", "MB"),
    ("process peak RSS (server + load)", "MB"),
];

/// Median in milliseconds of `runs` calls after one unmeasured call.
async fn median_ms<F, Fut>(runs: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    ms[runs / 2]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn sign_in_cookies(base: &str, clients: usize) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for i in 0..clients {
        let email = format!("load{i}@example.com");
        let body = serde_json::json!({"name": "Load", "email": email, "password": PASSWORD});
        let res = http
            .post(format!("{base}/api/auth/sign-up/email"))
            .header("origin", "http://localhost:3001")
            .json(&body)
            .send()
            .await
            .expect("sign-up");
        let status = res.status();
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("better-auth.session_token="))
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie: sign-up answered {status}"))
            .to_owned();
        out.push(cookie);
    }
    out
}

/// Seeds `n` sessions, serves them and measures every figure.
async fn measure(engine: Engine, n: u64, target: &seed::Target) -> Figures {
    let seeded = seed::fresh(engine == Engine::Postgres, target, n).await;
    println!("{n}: seeded in {seeded:.1} s");
    let env = [
        ("DATABASE_URL", target.url.as_str()),
        ("ADMIN_API_TOKEN", TOKEN),
        (
            "BETTER_AUTH_SECRET",
            "bench-secret-0123456789abcdef0123456789",
        ),
        ("LISTEN_ADDR", "127.0.0.1:0"),
        ("AUTOMATIC_SESSION_CLEANUP", "false"),
        ("DATABASE_MAX_CONNECTIONS", "10"),
        ("RATE_LIMIT_ENABLED", "false"),
        // A dry run over 10M rows counts every layer in one request.
        ("REQUEST_TIMEOUT_SECONDS", "900"),
    ];
    let config = Config::load(&Sources {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
    .expect("bench config");
    let policy = config.cleanup.policy;
    let app = Application::build(config).await.expect("server starts");
    let base = format!("http://{}", app.local_addr());
    let cleanup = app.cleanup().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let clients: usize = env_or("BENCH_CLIENTS", "4").parse().expect("BENCH_CLIENTS");
    let secs: u64 = env_or("BENCH_LOAD_SECONDS", "10")
        .parse()
        .expect("BENCH_LOAD_SECONDS");
    let cookies = sign_in_cookies(&base, clients).await;
    let running = load::start(load::Mode::Closed, &base, &cookies);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let get_session = running.finish();

    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let mut req = http
                .request(method, format!("{base}{path}"))
                .bearer_auth(TOKEN);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let res = req.send().await.expect("request");
            assert!(res.status().is_success(), "{path}: {}", res.status());
            res.json::<serde_json::Value>().await.expect("json")
        }
    };
    let get = |path: String| call(reqwest::Method::GET, path, None);

    let first_page = median_ms(21, || {
        let f = get("/api/admin/sessions?limit=50".into());
        async move {
            f.await;
        }
    })
    .await;
    let mut cursor = String::new();
    for _ in 0..200 {
        let q = if cursor.is_empty() {
            String::new()
        } else {
            format!("&cursor={cursor}")
        };
        let page = get(format!("/api/admin/sessions?limit=50{q}")).await;
        cursor = page["nextCursor"].as_str().expect("a next page").to_owned();
    }
    let deep_page = median_ms(21, || {
        let f = get(format!("/api/admin/sessions?limit=50&cursor={cursor}"));
        async move {
            f.await;
        }
    })
    .await;
    let fresh = median_ms(3, || {
        let f = get("/api/admin/sessions/stats?fresh=true".into());
        async move {
            f.await;
        }
    })
    .await;
    let snapshot = median_ms(21, || {
        let f = get("/api/admin/sessions/stats".into());
        async move {
            f.await;
        }
    })
    .await;
    let dry_run = median_ms(3, || {
        let f = call(
            reqwest::Method::POST,
            "/api/admin/sessions/cleanup".into(),
            Some(serde_json::json!({"dryRun": true})),
        );
        async move {
            f.await;
        }
    })
    .await;

    // One layer per run, in the order a full run takes them, each timed with the gauge
    // refresh it may leave behind.
    let layer = |clean_expired_tokens, clean_inactive_sessions, enforce_session_limits| {
        let (cleanup, policy) = (
            cleanup.clone(),
            CleanupPolicy {
                clean_expired_tokens,
                clean_inactive_sessions,
                enforce_session_limits,
                ..policy
            },
        );
        async move {
            let t = Instant::now();
            let run = cleanup
                .run_once(Trigger::Manual, policy, false, Scope::All)
                .await
                .expect("cleanup run");
            cleanup.gauges_refreshed().await;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{n}: cleanup removed {:?} in {secs:.2} s, outcome {:?}",
                run.counts, run.outcome
            );
            (secs, run.total as f64 / secs)
        }
    };
    let expired = layer(true, false, false).await;
    let inactive = layer(false, true, false).await;
    let excess = layer(false, false, true).await;
    let size = seed::size_mb(engine == Engine::Postgres, target).await;

    let _ = stop.send(());
    let _ = server.await;
    vec![
        seeded,
        get_session.rps(),
        get_session.pct(0.99),
        first_page,
        deep_page,
        snapshot,
        fresh,
        dry_run,
        expired.0,
        expired.1,
        inactive.0,
        inactive.1,
        excess.0,
        excess.1,
        size,
        peak_rss_mb(),
    ]
}

fn print_table(engine: Engine, sizes: &[u64], results: &[Figures]) {
    let name = match engine {
        Engine::Postgres => "PostgreSQL",
        Engine::Sqlite => "SQLite",
    };
    let cols: Vec<String> = sizes.iter().map(|n| format!("{n} sessions")).collect();
    println!(
        "\n{name}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| figure | unit | {} | growth |", cols.join(" | "));
    println!("|---|---|{}---:|", "---:|".repeat(sizes.len()));
    for (i, (figure, unit)) in FIGURES.iter().enumerate() {
        let values: Vec<String> = results.iter().map(|r| format!("{:.1}", r[i])).collect();
        let (first, last) = (results[0][i], results[results.len() - 1][i]);
        let growth = if sizes.len() > 1 && first > 0.0 {
            format!("{:.2}x", last / first)
        } else {
            "–".into()
        };
        println!("| {figure} | {unit} | {} | {growth} |", values.join(" | "));
    }
}

#[tokio::main]
async fn main() {
    let engine = match env_or("BENCH_ENGINE", "postgres").as_str() {
        "postgres" => Engine::Postgres,
        "sqlite" => Engine::Sqlite,
        other => panic!("BENCH_ENGINE is postgres or sqlite, not {other}"),
    };
    let default_sizes = match engine {
        Engine::Postgres => "100000,1000000,10000000",
        Engine::Sqlite => "100000,1000000",
    };
    let sizes: Vec<u64> = env_or("BENCH_SIZES", default_sizes)
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BENCH_SIZES: numbers, comma-separated")
        })
        .collect();
    let target = seed::Target::new(engine == Engine::Postgres, DB);
    let mut results = Vec::new();
    for &n in &sizes {
        results.push(measure(engine, n, &target).await);
    }
    seed::remove(engine == Engine::Postgres, &target).await;
    print_table(engine, &sizes, &results);
}
