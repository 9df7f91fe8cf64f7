//! The summary: what each server did, and the ratios the issue sets targets for.

use crate::Args;
use crate::engine::Engine;
use crate::load::Stats;
use crate::scenario::CpuUse;
use std::fmt::Write as _;
use std::time::Duration;

pub struct ServerReport {
    pub startup: Duration,
    pub get: Stats,
    pub get_cpu: CpuUse,
    pub sign_in: Stats,
    pub flood_get: Stats,
    pub flood_sign_in: Stats,
    pub peak_rss_mib: Option<f64>,
}

impl ServerReport {
    /// Server CPU per get-session, microseconds.
    fn cpu_per_get_us(&self) -> f64 {
        self.get_cpu.server.as_secs_f64() * 1e6 / self.get.ok.max(1) as f64
    }

    fn pg_cpu_per_get_us(&self) -> f64 {
        self.get_cpu.postgres.as_secs_f64() * 1e6 / self.get.ok.max(1) as f64
    }

    fn loadgen_share(&self) -> f64 {
        self.get_cpu.loadgen.as_secs_f64() / self.get.elapsed.as_secs_f64().max(1e-9)
    }
}

pub struct EngineReport {
    pub engine: Engine,
    pub sk: ServerReport,
    pub ba: ServerReport,
    /// `pgbench -S` transactions per second (PostgreSQL only).
    pub pgbench: Option<f64>,
}

/// Where and when the numbers were taken.
pub struct Machine {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub mem_gib: f64,
    pub loadavg: String,
    pub node: String,
    pub postgres: String,
}

