//! skbench: sessionkeeper against the real Better Auth, side by side, on PostgreSQL and SQLite.
//! Run through `bench/run` (which builds everything first); see bench/README.md.

mod activity;
mod engine;
mod limiter;
mod load;
mod me;
mod pooler;
mod redis;
mod report;
mod scenario;
mod seed;
mod servers;

use clap::Parser;
use engine::Engine;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "skbench",
    about = "sessionkeeper vs Better Auth, measured side by side"
)]
pub struct Args {
    /// Engines to run: postgres, sqlite (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
    pub engines: Vec<String>,
    /// Admin URL of the PostgreSQL server the bench creates its databases on.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub pg_url: String,
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
    #[arg(long, default_value_t = 4)]
    pub sessions_per_user: usize,
    /// How many distinct session cookies get-session rotates over.
    #[arg(long, default_value_t = 500)]
    pub cookies: usize,
    #[arg(long, default_value_t = 15)]
    pub get_secs: u64,
    #[arg(long, default_value_t = 64)]
    pub get_conns: usize,
    #[arg(long, default_value_t = 10)]
    pub signin_secs: u64,
    #[arg(long, default_value_t = 16)]
    pub signin_conns: usize,
    /// Length of the get-session run during the sign-in flood.
    #[arg(long, default_value_t = 10)]
    pub flood_secs: u64,
    /// Unmeasured get-session load before the first measurement (JIT, caches, pools).
    #[arg(long, default_value_t = 3)]
    pub warmup_secs: u64,
    /// pgbench clients (default: the get-session connection count).
    #[arg(long)]
    pub pgbench_clients: Option<usize>,
    /// Upper bound on requests in any one run, whatever its duration.
    #[arg(long, default_value_t = 5_000_000)]
    pub max_requests: u64,
    /// The sessionkeeper release binary.
    #[arg(long, default_value = "target/release/sessionkeeper")]
    pub sessionkeeper_bin: PathBuf,
    /// `full`: sessionkeeper against Better Auth (get-session, sign-in, flood); `me`: the
    /// library's `axum_service` example (`GET /me`) against our own get-session, both on
    /// Better Auth's database, in one run; `redis`: our get-session in shared mode with
    /// `SESSION_STORAGE=both` against database-only, in one run (also `--rounds`).
    #[arg(long, default_value = "full")]
    pub mode: String,
    /// The app's Redis for the `redis` mode (`SESSION_STORAGE=both` against database-only).
    #[arg(
        long,
        env = "BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Where the `redis` mode's summary is written.
    #[arg(long, default_value = "bench/results/redis.md")]
    pub redis_out: PathBuf,
    /// The `axum_service` example, release build (the `me` mode).
    #[arg(long, default_value = "target/release/examples/axum_service")]
    pub axum_service_bin: PathBuf,
    /// Rounds of get-session then `/me` in the `me` mode (each `--get-secs` long).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Where the `me` mode's summary is written.
    #[arg(long, default_value = "bench/results/me.md")]
    pub me_out: PathBuf,
    /// The Better Auth server script.
    #[arg(long, default_value = "compat/node/ba-server.mjs")]
    pub ba_server: PathBuf,
    /// Instead of the comparison with Better Auth: sessionkeeper's get-session on one
    /// PostgreSQL database, directly and through the transaction-mode pooler at `--pooler-url`
    /// (`DATABASE_POOLER=transaction`), in turns. `bench/run --pooler` starts a PgBouncer.
    #[arg(long)]
    pub pooler: bool,
    /// The pooler in front of `--pg-url`'s server (any database name: the bench's replaces it).
    #[arg(long, env = "BENCH_POOLER_URL")]
    pub pooler_url: Option<String>,
    /// Turns of (direct, pooled) in `--pooler` mode.
    #[arg(long, default_value_t = 2)]
    pub pooler_rounds: usize,
    /// Where `--pooler` writes its table.
    #[arg(long, default_value = "bench/results/pooler.md")]
    pub pooler_out: PathBuf,
    /// Instead of the Better Auth comparison: sessionkeeper with the rate limiter on (memory
    /// storage, limits raised so nothing is refused) against off, alternating, on one database.
    #[arg(long)]
    pub limiter: bool,
    /// Limiter storages compared with off: memory, database (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "memory,database")]
    pub limiter_storages: Vec<String>,
    /// Rounds of the limiter run (each: off, then each storage).
    #[arg(long, default_value_t = 3)]
    pub limiter_rounds: usize,
    /// Instead of the Better Auth comparison: get-session with session activity tracking off
    /// vs on, alternating, on one database per engine; then (PostgreSQL) the activity flush's
    /// write rate at `--activity-checks-per-sec` over `--activity-sessions`.
    #[arg(long)]
    pub activity: bool,
    #[arg(long, default_value_t = 3)]
    pub activity_rounds: usize,
    #[arg(long, default_value_t = 40_000)]
    pub activity_checks_per_sec: usize,
    #[arg(long, default_value_t = 8_000)]
    pub activity_sessions: usize,
    /// `SESSION_ACTIVITY_RESOLUTION_SECONDS` of the flush-rate part.
    #[arg(long, default_value_t = 60)]
    pub activity_resolution: u32,
    /// Resolution periods simulated in the flush-rate part.
    #[arg(long, default_value_t = 5)]
    pub activity_periods: u64,
    /// Where the summary table is written.
    #[arg(long, default_value = "bench/results/latest.md")]
    pub out: PathBuf,
    /// Server logs and SQLite files.
    #[arg(long, default_value = "target/bench")]
    pub work_dir: PathBuf,
}

impl Args {
    pub fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut engines = Vec::new();
    for e in &args.engines {
        match e.as_str() {
            "postgres" | "pg" => engines.push(Engine::Postgres),
            "sqlite" => engines.push(Engine::Sqlite),
            other => {
                eprintln!("skbench: unknown engine {other:?} (allowed: postgres, sqlite)");
                return ExitCode::from(2);
            }
        }
    }
    // One thread: the load generator takes at most one of the box's cores, whichever server
    // it drives.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skbench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        if args.pooler {
            return pooler::run(&args).await;
        }
        match args.mode.as_str() {
            "full" => scenario::run_all(&args, &engines).await,
            "me" => me::run_all(&args, &engines).await,
            "redis" => redis::run_all(&args, &engines).await,
            other => Err(format!("unknown mode {other:?} (allowed: full, me, redis)")),
        }
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skbench: {e}");
            ExitCode::FAILURE
        }
    }
}
