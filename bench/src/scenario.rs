//! One engine at a time: create and seed a database per server, then run the same measurements
//! against each server in turn, then PostgreSQL's own ceiling, then drop what was created.

use crate::Args;
use crate::engine::{Engine, Location};
use crate::load::{self, Call, Plan, Stats};
use crate::report::{EngineReport, Machine, ServerReport};
use crate::seed::{self, Dataset};
use crate::servers::{self, Env, Kind, Server};
use sessionkeeper::domain::cookie::CookieSigner;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

pub(crate) const COOKIE_NAME: &str = "better-auth.session_token";

/// One signed get-session per session, for the first `n` sessions (the cookie as Better Auth
/// sets it, signed with the run's secret).
pub(crate) fn get_session_calls(env: &Env, data: &Dataset, n: usize) -> Arc<Vec<Call>> {
    let signer = CookieSigner::new(&env.secret);
    Arc::new(
        data.sessions
            .iter()
            .take(n)
            .map(|s| Call::get_session(COOKIE_NAME, &signer.sign_for_cookie(&s.token), &s.token))
            .collect(),
    )
}

/// One sign-in per user, with the seeded password.
pub(crate) fn sign_in_calls(data: &Dataset) -> Arc<Vec<Call>> {
    Arc::new(
        data.users
            .iter()
            .map(|u| Call::sign_in(&u.email, seed::PASSWORD))
            .collect(),
    )
}

pub async fn run_all(args: &Args, engines: &[Engine]) -> Result<(), String> {
    if args.activity {
        return crate::activity::run_all(args, engines).await;
    }
    if args.limiter {
        return crate::limiter::run_all(args, engines).await;
    }
    let machine = Machine::probe(&args.pg_url).await;
    let (run_id, env) = Env::for_run(args, "skbench")?;
    let log_dir = env.log_dir.clone();
    println!(
        "skbench: seeding {} users, {} sessions",
        args.users,
        args.users * args.sessions_per_user
    );
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let mut reports = Vec::new();
    for &engine in engines {
        let tag = format!(
            "{run_id}_{}",
            if engine == Engine::Postgres {
                "pg"
            } else {
                "sqlite"
            }
        );
        let locations = [Kind::SessionKeeper, Kind::BetterAuth]
            .map(|k| env.location(engine, &format!("{tag}_{}", k.slug())));
        let result = run_engine(args, &env, engine, &tag, &locations, &data).await;
        for l in &locations {
            l.destroy().await;
        }
        let report = result?;
        println!("{}", report.render_detail());
        reports.push(report);
    }
    let text = crate::report::render(&machine, args, &reports);
    if let Some(dir) = args.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.out, &text).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!("{text}");
    println!(
        "skbench: written to {} (server logs in {})",
        args.out.display(),
        log_dir.display()
    );
    Ok(())
}

async fn run_engine(
    args: &Args,
    env: &Env,
    engine: Engine,
    tag: &str,
    locations: &[Location; 2],
    data: &Dataset,
) -> Result<EngineReport, String> {
    println!(
        "skbench: {}: creating and seeding the databases",
        engine.name()
    );
    let [sk_db, ba_db] = locations;
    // Each server makes its own schema; the rows are then written the way Better Auth writes them.
    env.seed_sessionkeeper(sk_db, data).await?;
    env.seed_better_auth(ba_db, tag, data).await?;

    let cookies = get_session_calls(env, data, args.cookies);
    let sign_ins = sign_in_calls(data);

    let mut servers = Vec::new();
    for (kind, db) in [(Kind::SessionKeeper, sk_db), (Kind::BetterAuth, ba_db)] {
        println!("skbench: {}: {}", engine.name(), kind.name());
        servers.push(measure_server(args, env, kind, db, tag, &cookies, &sign_ins).await?);
    }
    let pgbench = match engine {
        Engine::Postgres => Some(pgbench(args, tag).await?),
        Engine::Sqlite => None,
    };
    let [sk, ba]: [ServerReport; 2] = servers.try_into().map_err(|_| "two servers expected")?;
    Ok(EngineReport {
        engine,
        sk,
        ba,
        pgbench,
    })
}

