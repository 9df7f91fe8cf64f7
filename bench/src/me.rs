//! The `me` mode: the library's `axum_service` example (`GET /me`, a [`Validator`] in an axum
//! app) against our own server's get-session, on the same Better Auth database with the same
//! cookies, alternating in one run so that both see the same machine.
//!
//! [`Validator`]: sessionkeeper::Validator

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
    get_session: Vec<Stats>,
    me: Vec<Stats>,
}

fn mean_rate(runs: &[Stats]) -> f64 {
    runs.iter().map(Stats::rate).sum::<f64>() / runs.len().max(1) as f64
}

fn worst_p99(runs: &[Stats]) -> f64 {
    runs.iter().map(Stats::p99).fold(0.0, f64::max)
}

pub async fn run_all(args: &Args, engines: &[Engine]) -> Result<(), String> {
    let machine = Machine::probe(&args.pg_url).await;
    let (run_id, env) = Env::for_run(args, "skbench_me")?;
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let mut outcomes = Vec::new();
    for &engine in engines {
        let tag = format!("{run_id}_{}", engine.name().to_lowercase());
        let loc = env.location(engine, &format!("{tag}_ba"));
        let result = run_engine(args, &env, engine, &tag, &loc, &data).await;
        loc.destroy().await;
        outcomes.push(result?);
    }
    let text = render(&machine, args, &outcomes);
    if let Some(dir) = args.me_out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.me_out, &text).map_err(|e| format!("{}: {e}", args.me_out.display()))?;
    println!("{text}");
    println!("skbench: written to {}", args.me_out.display());
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
    let sessions = data.sessions.iter().take(args.cookies);
    let (gets, mes): (Vec<Call>, Vec<Call>) = sessions
        .map(|s| {
            let signed = signer.sign_for_cookie(&s.token);
            (
                Call::get_session(COOKIE_NAME, &signed, &s.token),
                Call::me(COOKIE_NAME, &signed, &data.users[s.user].email),
            )
        })
        .unzip();
    let (gets, mes) = (Arc::new(gets), Arc::new(mes));

    // Both run for the whole measurement; the idle one costs nothing.
    let sk = Server::start(Kind::SessionKeeperShared, env, loc, tag, &gets[0]).await?;
    let svc = match Server::start(Kind::AxumService, env, loc, tag, &mes[0]).await {
        Ok(s) => s,
        Err(e) => {
            sk.stop().await;
            return Err(e);
        }
    };
    let mut outcome = Outcome {
        engine,
        get_session: Vec::new(),
        me: Vec::new(),
    };
    if args.warmup_secs > 0 {
        load::run(plan(args, &sk, &gets, args.get_conns, args.warmup_secs)).await;
        load::run(plan(args, &svc, &mes, args.get_conns, args.warmup_secs)).await;
    }
    for round in 1..=args.rounds.max(1) {
        let g = load::run(plan(args, &sk, &gets, args.get_conns, args.get_secs)).await;
        print_run(&format!("round {round}: get-session"), &g);
        let m = load::run(plan(args, &svc, &mes, args.get_conns, args.get_secs)).await;
        print_run(&format!("round {round}: axum_service /me"), &m);
        outcome.get_session.push(g);
        outcome.me.push(m);
    }
    sk.stop().await;
    svc.stop().await;
    Ok(outcome)
}

fn render(m: &Machine, args: &Args, outcomes: &[Outcome]) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "## skbench --mode me\n");
    let _ = writeln!(
        t,
        "{} on {} x {} ({:.1} GiB RAM), load average before the run {}; PostgreSQL {}. \
         `sessionkeeper serve` (shared mode, get-session) and `examples/axum_service.rs` \
         (`GET /me`, the library's validator) on the same Better Auth database, {} cookies, \
         {} connections, {} rounds of {} s each, alternating.\n",
        m.date,
        m.cpus,
        m.cpu_model,
        m.mem_gib,
        m.loadavg,
        m.postgres,
        args.cookies,
        args.get_conns,
        args.rounds.max(1),
        args.get_secs
    );
    let _ = writeln!(
        t,
        "| engine | get-session req/s | /me req/s | /me vs get-session | get-session p99 (worst) | /me p99 (worst) | errors |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for o in outcomes {
        let (g, me) = (mean_rate(&o.get_session), mean_rate(&o.me));
        let errors: u64 = o.get_session.iter().chain(&o.me).map(|s| s.errors).sum();
        let _ = writeln!(
            t,
            "| {} | {g:.0} | {me:.0} | {:+.1}% | {:.2} ms | {:.2} ms | {errors} |",
            o.engine.name(),
            (me / g.max(1e-9) - 1.0) * 100.0,
            worst_p99(&o.get_session),
            worst_p99(&o.me),
        );
    }
    t
}
