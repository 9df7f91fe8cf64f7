//! The `redis` mode: sessionkeeper's get-session in shared mode with the app's Redis
//! configured (`SESSION_STORAGE=both`, `REDIS_URL`) against database-only, on the same Better
//! Auth database with the same cookies, alternating in one run so that both see the same
//! machine. get-session reads the database in both; the column shows what Redis being
//! configured costs the hot path (it should cost nothing).

use crate::Args;
use crate::engine::{Engine, Location};
use crate::load::{self, Call, Stats};
use crate::report::Machine;
use crate::scenario::{COOKIE_NAME, plan, print_run};
use crate::seed::Dataset;
use crate::servers::{Env, Kind, Server};
use sessionkeeper::domain::cookie::CookieSigner;
use sessionkeeper::domain::token::TokenStorage;
use std::fmt::Write;
use std::sync::Arc;

struct Outcome {
    engine: Engine,
    database: Vec<Stats>,
    both: Vec<Stats>,
}

fn mean_rate(runs: &[Stats]) -> f64 {
    runs.iter().map(Stats::rate).sum::<f64>() / runs.len().max(1) as f64
}

fn worst_p99(runs: &[Stats]) -> f64 {
    runs.iter().map(Stats::p99).fold(0.0, f64::max)
}

pub async fn run_all(args: &Args, engines: &[Engine]) -> Result<(), String> {
    let machine = Machine::probe(&args.pg_url).await;
    let (run_id, env) = Env::for_run(args, "skbench_redis")?;
    let log_dir = env.log_dir.clone();
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let mut outcomes = Vec::new();
    for &engine in engines {
        let tag = format!("{run_id}_{}", engine.name().to_lowercase());
        let loc = match engine {
            Engine::Postgres => Location::postgres(&args.pg_url, &format!("{tag}_ba")),
            Engine::Sqlite => Location::Sqlite {
                path: log_dir.join(format!("{tag}_ba.db")),
            },
        };
        let result = run_engine(args, &env, engine, &tag, &loc, &data).await;
        loc.destroy().await;
        outcomes.push(result?);
    }
    let text = render(&machine, args, &outcomes);
    if let Some(dir) = args.redis_out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.redis_out, &text)
        .map_err(|e| format!("{}: {e}", args.redis_out.display()))?;
    println!("{text}");
    println!("skbench: written to {}", args.redis_out.display());
    Ok(())
}

async fn run_engine(
    args: &Args,
    env: &Env,
    engine: Engine,
    tag: &str,
    loc: &Location,
    data: &Dataset,
) -> Result<Outcome, String> {
    println!(
        "skbench: {}: creating and seeding Better Auth's database",
        engine.name()
    );
    loc.create().await?;
    let ba = Server::start(
        Kind::BetterAuth,
        env,
        loc,
        &format!("{tag}-migrate"),
        &Call::ok(),
    )
    .await?;
    ba.stop().await;
    let db = loc.open().await?;
    data.insert(&db, TokenStorage::Plain).await?;
    db.close().await;

    let signer = CookieSigner::new(&env.secret);
    let gets: Vec<Call> = data
        .sessions
        .iter()
        .take(args.cookies)
        .map(|s| Call::get_session(COOKIE_NAME, &signed(&signer, &s.token), &s.token))
        .collect();
    let gets = Arc::new(gets);

    // A prefix of the run's own: nothing of anyone else's is read or removed.
    let prefix = format!("{tag}:");
    let both_env = [
        ("SESSION_STORAGE", "both"),
        ("REDIS_URL", args.redis_url.as_str()),
        ("SECONDARY_STORAGE_PREFIX", prefix.as_str()),
    ];
    // Both run for the whole measurement; the idle one costs nothing.
    let plain = Server::start(
        Kind::SessionKeeperShared,
        env,
        loc,
        &format!("{tag}-db"),
        &gets[0],
    )
    .await?;
    let redis = match Server::start_with(
        Kind::SessionKeeperShared,
        env,
        loc,
        &format!("{tag}-both"),
        &gets[0],
        &both_env,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            plain.stop().await;
            return Err(e);
        }
    };
    let mut outcome = Outcome {
        engine,
        database: Vec::new(),
        both: Vec::new(),
    };
    if args.warmup_secs > 0 {
        load::run(plan(args, &plain, &gets, args.get_conns, args.warmup_secs)).await;
        load::run(plan(args, &redis, &gets, args.get_conns, args.warmup_secs)).await;
    }
    for round in 1..=args.rounds.max(1) {
        let d = load::run(plan(args, &plain, &gets, args.get_conns, args.get_secs)).await;
        print_run(&format!("round {round}: database only"), &d);
        let b = load::run(plan(args, &redis, &gets, args.get_conns, args.get_secs)).await;
        print_run(&format!("round {round}: SESSION_STORAGE=both"), &b);
        outcome.database.push(d);
        outcome.both.push(b);
    }
    plain.stop().await;
    redis.stop().await;
    Ok(outcome)
}

fn signed(signer: &CookieSigner, token: &str) -> String {
    signer.sign_for_cookie(token)
}

fn render(m: &Machine, args: &Args, outcomes: &[Outcome]) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "## skbench --mode redis\n");
    let _ = writeln!(
        t,
        "{} on {} x {} ({:.1} GiB RAM), load average before the run {}; PostgreSQL {}. \
         `sessionkeeper serve` in shared mode on one Better Auth database, database only and \
         with `SESSION_STORAGE=both` (Redis at {}), {} cookies, {} connections, {} rounds of {} s \
         each, alternating.\n",
        m.date,
        m.cpus,
        m.cpu_model,
        m.mem_gib,
        m.loadavg,
        m.postgres,
        args.redis_url,
        args.cookies,
        args.get_conns,
        args.rounds.max(1),
        args.get_secs
    );
    let _ = writeln!(
        t,
        "| engine | database-only req/s | both req/s | both vs database | database-only p99 (worst) | both p99 (worst) | errors |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for o in outcomes {
        let (d, b) = (mean_rate(&o.database), mean_rate(&o.both));
        let errors: u64 = o.database.iter().chain(&o.both).map(|s| s.errors).sum();
        let _ = writeln!(
            t,
            "| {} | {d:.0} | {b:.0} | {:+.1}% | {:.2} ms | {:.2} ms | {errors} |",
            o.engine.name(),
            (b / d.max(1e-9) - 1.0) * 100.0,
            worst_p99(&o.database),
            worst_p99(&o.both),
        );
    }
    t
}