pub(crate) async fn migrate_sessionkeeper(env: &Env, db: &Location) -> Result<(), String> {
    let out = Command::new(&env.sessionkeeper_bin)
        .arg("migrate")
        .env("DATABASE_URL", db.sessionkeeper_url())
        .env("BETTER_AUTH_SECRET", &env.secret)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .map_err(|e| format!("sessionkeeper migrate: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "sessionkeeper migrate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub(crate) fn plan(
    args: &Args,
    server: &Server,
    calls: &Arc<Vec<Call>>,
    conns: usize,
    secs: u64,
) -> Plan {
    Plan {
        addr: server.addr,
        calls: calls.clone(),
        conns,
        duration: Args::secs(secs),
        max_requests: args.max_requests,
    }
}

/// CPU used by the server, PostgreSQL and the load generator over one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub server: Duration,
    pub postgres: Duration,
    pub loadgen: Duration,
}

struct CpuMark(Option<Duration>, Duration, Duration);

impl CpuMark {
    fn now(server: &Server) -> Self {
        CpuMark(
            server.cpu_time(),
            servers::postgres_cpu(),
            servers::self_cpu(),
        )
    }

    fn since(&self, server: &Server) -> CpuUse {
        let later = CpuMark::now(server);
        CpuUse {
            server: later
                .0
                .unwrap_or_default()
                .saturating_sub(self.0.unwrap_or_default()),
            postgres: later.1.saturating_sub(self.1),
            loadgen: later.2.saturating_sub(self.2),
        }
    }
}

async fn measure_server(
    args: &Args,
    env: &Env,
    kind: Kind,
    db: &Location,
    tag: &str,
    cookies: &Arc<Vec<Call>>,
    sign_ins: &Arc<Vec<Call>>,
) -> Result<ServerReport, String> {
    let server = Server::start(kind, env, db, tag, &cookies[0]).await?;
    let startup = server.startup;
    let result = async {
        if args.warmup_secs > 0 {
            load::run(plan(
                args,
                &server,
                cookies,
                args.get_conns,
                args.warmup_secs,
            ))
            .await;
        }
        let mark = CpuMark::now(&server);
        let get = load::run(plan(args, &server, cookies, args.get_conns, args.get_secs)).await;
        let get_cpu = mark.since(&server);
        print_run("get-session", &get);

        let sign_in = load::run(plan(
            args,
            &server,
            sign_ins,
            args.signin_conns,
            args.signin_secs,
        ))
        .await;
        print_run("sign-in", &sign_in);

        let (flood_get, flood_sign_in) = tokio::join!(
            load::run(plan(
                args,
                &server,
                cookies,
                args.get_conns,
                args.flood_secs
            )),
            load::run(plan(
                args,
                &server,
                sign_ins,
                args.signin_conns,
                args.flood_secs
            )),
        );
        print_run("get-session during sign-in flood", &flood_get);
        print_run("sign-in during the flood", &flood_sign_in);
        Ok::<_, String>(ServerReport {
            startup,
            get,
            get_cpu,
            sign_in,
            flood_get,
            flood_sign_in,
            peak_rss_mib: server.peak_rss_mib(),
        })
    }
    .await;
    server.stop().await;
    result
}

pub(crate) fn print_run(what: &str, s: &Stats) {
    println!(
        "  {what:<34} {:>9.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms  errors {}{}",
        s.rate(),
        s.p50(),
        s.p99(),
        s.max_ms(),
        s.errors,
        s.first_error
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
}

/// `pgbench -S` (select-only, prepared) on its own database: what PostgreSQL alone can answer
/// on this box for the same duration and concurrency.
async fn pgbench(args: &Args, tag: &str) -> Result<f64, String> {
    let loc = Location::postgres(&args.pg_url, &format!("{tag}_pgbench"));
    loc.create().await?;
    let result = async {
        let Location::Postgres { url, .. } = &loc else {
            unreachable!("made as postgres")
        };
        run_tool("pgbench", &["-i", "-q", "-s", "1", url]).await?;
        let clients = args.pgbench_clients.unwrap_or(args.get_conns).to_string();
        let secs = args.get_secs.to_string();
        let out = run_tool(
            "pgbench",
            &[
                "-S", "-M", "prepared", "-n", "-c", &clients, "-j", "2", "-T", &secs, url,
            ],
        )
        .await?;
        let tps = out
            .lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("no tps line in pgbench output:\n{out}"))?;
        println!("  pgbench -S -M prepared -c {clients} -j 2 -T {secs}: {tps:.0} tps");
        Ok(tps)
    }
    .await;
    loc.destroy().await;
    result
}

async fn run_tool(tool: &str, argv: &[&str]) -> Result<String, String> {
    let out = Command::new(tool)
        .args(argv)
        .output()
        .await
        .map_err(|e| format!("{tool}: {e} (is it installed? bench/run installs it)"))?;
    if !out.status.success() {
        return Err(format!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
