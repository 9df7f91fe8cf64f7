//! `--pooler`: sessionkeeper's get-session on one seeded PostgreSQL database, directly and
//! through a transaction-mode pooler (`DATABASE_POOLER=transaction`), in alternating turns
//! within one run, so both paths see the same machine load.

use crate::Args;
use crate::engine::Location;
use crate::load::{self, Call, Stats};
use crate::report::Machine;
use crate::scenario::{get_session_calls, migrate_sessionkeeper, plan, print_run};
use crate::seed::Dataset;
use crate::servers::{self, Env, Kind, Server};
use sessionkeeper::domain::token::TokenStorage;
use std::fmt::Write as _;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Direct,
    Pooled,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Pooled => "PgBouncer (transaction)",
        }
    }
}

struct Row {
    path: Path,
    round: usize,
    conns: usize,
    stats: Stats,
    /// CPU per good request, microseconds: sessionkeeper, PostgreSQL, PgBouncer.
    cpu_us: [f64; 3],
}

pub async fn run(args: &Args) -> Result<(), String> {
    let pooler_url = args.pooler_url.as_deref().ok_or(
        "--pooler needs --pooler-url (or BENCH_POOLER_URL); `bench/run --pooler` starts a PgBouncer and sets it",
    )?;
    let machine = Machine::probe(&args.pg_url).await;
    let (run_id, env) = Env::for_run(args, "skbench")?;
    let name = format!("{run_id}_pooler");
    let direct = Location::postgres(&args.pg_url, &name);
    let pooled = Location::postgres(pooler_url, &name);
    direct.create().await?;
    let rows = measure(args, &env, &direct, &pooled).await;
    direct.destroy().await;
    let text = render(&machine, args, &rows?);
    if let Some(dir) = args.pooler_out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.pooler_out, &text)
        .map_err(|e| format!("{}: {e}", args.pooler_out.display()))?;
    println!("{text}");
    println!("skbench: written to {}", args.pooler_out.display());
    Ok(())
}

async fn measure(
    args: &Args,
    env: &Env,
    direct: &Location,
    pooled: &Location,
) -> Result<Vec<Row>, String> {
    println!(
        "skbench: seeding {} users, {} sessions",
        args.users,
        args.users * args.sessions_per_user
    );
    migrate_sessionkeeper(env, direct).await?;
    let data = Dataset::generate(args.users, args.sessions_per_user);
    let db = direct.open().await?;
    data.insert(&db, TokenStorage::Hashed).await?;
    db.close().await;
    let cookies = get_session_calls(env, &data, args.cookies);
    let mut rows = Vec::new();
    for round in 1..=args.pooler_rounds.max(1) {
        for path in [Path::Direct, Path::Pooled] {
            let (db, extra): (&Location, &[(&str, &str)]) = match path {
                Path::Direct => (direct, &[]),
                Path::Pooled => (pooled, &[("DATABASE_POOLER", "transaction")]),
            };
            let tag = format!(
                "pooler-{round}-{}",
                path.name().split(' ').next().unwrap_or("x")
            );
            let server =
                Server::start_with(Kind::SessionKeeper, env, db, &tag, &cookies[0], extra).await?;
            println!("skbench: round {round}, {}", path.name());
            let result = turn(args, &server, &cookies, path, round).await;
            server.stop().await;
            rows.extend(result);
        }
    }
    Ok(rows)
}

/// Warm-up, then one lone connection (the latency of a check) and `--get-conns` (throughput).
async fn turn(
    args: &Args,
    server: &Server,
    cookies: &Arc<Vec<Call>>,
    path: Path,
    round: usize,
) -> Vec<Row> {
    if args.warmup_secs > 0 {
        load::run(plan(
            args,
            server,
            cookies,
            args.get_conns,
            args.warmup_secs,
        ))
        .await;
    }
    let mut rows = Vec::new();
    for conns in [1, args.get_conns] {
        let before = cpu(server);
        let stats = load::run(plan(args, server, cookies, conns, args.get_secs)).await;
        let after = cpu(server);
        let per = |i: usize| (after[i] - before[i]) * 1e6 / stats.ok.max(1) as f64;
        print_run(&format!("get-session at {conns} connection(s)"), &stats);
        rows.push(Row {
            path,
            round,
            conns,
            cpu_us: [per(0), per(1), per(2)],
            stats,
        });
    }
    rows
}

/// Seconds of CPU so far: the server, every `postgres` process, every `pgbouncer` process.
fn cpu(server: &Server) -> [f64; 3] {
    [
        server.cpu_time().unwrap_or_default().as_secs_f64(),
        servers::postgres_cpu().as_secs_f64(),
        servers::named_cpu("pgbouncer").as_secs_f64(),
    ]
}

fn render(m: &Machine, args: &Args, rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "## skbench --pooler: get-session, direct vs through PgBouncer\n"
    );
    let _ = writeln!(
        t,
        "{} on {} x {} ({:.1} GiB RAM), load average before the run {}; PostgreSQL {}. One \
         database ({} users, {} sessions), get-session over {} cookies, {} s per measurement after \
         {} s warm-up, {} round(s) of (direct, pooled). **The {} cores are shared by the load \
         generator, sessionkeeper, PgBouncer and PostgreSQL.**\n",
        m.date,
        m.cpus,
        m.cpu_model,
        m.mem_gib,
        m.loadavg,
        m.postgres,
        args.users,
        args.users * args.sessions_per_user,
        args.cookies,
        args.get_secs,
        args.warmup_secs,
        args.pooler_rounds.max(1),
        m.cpus
    );
    let _ = writeln!(
        t,
        "| round | path | connections | req/s | p50 ms | p99 ms | errors | CPU µs/req: sessionkeeper / PostgreSQL / PgBouncer |"
    );
    let _ = writeln!(t, "|---:|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} / {:.0} / {:.0} |",
            r.round,
            r.path.name(),
            r.conns,
            r.stats.rate(),
            r.stats.p50(),
            r.stats.p99(),
            r.stats.errors,
            r.cpu_us[0],
            r.cpu_us[1],
            r.cpu_us[2]
        );
    }
    let _ = writeln!(t, "\nMeans over the rounds, pooled / direct:\n");
    let _ = writeln!(t, "| connections | req/s | p99 |");
    let _ = writeln!(t, "|---:|---:|---:|");
    for conns in [1, args.get_conns] {
        let mean = |path: Path, f: &dyn Fn(&Stats) -> f64| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| r.path == path && r.conns == conns)
                .map(|r| f(&r.stats))
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let ratio = |f: &dyn Fn(&Stats) -> f64| {
            let d = mean(Path::Direct, f);
            if d > 0.0 {
                format!("{:.2}", mean(Path::Pooled, f) / d)
            } else {
                "n/a".into()
            }
        };
        let _ = writeln!(
            t,
            "| {conns} | {} | {} |",
            ratio(&|s| s.rate()),
            ratio(&|s| s.p99())
        );
    }
    t
}