impl Machine {
    pub async fn probe(pg_url: &str) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown".into(), |(_, v)| v.trim().to_owned());
        let mem_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .next()?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let cmd_out = |prog: &str, args: &[&str]| {
            std::process::Command::new(prog)
                .args(args)
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| "unknown".into())
        };
        Self {
            date: time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .unwrap_or_default(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            mem_gib,
            loadavg: std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            node: cmd_out("node", &["--version"]),
            postgres: cmd_out("psql", &[pg_url, "-tAc", "show server_version"]),
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}", a / b)
    } else {
        "n/a".into()
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

impl EngineReport {
    /// Every measured number, one row per metric.
    pub fn render_detail(&self) -> String {
        let (sk, ba) = (&self.sk, &self.ba);
        let mut t = String::new();
        let _ = writeln!(t, "\n### {}: measurements\n", self.engine.name());
        let _ = writeln!(t, "| metric | sessionkeeper | Better Auth |");
        let _ = writeln!(t, "|---|---:|---:|");
        let row = |t: &mut String, name: &str, f: &dyn Fn(&ServerReport) -> String| {
            let _ = writeln!(t, "| {name} | {} | {} |", f(sk), f(ba));
        };
        row(&mut t, "get-session req/s", &|s| {
            format!("{:.0}", s.get.rate())
        });
        row(&mut t, "get-session p50 / p99 / max (ms)", &|s| {
            format!(
                "{:.2} / {:.2} / {:.1}",
                s.get.p50(),
                s.get.p99(),
                s.get.max_ms()
            )
        });
        row(&mut t, "get-session good / errors", &|s| {
            format!("{} / {}", s.get.ok, s.get.errors)
        });
        row(&mut t, "server CPU per get-session (µs)", &|s| {
            format!("{:.0}", s.cpu_per_get_us())
        });
        if self.engine == Engine::Postgres {
            row(&mut t, "PostgreSQL CPU per get-session (µs)", &|s| {
                format!("{:.0}", s.pg_cpu_per_get_us())
            });
        }
        row(&mut t, "load generator CPU (share of one core)", &|s| {
            format!("{:.0}%", s.loadgen_share() * 100.0)
        });
        row(&mut t, "sign-in req/s", &|s| {
            format!("{:.1}", s.sign_in.rate())
        });
        row(&mut t, "sign-in p50 / p99 (ms)", &|s| {
            format!("{:.0} / {:.0}", s.sign_in.p50(), s.sign_in.p99())
        });
        row(&mut t, "sign-in good / errors", &|s| {
            format!("{} / {}", s.sign_in.ok, s.sign_in.errors)
        });
        row(&mut t, "get-session during sign-in flood: req/s", &|s| {
            format!("{:.0}", s.flood_get.rate())
        });
        row(
            &mut t,
            "get-session during sign-in flood: p50 / p99 / max (ms)",
            &|s| {
                format!(
                    "{:.2} / {:.2} / {:.1}",
                    s.flood_get.p50(),
                    s.flood_get.p99(),
                    s.flood_get.max_ms()
                )
            },
        );
        row(&mut t, "get-session during sign-in flood: errors", &|s| {
            s.flood_get.errors.to_string()
        });
        row(&mut t, "sign-in during the flood: req/s (errors)", &|s| {
            format!("{:.1} ({})", s.flood_sign_in.rate(), s.flood_sign_in.errors)
        });
        row(&mut t, "peak RSS (VmHWM, MiB)", &|s| {
            s.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.1}"))
        });
        row(&mut t, "start-up to first good get-session", &|s| {
            ms(s.startup)
        });
        if let Some(tps) = self.pgbench {
            let _ = writeln!(t, "| `pgbench -S` (PostgreSQL alone) tps | {tps:.0} | |");
        }
        t
    }

    /// The targets as ratios.
    fn render_ratios(&self, t: &mut String) {
        let (sk, ba) = (&self.sk, &self.ba);
        let e = self.engine.name();
        let get_ratio = sk.get.rate() / ba.get.rate().max(1e-9);
        let _ = writeln!(
            t,
            "| {e} | get-session req/s, ours / theirs | {} | >= 15 | {} |",
            ratio(sk.get.rate(), ba.get.rate()),
            verdict(get_ratio >= 15.0)
        );
        let _ = writeln!(
            t,
            "| {e} | get-session p99 at 64 connections (ms) | {:.2} (theirs {:.2}) | <= 5 ms | {} |",
            sk.get.p99(),
            ba.get.p99(),
            verdict(sk.get.p99() <= 5.0)
        );
        if let Some(tps) = self.pgbench {
            let _ = writeln!(
                t,
                "| {e} | get-session req/s / `pgbench -S` tps | {} ({:.0} / {tps:.0}) | >= 0.5 | {} |",
                ratio(sk.get.rate(), tps),
                sk.get.rate(),
                verdict(sk.get.rate() / tps >= 0.5)
            );
        }
        let _ = writeln!(
            t,
            "| {e} | sign-in req/s, ours / theirs | {} ({:.1} / {:.1}) | >= 1 | {} |",
            ratio(sk.sign_in.rate(), ba.sign_in.rate()),
            sk.sign_in.rate(),
            ba.sign_in.rate(),
            verdict(sk.sign_in.rate() >= ba.sign_in.rate())
        );
        let flood = sk.flood_get.p99() / sk.get.p99();
        let _ = writeln!(
            t,
            "| {e} | get-session p99 during sign-in flood / idle p99, ours | {} ({:.2} / {:.2} ms; theirs {}) | <= 2 | {} |",
            ratio(sk.flood_get.p99(), sk.get.p99()),
            sk.flood_get.p99(),
            sk.get.p99(),
            ratio(ba.flood_get.p99(), ba.get.p99()),
            verdict(flood <= 2.0)
        );
        match (sk.peak_rss_mib, ba.peak_rss_mib) {
            (Some(a), Some(b)) => {
                let _ = writeln!(
                    t,
                    "| {e} | peak RSS, ours / theirs | {} ({a:.1} / {b:.1} MiB) | <= 0.125 | {} |",
                    ratio(a, b),
                    verdict(a / b <= 0.125)
                );
            }
            _ => {
                let _ = writeln!(
                    t,
                    "| {e} | peak RSS, ours / theirs | n/a | <= 0.125 | n/a |"
                );
            }
        }
        let _ = writeln!(
            t,
            "| {e} | start-up to first good request, ours / theirs | {} ({} / {}) | (none) | |",
            ratio(sk.startup.as_secs_f64(), ba.startup.as_secs_f64()),
            ms(sk.startup),
            ms(ba.startup)
        );
        let errors =
            sk.get.errors + sk.sign_in.errors + sk.flood_get.errors + sk.flood_sign_in.errors;
        let theirs =
            ba.get.errors + ba.sign_in.errors + ba.flood_get.errors + ba.flood_sign_in.errors;
        let _ = writeln!(
            t,
            "| {e} | errors in all runs, ours / theirs | {errors} / {theirs} | 0 | {} |",
            verdict(errors == 0)
        );
    }
}

pub fn render(m: &Machine, args: &Args, reports: &[EngineReport]) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "## skbench results\n");
    let _ = writeln!(
        t,
        "{} on {} x {} ({:.1} GiB RAM), load average before the run {}; Node {}, PostgreSQL {}, \
         better-auth 1.7.25. **The {} cores are shared by the load generator, the server under \
         test and the database.**\n",
        m.date, m.cpus, m.cpu_model, m.mem_gib, m.loadavg, m.node, m.postgres, m.cpus
    );
    let _ = writeln!(
        t,
        "Data per database: {} users, {} sessions. get-session: {} s at {} connections over {} cookies \
         (after {} s warm-up); sign-in: {} s at {} connections; flood: both at once for {} s.\n",
        args.users,
        args.users * args.sessions_per_user,
        args.get_secs,
        args.get_conns,
        args.cookies,
        args.warmup_secs,
        args.signin_secs,
        args.signin_conns,
        args.flood_secs
    );
    let _ = writeln!(t, "| store | target | measured | goal | met |");
    let _ = writeln!(t, "|---|---|---|---|---|");
    for r in reports {
        r.render_ratios(&mut t);
    }
    for r in reports {
        t.push_str(&r.render_detail());
    }
    t
}
