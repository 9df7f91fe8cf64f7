//! The `redis` mode: sessionkeeper's get-session with Redis configured against database-only,
//! on the same database with the same cookies, alternating in one run so that both see the
//! same machine. Shared mode (`SESSION_STORAGE=both` next to a Better Auth app): get-session
//! reads the database in both, so the column shows what Redis being configured costs the hot
//! path (it should cost nothing). Owned mode with `REDIS_URL`: get-session reads Redis first
//! (the warm-up fills the cache), so the column shows what the cache gains or costs.

use crate::Args;
use crate::engine::{Engine, Location};
use crate::load::{self, Call, Stats};
use crate::report::Machine;
use crate::scenario::{COOKIE_NAME, plan, print_run};
use crate::seed::Dataset;
use crate::servers::{Env, Kind, Server};
use sessionkeeper::domain::cookie::CookieSigner;
use std::fmt::Write;
use std::sync::Arc;

struct Outcome {
    engine: Engine,
    database: Vec<Stats>,
    both: Vec<Stats>,
    owned_database: Vec<Stats>,
    owned_cache: Vec<Stats>,
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
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let mut outcomes = Vec::new();
    for &engine in engines {
        let tag = format!("{run_id}_{}", engine.name().to_lowercase());
        let loc = env.location(engine, &format!("{tag}_ba"));
        let owned_loc = env.location(engine, &format!("{tag}_sk"));
        let result = run_engine(args, &env, engine, &tag, &loc, &data).await;
        loc.destroy().await;
        let mut outcome = result?;
        let owned = run_owned(args, &env, &tag, &owned_loc, &data).await;
        owned_loc.destroy().await;
        drop_prefix(&args.redis_url, &owned_prefix(&tag)).await;
        (outcome.owned_database, outcome.owned_cache) = owned?;
        outcomes.push(outcome);
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
    env.seed_better_auth(loc, tag, data).await?;

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
        owned_database: Vec::new(),
        owned_cache: Vec::new(),
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

fn owned_prefix(tag: &str) -> String {
    format!("{tag}-owned:")
}

/// Owned mode on one sessionkeeper database (hashed tokens): database-only against
/// `REDIS_URL` with `SESSION_STORAGE=both` (the session cache), alternating.
async fn run_owned(
    args: &Args,
    env: &Env,
    tag: &str,
    loc: &Location,
    data: &Dataset,
) -> Result<(Vec<Stats>, Vec<Stats>), String> {
    println!("skbench: owned mode: creating and seeding sessionkeeper's database");
    env.seed_sessionkeeper(loc, data).await?;
    let gets = crate::scenario::get_session_calls(env, data, args.cookies);
    let prefix = owned_prefix(tag);
    let quiet = [("AUTOMATIC_SESSION_CLEANUP", "false")];
    let cache_env = [
        ("AUTOMATIC_SESSION_CLEANUP", "false"),
        ("SESSION_STORAGE", "both"),
        ("REDIS_URL", args.redis_url.as_str()),
        ("SECONDARY_STORAGE_PREFIX", prefix.as_str()),
    ];
    let plain = Server::start_with(
        Kind::SessionKeeper,
        env,
        loc,
        &format!("{tag}-owned-db"),
        &gets[0],
        &quiet,
    )
    .await?;
    let cached = match Server::start_with(
        Kind::SessionKeeper,
        env,
        loc,
        &format!("{tag}-owned-cache"),
        &gets[0],
        &cache_env,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            plain.stop().await;
            return Err(e);
        }
    };
    // The warm-up also fills the cache: every cookie is asked for at least once.
    let warm = args.warmup_secs.max(1);
    load::run(plan(args, &plain, &gets, args.get_conns, warm)).await;
    load::run(plan(args, &cached, &gets, args.get_conns, warm)).await;
    let (mut d, mut c) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds.max(1) {
        let x = load::run(plan(args, &plain, &gets, args.get_conns, args.get_secs)).await;
        print_run(&format!("round {round}: owned, database only"), &x);
        let y = load::run(plan(args, &cached, &gets, args.get_conns, args.get_secs)).await;
        print_run(&format!("round {round}: owned, Redis cache"), &y);
        d.push(x);
        c.push(y);
    }
    plain.stop().await;
    cached.stop().await;
    Ok((d, c))
}

/// Deletes the run's own cache keys (SCAN, never KEYS: the Redis may be shared).
async fn drop_prefix(url: &str, prefix: &str) {
    let Ok(client) = ::redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let mut cursor: u64 = 0;
    loop {
        let page: Result<(u64, Vec<String>), _> = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await;
        let Ok((next, keys)) = page else { return };
        if !keys.is_empty() {
            let _: Result<(), _> = ::redis::cmd("DEL").arg(&keys).query_async(&mut conn).await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
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
    let _ = writeln!(
        t,
        "\nOwned mode on one sessionkeeper database (hashed tokens), database only and with \
         `REDIS_URL` + `SESSION_STORAGE=both` (get-session reads the Redis cache first; the \
         warm-up fills it):\n"
    );
    let _ = writeln!(
        t,
        "| engine | database-only req/s | Redis cache req/s | cache vs database | database-only p99 (worst) | cache p99 (worst) | errors |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for o in outcomes {
        let (d, c) = (mean_rate(&o.owned_database), mean_rate(&o.owned_cache));
        let errors: u64 = o
            .owned_database
            .iter()
            .chain(&o.owned_cache)
            .map(|s| s.errors)
            .sum();
        let _ = writeln!(
            t,
            "| {} | {d:.0} | {c:.0} | {:+.1}% | {:.2} ms | {:.2} ms | {errors} |",
            o.engine.name(),
            (c / d.max(1e-9) - 1.0) * 100.0,
            worst_p99(&o.owned_database),
            worst_p99(&o.owned_cache),
        );
    }
    t
}
