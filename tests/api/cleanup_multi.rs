//! Two server processes on one PostgreSQL database, cleaning every second: their runs never
//! overlap, every deleted row is counted once, and after the lease holder is SIGKILLed the
//! other instance takes over within a lease period (plus one interval).

use crate::helpers::*;
use sqlx::{Connection, PgConnection, Row};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const LEASE_SECONDS: i64 = 2;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary on `db` (through the pooler, with its settings, when `db` is behind one).
fn command(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"));
    cmd.env_clear()
        .envs(db.pooler_settings(Settings::new()).0)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn start_server(db: &TestDb) -> Server {
    let port = free_port();
    let child = command(db)
        .arg("serve")
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTOMATIC_SESSION_CLEANUP", "true")
        .env("CLEANUP_ON_STARTUP", "true")
        .env("SESSION_CLEANUP_INTERVAL_SECONDS", "1")
        .env("SESSION_CLEANUP_LEASE_SECONDS", LEASE_SECONDS.to_string())
        .env("SESSION_CLEANUP_BATCH_SIZE", "50")
        .env("SESSION_CLEANUP_BATCH_PAUSE_MS", "10")
        .spawn()
        .expect("server starts");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn exec(c: &mut PgConnection, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(c)
        .await
        .unwrap();
}

/// `n` sessions that expired an hour ago, spread over 20 users.
async fn seed_expired(c: &mut PgConnection, prefix: &str, n: usize) {
    exec(
        c,
        format!(
            "INSERT INTO \"session\" (\"id\", \"token\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"userId\") \
             SELECT '{prefix}' || g, 'tok-{prefix}' || g, now() - interval '1 hour', now() - interval '2 days', \
             now() - interval '2 days', 'mu' || (g % 20 + 1) FROM generate_series(1, {n}) g"
        ),
    )
    .await;
}

async fn sessions_left(c: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM \"session\"")
        .fetch_one(c)
        .await
        .unwrap()
}

struct Recorded {
    instance: String,
    started: OffsetDateTime,
    finished: OffsetDateTime,
    expired: i64,
    outcome: String,
}

async fn recorded_runs(c: &mut PgConnection) -> Vec<Recorded> {
    let rows = sqlx::query(
        // Finished runs only: a run is recorded as `running` from its start (issue 19), and
        // has no `finishedAt` until it ends.
        "SELECT \"instance\", \"startedAt\", \"finishedAt\", \"expired\", \"outcome\" \
         FROM \"sessionkeeper_cleanup_run\" WHERE \"outcome\" <> 'running' ORDER BY \"startedAt\", \"id\"",
    )
    .fetch_all(c)
    .await
    .unwrap();
    rows.iter()
        .map(|r| Recorded {
            instance: r.get(0),
            started: r.get(1),
            finished: r.get(2),
            expired: r.get(3),
            outcome: r.get(4),
        })
        .collect()
}

fn assert_no_overlap(runs: &[Recorded]) {
    for pair in runs.windows(2) {
        assert!(
            pair[1].started >= pair[0].finished,
            "runs overlap: {} ran {}..{}, {} started {}",
            pair[0].instance,
            pair[0].started,
            pair[0].finished,
            pair[1].instance,
            pair[1].started
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_cleanup_and_survive_a_killed_holder() {
    share_the_cleanup_and_survive_a_killed_holder(Db::Postgres).await
}

/// The same through a transaction-mode PgBouncer: the lease is a row, not session state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_cleanup_and_survive_a_killed_holder_through_the_pooler() {
    share_the_cleanup_and_survive_a_killed_holder(Db::Pooled).await
}

async fn share_the_cleanup_and_survive_a_killed_holder(kind: Db) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let status = command(&db).arg("migrate").status().unwrap();
    assert!(status.success(), "migrate failed");
    let mut c = PgConnection::connect(db.setup_url()).await.unwrap();
    exec(
        &mut c,
        "INSERT INTO \"user\" (\"id\", \"name\", \"email\", \"emailVerified\", \"createdAt\", \"updatedAt\") \
         SELECT 'mu' || g, 'multi', 'mu' || g || '@example.com', false, now(), now() FROM generate_series(1, 20) g"
            .into(),
    )
    .await;

    // Phase 1: both running, work arriving in waves while runs are in progress.
    let mut seeded = 3000;
    seed_expired(&mut c, "w0-", 3000).await;
    let a = start_server(&db).await;
    let b = start_server(&db).await;
    for wave in 1..=4 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        seed_expired(&mut c, &format!("w{wave}-"), 1500).await;
        seeded += 1500;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = recorded_runs(&mut c).await;
        let counted: i64 = runs.iter().map(|r| r.expired).sum();
        if sessions_left(&mut c).await == 0 && counted == seeded {
            break;
        }
        assert!(
            counted <= seeded,
            "counted {counted} deletions of {seeded} rows"
        );
        assert!(
            Instant::now() < deadline,
            "not all deletions were recorded: {counted} of {seeded}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more (empty) runs, then nothing may have changed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let runs = recorded_runs(&mut c).await;
    assert_eq!(runs.iter().map(|r| r.expired).sum::<i64>(), seeded);
    assert!(runs.iter().all(|r| r.outcome == "ok"));
    assert_no_overlap(&runs);
    let instances: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r.instance.as_str()).collect();
    eprintln!(
        "phase 1: {} runs by {} instance(s), {seeded} rows",
        runs.len(),
        instances.len()
    );

    // Phase 2: kill the holder in the middle of a long run.
    seed_expired(&mut c, "big-", 20_000).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let holder_pid: u32 = loop {
        let row = sqlx::query(
            "SELECT \"holder\" FROM \"sessionkeeper_lease\" WHERE \"name\" = 'session-cleanup' AND \"expiresAt\" > now()",
        )
        .fetch_optional(&mut c)
        .await
        .unwrap();
        let left = sessions_left(&mut c).await;
        if let Some(row) = row
            && left < 19_000
            && left > 0
        {
            let holder: String = row.get(0);
            break holder
                .split(':')
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("holder is host:pid:id");
        }
        assert!(Instant::now() < deadline, "no run took the big batch");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (mut holder, survivor) = if a.child.id() == holder_pid {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(holder.child.id(), holder_pid);
    holder.child.kill().unwrap(); // SIGKILL: no release, no record
    holder.child.wait().unwrap();
    let killed_at: OffsetDateTime = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut c)
        .await
        .unwrap();
    // A DELETE the holder had already sent still commits after the client dies: let it land
    // before counting (the lease keeps the survivor out far longer than this).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left_at_kill = sessions_left(&mut c).await;
    assert!(left_at_kill > 0, "the run finished before the kill");

    let deadline = Instant::now() + Duration::from_secs(60);
    while sessions_left(&mut c).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the survivor never finished the job"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = recorded_runs(&mut c).await;
    assert_no_overlap(&runs);
    let takeover = runs
        .iter()
        .find(|r| r.started > killed_at)
        .expect("a run after the kill");
    assert!(!takeover.instance.contains(&format!(":{holder_pid}:")));
    let waited = takeover.started - killed_at;
    // The lease was renewed at most a third of a lease before the kill; then at most one
    // interval (1 s + 10% jitter) until the survivor asks again.
    assert!(
        waited
            <= time::Duration::seconds(LEASE_SECONDS) + time::Duration::milliseconds(1100 + 1000),
        "takeover took {waited}"
    );
    assert!(
        waited >= time::Duration::milliseconds(LEASE_SECONDS * 1000 / 3),
        "took over a live lease after {waited}"
    );
    let after_kill: i64 = runs
        .iter()
        .filter(|r| r.started > killed_at)
        .map(|r| r.expired)
        .sum();
    assert_eq!(
        after_kill, left_at_kill,
        "the survivor's runs must account for every row left"
    );
    eprintln!(
        "phase 2: killed pid {holder_pid}, takeover after {waited}, {left_at_kill} rows left then"
    );
    let health = reqwest::get(format!("http://127.0.0.1:{}/healthz", survivor.port))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
