//! Starting, watching and stopping the two servers under test, as child processes on loopback.

use crate::engine::{Engine, Location};
use crate::load::{self, Call};
use crate::seed::Dataset;
use sessionkeeper::domain::token::TokenStorage;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SessionKeeper,
    BetterAuth,
    /// `sessionkeeper serve` in shared mode on Better Auth's database (the `me` mode).
    SessionKeeperShared,
    /// `examples/axum_service.rs` (the library's validator) on Better Auth's database.
    AxumService,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::SessionKeeper => "sessionkeeper",
            Kind::BetterAuth => "Better Auth",
            Kind::SessionKeeperShared => "sessionkeeper (shared mode)",
            Kind::AxumService => "axum_service",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Kind::SessionKeeper => "sk",
            Kind::BetterAuth => "ba",
            Kind::SessionKeeperShared => "sk-shared",
            Kind::AxumService => "axum-service",
        }
    }
}

/// Paths and settings shared by every start.
pub struct Env {
    pub sessionkeeper_bin: PathBuf,
    pub axum_service_bin: PathBuf,
    pub ba_server: PathBuf,
    pub secret: String,
    pub log_dir: PathBuf,
    /// The administrative PostgreSQL URL under which the run's databases are made.
    pub pg_url: String,
}

impl Env {
    /// A run's id (`<prefix>_<pid>_<unix time>`, which names its databases), its log folder
    /// under `--work-dir` (created) and a fresh secret.
    pub fn for_run(args: &crate::Args, prefix: &str) -> Result<(String, Env), String> {
        let run_id = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp()
        );
        let log_dir = args.work_dir.join(&run_id);
        std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
        let env = Env {
            sessionkeeper_bin: args.sessionkeeper_bin.clone(),
            axum_service_bin: args.axum_service_bin.clone(),
            ba_server: args.ba_server.clone(),
            secret: sessionkeeper::domain::ids::generate_id(48),
            log_dir,
            pg_url: args.pg_url.clone(),
        };
        Ok((run_id, env))
    }

    /// The run's database `name` on `engine`: a PostgreSQL database, or a SQLite file in the
    /// log folder.
    pub fn location(&self, engine: Engine, name: &str) -> Location {
        match engine {
            Engine::Postgres => Location::postgres(&self.pg_url, name),
            Engine::Sqlite => Location::Sqlite {
                path: self.log_dir.join(format!("{name}.db")),
            },
        }
    }

    /// Creates sessionkeeper's database at `db` (its own migration) and writes `data` into it
    /// (hashed tokens, as owned mode stores them).
    pub async fn seed_sessionkeeper(&self, db: &Location, data: &Dataset) -> Result<(), String> {
        db.create().await?;
        crate::scenario::migrate_sessionkeeper(self, db).await?;
        insert(db, data, TokenStorage::Hashed).await
    }

    /// Creates Better Auth's database at `db` (its own server makes the schema, started once
    /// under `tag`) and writes `data` into it as Better Auth does (plain tokens).
    pub async fn seed_better_auth(
        &self,
        db: &Location,
        tag: &str,
        data: &Dataset,
    ) -> Result<(), String> {
        db.create().await?;
        let migrate = format!("{tag}-migrate");
        let ba = Server::start(Kind::BetterAuth, self, db, &migrate, &Call::ok()).await?;
        ba.stop().await;
        insert(db, data, TokenStorage::Plain).await
    }
}

async fn insert(db: &Location, data: &Dataset, storage: TokenStorage) -> Result<(), String> {
    let conn = db.open().await?;
    let result = data.insert(&conn, storage).await;
    conn.close().await;
    result
}

