//! `skbench --activity`: what recording last activity costs get-session, and what its flush
//! writes. Part one: on one seeded database per engine, the same server binary runs with
//! `SESSION_ACTIVITY_TRACKING=false` and `true`, alternating `--activity-rounds` times so that
//! drift on the machine falls on both sides. Part two (PostgreSQL): the flush's write rate at
//! `--activity-checks-per-sec` checks a second spread over `--activity-sessions` sessions, the
//! tracker driven in process on a simulated clock (the write rate depends on how many sessions
//! are active per resolution period, not on the wall clock) and each flush timed for real.

use crate::Args;
use crate::engine::{Engine, Location};
use crate::load::{self, Stats};
use crate::report::Machine;
use crate::scenario::{get_session_calls, plan, print_run};
use crate::seed::Dataset;
use crate::servers::{Env, Kind, Server};
use std::fmt::Write as _;
use std::time::Instant;

#[derive(Default)]
struct Side {
    get: Vec<Stats>,
    get_cpu: std::time::Duration,
}

impl Side {
    fn cpu_per_get_us(&self) -> f64 {
        let ok: u64 = self.get.iter().map(|s| s.ok).sum();
        self.get_cpu.as_secs_f64() * 1e6 / ok.max(1) as f64
    }
}

fn rate(runs: &[Stats]) -> f64 {
    let ok: u64 = runs.iter().map(|s| s.ok).sum();
    let secs: f64 = runs.iter().map(|s| s.elapsed.as_secs_f64()).sum();
    ok as f64 / secs.max(1e-9)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub async fn run_all(args: &Args, engines: &[Engine]) -> Result<(), String> {
    let machine = Machine::probe(&args.pg_url).await;
    let (run_id, env) = Env::for_run(args, "skbench_activity")?;
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let mut text = String::new();
    let _ = writeln!(text, "## skbench --activity results\n");
    let _ = writeln!(
        text,
        "{} on {} x {} ({:.1} GiB RAM), load average before the run {}. Activity tracking off vs on, \
         {} alternating rounds; each round: {} s warm-up, get-session {} s at {} connections over {} \
         cookies.\n",
        machine.date,
        machine.cpus,
        machine.cpu_model,
        machine.mem_gib,
        machine.loadavg,
        args.activity_rounds,
        args.warmup_secs,
        args.get_secs,
        args.get_conns,
        args.cookies,
    );
    let _ = writeln!(
        text,
        "| store | get-session req/s off / on | on/off | p99 ms off / on | server CPU µs per get-session off / on | errors off / on |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|");
    for &engine in engines {
        let tag = format!("{run_id}_{}", engine.name().to_lowercase());
        let db = env.location(engine, &format!("{tag}_sk"));
        let result = measure_engine(args, &env, engine, &tag, &db, &data).await;
        db.destroy().await;
        let (off, on) = result?;
        let _ = writeln!(
            text,
            "| {} | {:.0} / {:.0} | {:.3} | {:.2} / {:.2} | {:.1} / {:.1} | {} / {} |",
            engine.name(),
            rate(&off.get),
            rate(&on.get),
            rate(&on.get) / rate(&off.get).max(1e-9),
            mean(off.get.iter().map(Stats::p99)),
            mean(on.get.iter().map(Stats::p99)),
            off.cpu_per_get_us(),
            on.cpu_per_get_us(),
            off.get.iter().map(|s| s.errors).sum::<u64>(),
            on.get.iter().map(|s| s.errors).sum::<u64>(),
        );
    }
    if engines.contains(&Engine::Postgres) {
        let db = env.location(Engine::Postgres, &format!("{run_id}_flush"));
        let result = flush_rate(args, &db).await;
        db.destroy().await;
        text.push_str(&result?);
    }
    let out = args.out.with_file_name("activity-latest.md");
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{text}");
    println!("skbench: written to {}", out.display());
    Ok(())
}

async fn measure_engine(
    args: &Args,
    env: &Env,
    engine: Engine,
    tag: &str,
    db: &Location,
    data: &Dataset,
) -> Result<(Side, Side), String> {
    println!("skbench --activity: {}: seeding", engine.name());
    env.seed_sessionkeeper(db, data).await?;
    let cookies = get_session_calls(env, data, args.cookies);
    let (mut off, mut on) = (Side::default(), Side::default());
    for round in 0..args.activity_rounds {
        for (name, value, side) in [("off", "false", &mut off), ("on", "true", &mut on)] {
            println!(
                "skbench --activity: {} round {} tracking {name}",
                engine.name(),
                round + 1
            );
            let extra = [
                ("RATE_LIMIT_ENABLED", "false"),
                ("SESSION_ACTIVITY_TRACKING", value),
                // Flushes inside every measured run (the default, 60 s, is longer than one).
                ("SESSION_ACTIVITY_RESOLUTION_SECONDS", "5"),
            ];
            let server =
                Server::start_with(Kind::SessionKeeper, env, db, tag, &cookies[0], &extra).await?;
            if args.warmup_secs > 0 {
                load::run(plan(
                    args,
                    &server,
                    &cookies,
                    args.get_conns,
                    args.warmup_secs,
                ))
                .await;
            }
            let cpu0 = server.cpu_time().unwrap_or_default();
            let get = load::run(plan(args, &server, &cookies, args.get_conns, args.get_secs)).await;
            side.get_cpu += server.cpu_time().unwrap_or_default().saturating_sub(cpu0);
            print_run("get-session", &get);
            server.stop().await;
            side.get.push(get);
        }
    }
    Ok((off, on))
}

/// The flush's writes at a steady check rate: `checks` a simulated second over `sessions`
/// session ids, flushed every resolution period as the server does, for `periods` periods.
async fn flush_rate(args: &Args, db: &Location) -> Result<String, String> {
    use sessionkeeper::service::activity::ActivityTracker;
    use sessionkeeper::store::{Schema, open};
    db.create().await?;
    let store = open(
        &db.sessionkeeper_url(),
        4,
        Schema::default(),
        sessionkeeper::config::Mode::Owned,
        sessionkeeper::config::Pooler::None,
    )
    .await
    .map_err(|e| e.to_string())?;
    store
        .migrate(sessionkeeper::config::Mode::Owned)
        .await
        .map_err(|e| e.to_string())?;
    let (checks, sessions) = (args.activity_checks_per_sec, args.activity_sessions.max(1));
    let resolution = args.activity_resolution;
    let tracker = ActivityTracker::new(store.clone(), resolution);
    let ids: Vec<String> = (0..sessions)
        .map(|i| format!("bench-session-{i:06}"))
        .collect();
    let start = time::OffsetDateTime::now_utc();
    let (mut statements, mut rows) = (0u64, 0u64);
    let (mut record_time, mut flush_time) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut flush_max = std::time::Duration::ZERO;
    let mut n = 0usize;
    let seconds = u64::from(resolution) * args.activity_periods;
    for sec in 0..seconds {
        // Checks spread evenly over the second and over the sessions (round robin).
        let t = start + time::Duration::seconds(sec as i64);
        let began = Instant::now();
        for k in 0..checks {
            let at =
                t + time::Duration::microseconds((k as i64 * 1_000_000) / checks.max(1) as i64);
            tracker.record(&ids[n % sessions], at);
            n += 1;
        }
        record_time += began.elapsed();
        if (sec + 1) % u64::from(resolution) == 0 {
            let began = Instant::now();
            let f = tracker
                .flush(t + time::Duration::seconds(1))
                .await
                .map_err(|e| e.to_string())?;
            let took = began.elapsed();
            flush_time += took;
            flush_max = flush_max.max(took);
            statements += f.statements;
            rows += f.rows;
        }
    }
    let secs = seconds as f64;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\n### Activity flush write rate (PostgreSQL)\n\n{checks} checks/s over {sessions} sessions, \
         resolution {resolution} s, {} periods ({seconds} simulated s): **{:.3} statements/s, {:.1} rows/s** \
         ({statements} statements, {rows} rows). Each flush took {:.1} ms on average, {:.1} ms at most \
         (real time); recording cost {:.0} ns per check on the bench's one thread.\n",
        args.activity_periods,
        statements as f64 / secs,
        rows as f64 / secs,
        flush_time.as_secs_f64() * 1e3 / args.activity_periods.max(1) as f64,
        flush_max.as_secs_f64() * 1e3,
        record_time.as_secs_f64() * 1e9 / (checks as f64 * secs).max(1.0),
    );
    Ok(text)
}
