//! `skbench --limiter`: what the rate limiter costs sessionkeeper. On one seeded database per
//! engine, the same server binary runs with the limiter off and on (memory storage, its limits
//! raised so no request is refused), alternating off/on `--limiter-rounds` times so that drift
//! on the machine falls on both sides. Every request comes from 127.0.0.1, so every check
//! counts under one key: the most contended case for the limiter's lock.

use crate::Args;
use crate::engine::{Engine, Location};
use crate::load::{self, Stats};
use crate::report::Machine;
use crate::scenario::{get_session_calls, plan, print_run, sign_in_calls};
use crate::seed::Dataset;
use crate::servers::{Env, Kind, Server};
use std::fmt::Write as _;

/// A mode of the run: its name, the server's extra environment, where its runs go.
type Mode<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a mut Side);

const OFF: &[(&str, &str)] = &[("RATE_LIMIT_ENABLED", "false")];
/// The limiter on with `storage`, its limits raised so nothing is refused.
fn on(storage: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("RATE_LIMIT_ENABLED", "true"),
        ("RATE_LIMIT_STORAGE", storage),
        ("RATE_LIMIT_MAX", "1000000000"),
        (
            "RATE_LIMIT_RULES",
            "path=/sign-in/*;window=10;max=1000000000",
        ),
    ]
}

/// One mode's runs, summed over the rounds.
#[derive(Default)]
struct Side {
    get: Vec<Stats>,
    sign_in: Vec<Stats>,
    /// Server CPU over the get-session runs.
    get_cpu: std::time::Duration,
}

impl Side {
    /// Server CPU microseconds per good get-session: less sensitive to a busy machine than
    /// the rate.
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

fn errors(runs: &[Stats]) -> u64 {
    runs.iter().map(|s| s.errors).sum()
}

pub async fn run_all(args: &Args, engines: &[Engine]) -> Result<(), String> {
    let machine = Machine::probe(&args.pg_url).await;
    let (run_id, env) = Env::for_run(args, "skbench_limiter")?;
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let mut text = String::new();
    let _ = writeln!(text, "## skbench --limiter results\n");
    let _ = writeln!(
        text,
        "{} on {} x {} ({:.1} GiB RAM), load average before the run {}. sessionkeeper only, limiter \
         off vs on (memory storage, limits raised), {} alternating off/on rounds; each round: {} s \
         warm-up, get-session {} s at {} connections, sign-in {} s at {} connections.\n",
        machine.date,
        machine.cpus,
        machine.cpu_model,
        machine.mem_gib,
        machine.loadavg,
        args.limiter_rounds,
        args.warmup_secs,
        args.get_secs,
        args.get_conns,
        args.signin_secs,
        args.signin_conns
    );
    let _ = writeln!(
        text,
        "| store | limiter storage | get-session req/s off / on | on/off | get-session p99 ms off / on | server CPU µs per get-session off / on | sign-in req/s off / on | errors off / on |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|---|");
    for &engine in engines {
        let tag = format!("{run_id}_{}", engine.name().to_lowercase());
        let db = env.location(engine, &format!("{tag}_sk"));
        let result = measure_engine(args, &env, engine, &tag, &db, &data).await;
        db.destroy().await;
        let (off, ons) = result?;
        for (storage, on) in &ons {
            let _ = writeln!(
                text,
                "| {} | {storage} | {:.0} / {:.0} | {:.3} | {:.2} / {:.2} | {:.1} / {:.1} | {:.1} / {:.1} | {} / {} |",
                engine.name(),
                rate(&off.get),
                rate(&on.get),
                rate(&on.get) / rate(&off.get).max(1e-9),
                mean(off.get.iter().map(Stats::p99)),
                mean(on.get.iter().map(Stats::p99)),
                off.cpu_per_get_us(),
                on.cpu_per_get_us(),
                rate(&off.sign_in),
                rate(&on.sign_in),
                errors(&off.get) + errors(&off.sign_in),
                errors(&on.get) + errors(&on.sign_in),
            );
        }
    }
    let out = args.out.with_file_name("limiter-latest.md");
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
) -> Result<(Side, Vec<(&'static str, Side)>), String> {
    println!("skbench --limiter: {}: seeding", engine.name());
    env.seed_sessionkeeper(db, data).await?;
    let cookies = get_session_calls(env, data, args.cookies);
    let sign_ins = sign_in_calls(data);
    let mut off = Side::default();
    let mut ons: Vec<(&'static str, Side)> = args
        .limiter_storages
        .iter()
        .map(|s| {
            (
                if s == "database" {
                    "database"
                } else {
                    "memory"
                },
                Side::default(),
            )
        })
        .collect();
    for round in 0..args.limiter_rounds {
        let mut modes: Vec<Mode> = vec![("off", OFF.to_vec(), &mut off)];
        for (storage, side) in ons.iter_mut() {
            modes.push((storage, on(storage).to_vec(), side));
        }
        for (name, extra, side) in modes {
            let extra = extra.as_slice();
            println!(
                "skbench --limiter: {} round {} limiter {name}",
                engine.name(),
                round + 1
            );
            let server =
                Server::start_with(Kind::SessionKeeper, env, db, tag, &cookies[0], extra).await?;
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
            let sign_in = load::run(plan(
                args,
                &server,
                &sign_ins,
                args.signin_conns,
                args.signin_secs,
            ))
            .await;
            print_run("sign-in", &sign_in);
            server.stop().await;
            side.get.push(get);
            side.sign_in.push(sign_in);
        }
    }
    Ok((off, ons))
}
