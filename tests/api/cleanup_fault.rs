//! PostgreSQL dies in the middle of a cleanup run: the server stays up, the failed run is
//! recorded once the database is back, and the next run finishes the job.
//!
//! Runs on a throwaway cluster (initdb + pg_ctl on a free port), never on the shared server.

use crate::helpers::*;
use sessionkeeper::app::Application;
use sessionkeeper::domain::SystemClock;
use sessionkeeper::domain::run::Outcome;
use sqlx::{Connection, PgConnection, Row};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn skip_or_fail(why: &str) -> Option<Cluster> {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("cleanup fault test cannot run: {why}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: cleanup fault test: {why}");
    None
}

/// The newest installed PostgreSQL's bin directory.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| {
            bin.join("initdb").exists() && bin.join("pg_ctl").exists()
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl Cluster {
    fn create() -> Option<Cluster> {
        let Some(bin) = postgres_bin() else {
            return skip_or_fail(
                "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)",
            );
        };
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = std::env::temp_dir().join(format!(
            "sk-fault-{}",
            sessionkeeper::domain::ids::generate_id(10)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
            let id = |flag: &str| -> Option<u32> {
                let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
                String::from_utf8_lossy(&out.stdout).trim().parse().ok()
            };
            let (Some(uid), Some(gid)) = (id("-u"), id("-g")) else {
                return skip_or_fail("running as root and there is no postgres user");
            };
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_postgres: is_root,
        };
        let data = cluster.data();
        let ok = cluster.tool(
            "initdb",
            &["-D", &data, "--auth=trust", "-U", "postgres", "--no-sync"],
        );
        if !ok {
            return skip_or_fail("initdb failed");
        }
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn tool(&self, name: &str, args: &[&str]) -> bool {
        let path = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        assert!(
            self.tool(
                "pg_ctl",
                &["-D", &self.data(), "-w", "-l", &log, "-o", &opts, "start"]
            ),
            "pg_ctl start failed; see {log}"
        );
    }

    /// Like a crash or a pulled cable: no shutdown checkpoint, connections cut.
    fn kill(&self) {
        assert!(
            self.tool("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]),
            "pg_ctl stop failed"
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.tool("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(Path::new(&self.dir));
    }
}

async fn wait_for(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_the_run_and_the_next_run_finishes_the_job() {
    let Some(cluster) = Cluster::create() else {
        return;
    };
    cluster.start();
    let settings = Settings::new()
        .set("AUTOMATIC_SESSION_CLEANUP", "true")
        .set("CLEANUP_ON_STARTUP", "true")
        .set("SESSION_CLEANUP_INTERVAL_SECONDS", "1")
        .set("SESSION_CLEANUP_BATCH_SIZE", "20")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "30");
    let app = Application::build_with_clock(
        test_config(&cluster.url(), &settings),
        Arc::new(SystemClock),
    )
    .await
    .expect("app starts");
    let base = format!("http://{}", app.local_addr());
    let cleanup = app.cleanup().clone();

    let seeded: i64 = 3000;
    let mut c = PgConnection::connect(&cluster.url()).await.unwrap();
    for sql in [
        "INSERT INTO \"user\" (\"id\", \"name\", \"email\", \"emailVerified\", \"createdAt\", \"updatedAt\") \
         VALUES ('fu', 'fault', 'fu@example.com', false, now(), now())"
            .to_string(),
        format!(
            "INSERT INTO \"session\" (\"id\", \"token\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"userId\") \
             SELECT 'f' || g, 'tok-f' || g, now() - interval '1 hour', now() - interval '1 day', \
             now() - interval '1 day', 'fu' FROM generate_series(1, {seeded}) g"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
    }
    drop(c);

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));

    // The start-up run is under way: pull the database out from under it.
    wait_for("the start-up run to delete a few batches", 20, async || {
        cleanup
            .status()
            .running_counts
            .is_some_and(|c| c.expired >= 100)
    })
    .await;
    cluster.kill();

    wait_for("the run to fail", 30, async || {
        cleanup
            .status()
            .last_run
            .is_some_and(|r| r.outcome == Outcome::Failed)
    })
    .await;
    let failed = cleanup.status().last_run.unwrap();
    assert!(
        failed.counts.expired >= 100 && failed.counts.expired < seeded as u64,
        "{:?}",
        failed.counts
    );
    assert!(failed.error.is_some());
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    // The schedule goes on while the database is away: more runs, failing, kept in memory.
    wait_for("a second failed run", 30, async || {
        cleanup.status().totals.failed_runs >= 2
    })
    .await;
    assert!(cleanup.status().unrecorded_runs >= 2);
    assert!(!server.is_finished(), "the server stopped");

    cluster.start();
    wait_for(
        "a successful run that records the failures",
        60,
        async || {
            let s = cleanup.status();
            s.last_run.is_some_and(|r| r.outcome == Outcome::Ok) && s.unrecorded_runs == 0
        },
    )
    .await;
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let mut c = PgConnection::connect(&cluster.url()).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM \"session\"")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let rows = sqlx::query(
        "SELECT \"id\", \"outcome\", \"expired\", \"error\" FROM \"sessionkeeper_cleanup_run\"",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let recorded_failures: Vec<String> = rows
        .iter()
        .filter(|r| r.get::<String, _>(1) == "failed")
        .map(|r| r.get::<String, _>(0))
        .collect();
    assert!(
        recorded_failures.contains(&failed.run_id),
        "the interrupted run was not recorded"
    );
    assert!(
        rows.iter()
            .filter(|r| r.get::<String, _>(1) == "failed")
            .all(|r| r.get::<Option<String>, _>(3).is_some())
    );
    assert!(
        rows.iter()
            .any(|r| r.get::<String, _>(1) == "ok" && r.get::<i64, _>(2) > 0)
    );
    // Every deleted row is counted by some run, except possibly the one batch in flight when
    // the database died (committed, but its reply lost).
    let counted: i64 = rows.iter().map(|r| r.get::<i64, _>(2)).sum();
    assert!(
        counted <= seeded && counted >= seeded - 20,
        "counted {counted} of {seeded}"
    );

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