pub struct Server {
    pub addr: SocketAddr,
    child: Child,
    pid: u32,
    /// Spawn to the first good get-session.
    pub startup: Duration,
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn command(
    kind: Kind,
    env: &Env,
    db: &Location,
    port: u16,
    log: &Path,
    extra: &[(&str, &str)],
) -> Result<Command, String> {
    let mut cmd = match kind {
        Kind::SessionKeeper => {
            let mut c = Command::new(&env.sessionkeeper_bin);
            c.arg("serve")
                .env("DATABASE_URL", db.sessionkeeper_url())
                .env("BASE_URL", format!("http://127.0.0.1:{port}"))
                .env("SESSIONKEEPER_MODE", "owned")
                // As Better Auth's server here: rate limiting off, unless `extra` turns it on
                // (the limiter run); every request of the bench comes from 127.0.0.1.
                .env("RATE_LIMIT_ENABLED", "false")
                .env("RUST_LOG", "warn")
                .envs(extra.iter().copied());
            c
        }
        Kind::SessionKeeperShared | Kind::AxumService => {
            let mut c = if kind == Kind::AxumService {
                let mut c = Command::new(&env.axum_service_bin);
                c.env("PORT", port.to_string());
                c
            } else {
                let mut c = Command::new(&env.sessionkeeper_bin);
                c.arg("serve")
                    .env("BASE_URL", format!("http://127.0.0.1:{port}"))
                    .env("AUTOMATIC_SESSION_CLEANUP", "false")
                    // The bench's load all comes from 127.0.0.1; /me has no limiter either.
                    .env("RATE_LIMIT_ENABLED", "false");
                c
            };
            c.env("DATABASE_URL", db.sessionkeeper_url())
                .env("SESSIONKEEPER_MODE", "shared")
                .env("RUST_LOG", "warn");
            c
        }
        Kind::BetterAuth => {
            let mut c = Command::new("node");
            c.arg(&env.ba_server)
                .env("PORT", port.to_string())
                .env("NODE_ENV", "production");
            match db {
                Location::Postgres { url, .. } => c.env("DATABASE_URL", url),
                Location::Sqlite { path } => c.env("SQLITE_PATH", path),
            };
            c
        }
    };
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    cmd.env("BETTER_AUTH_SECRET", &env.secret)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true);
    Ok(cmd)
}

impl Server {
    /// Starts a server and waits until `probe` (a get-session for a seeded cookie) succeeds.
    pub async fn start(
        kind: Kind,
        env: &Env,
        db: &Location,
        tag: &str,
        probe: &Call,
    ) -> Result<Self, String> {
        Self::start_with(kind, env, db, tag, probe, &[]).await
    }

    /// [`start`](Self::start) with more environment for sessionkeeper.
    pub async fn start_with(
        kind: Kind,
        env: &Env,
        db: &Location,
        tag: &str,
        probe: &Call,
        extra: &[(&str, &str)],
    ) -> Result<Self, String> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = env.log_dir.join(format!("{tag}-{}.log", kind.slug()));
        let t0 = Instant::now();
        let mut child = command(kind, env, db, port, &log, extra)?
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
        let pid = child.id().ok_or("child exited at once")?;
        loop {
            let last = match load::once(addr, probe).await {
                Ok(()) => break,
                Err(e) => e,
            };
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{} exited with {status} (log: {})",
                    kind.name(),
                    log.display()
                ));
            }
            if t0.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{} not ready after {START_TIMEOUT:?}: {last}",
                    kind.name()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(Self {
            addr,
            child,
            pid,
            startup: t0.elapsed(),
        })
    }

    /// Peak resident set size so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// User plus system CPU time the server process has used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        process_cpu(self.pid)
    }

    pub async fn stop(mut self) {
        // SIGTERM lets both servers drain; kill_on_drop is the backstop.
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// utime + stime of a process, from `/proc/<pid>/stat`.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// CPU time used by every PostgreSQL process on the box (the servers' backends included).
pub fn postgres_cpu() -> Duration {
    named_cpu("postgres")
}

/// CPU time used by every process whose command name is `comm`.
pub fn named_cpu(comm: &str) -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .filter_map(process_cpu)
        .sum()
}

/// CPU time of this process (the load generator).
pub fn self_cpu() -> Duration {
    process_cpu(std::process::id()).unwrap_or_default()
}
