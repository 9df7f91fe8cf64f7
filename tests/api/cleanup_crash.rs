//! A cleanup run whose process is killed (`kill -9`) part-way (issue 19, finding 8), against
//! the real binary on SQLite and PostgreSQL: the run is in the history as `running` from its
//! start, with what it has deleted so far; while the dead holder's lease lasts a manual run
//! gets 409 naming that run, which exists; once the lease has expired the next run takes it
//! over, marks the dead run `failed` keeping its counts, and finishes the job.

use crate::helpers::{Db, Settings, TestDb, test_config};
use crate::process::ServerProcess;
use sessionkeeper::domain::run::{CleanupRun, Outcome};
use sessionkeeper::domain::{Session, User};
use sessionkeeper::store::Store;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const SESSIONS: usize = 300;
const BATCH: u64 = 10;
const TOKEN: &str = "service-token-0123456789abcdef";

async fn seed(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let user = User {
        name: "Old".into(),
        email: "old@example.com".into(),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
        role: Some("user".into()),
        banned: Some(false),
        ban_reason: None,
        ban_expires: None,
        id: "old-user".into(),
        tenant_id: None,
    };
    store.insert_user(&user, "x:y").await.expect("user");
    let past = now - time::Duration::days(2);
    for i in 0..SESSIONS {
        let s = Session {
            id: format!("old-{i:03}"),
            token: format!("old-token-{i}"),
            expires_at: past,
            created_at: past - time::Duration::days(1),
            updated_at: past,
            ip_address: None,
            user_agent: None,
            user_id: user.id.clone(),
            impersonated_by: None,
            active_organization_id: None,
        };
        store.insert_session(&s, None, past).await.expect("session");
    }
}

/// A local address no one listens on right now.
fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").to_string()
}

async fn runs(store: &dyn Store) -> Vec<CleanupRun> {
    store
        .list_cleanup_runs(50, None, None)
        .await
        .expect("history")
        .runs
}

async fn remaining(store: &dyn Store) -> u64 {
    store
        .list_user_sessions("old-user", None, 1000)
        .await
        .expect("sessions")
        .len() as u64
}

async fn manual_run(url: &str) -> (u16, serde_json::Value) {
    let Ok(res) = reqwest::Client::new()
        .post(format!("{url}/api/admin/sessions/cleanup"))
        .header("origin", crate::helpers::BASE_URL)
        .bearer_auth(TOKEN)
        .send()
        .await
    else {
        return (0, serde_json::Value::Null);
    };
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

async fn a_killed_run_is_kept_and_taken_over(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let store = sessionkeeper::app::open_store(&test_config(&db.url, &Settings::new()))
        .await
        .expect("store");
    seed(&*store).await;
    let url = db.direct_url.clone().unwrap_or_else(|| db.url.clone());
    let first_addr = free_addr();
    let mut first = ServerProcess::start(
        &url,
        &[
            ("LISTEN_ADDR", first_addr.as_str()),
            ("ADMIN_API_TOKEN", TOKEN),
            ("SESSION_CLEANUP_BATCH_SIZE", "10"),
            ("SESSION_CLEANUP_BATCH_PAUSE_MS", "200"),
            ("SESSION_CLEANUP_LEASE_SECONDS", "6"),
        ],
    );
    // A manual run, which answers when it ends: the process is killed long before.
    let first_url = first.url.clone();
    let killed_run = tokio::spawn(async move { manual_run(&first_url).await });

    // The run is recorded as running from its start, its counts rewritten batch by batch.
    let t = Instant::now();
    let dead = loop {
        let found = runs(&*store)
            .await
            .into_iter()
            .find(|r| r.outcome == Outcome::Running && r.total >= 3 * BATCH);
        if let Some(run) = found {
            break run;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no run recorded as running with progress; history: {:?}",
            runs(&*store).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    first.kill_hard();
    let _ = killed_run.await;
    let deleted = SESSIONS as u64 - remaining(&*store).await;
    let at_death = runs(&*store)
        .await
        .into_iter()
        .find(|r| r.run_id == dead.run_id)
        .expect("the dead run is in the history");
    assert_eq!(at_death.outcome, Outcome::Running);
    assert!(
        at_death.total <= deleted && deleted - at_death.total <= BATCH,
        "recorded {} of the {deleted} deleted",
        at_death.total
    );
    assert!(deleted < SESSIONS as u64, "killed part-way: {deleted}");

    let second_addr = free_addr();
    let second = ServerProcess::start(
        &url,
        &[
            ("LISTEN_ADDR", second_addr.as_str()),
            ("ADMIN_API_TOKEN", TOKEN),
        ],
    );
    let t = Instant::now();
    let mut refused_while_leased = false;
    let finished = loop {
        let (status, body) = manual_run(&second.url).await;
        match status {
            200 => break body,
            409 => {
                // The run it names exists: the dead one.
                assert_eq!(body["runId"], dead.run_id.as_str(), "{body}");
                refused_while_leased = true;
            }
            other => panic!("manual run: {other} {body}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the dead holder's lease was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(finished["outcome"], "ok", "{finished}");
    assert_eq!(remaining(&*store).await, 0, "the next run finished the job");

    let history = runs(&*store).await;
    let marked = history
        .iter()
        .find(|r| r.run_id == dead.run_id)
        .expect("the dead run is still in the history");
    assert_eq!(marked.outcome, Outcome::Failed, "{marked:?}");
    assert!(
        marked
            .error
            .as_deref()
            .is_some_and(|e| e.contains("abandoned")),
        "{marked:?}"
    );
    assert_eq!(marked.total, at_death.total, "its counts are kept");
    assert!(marked.finished_at.is_some());
    assert!(
        history.iter().all(|r| r.outcome != Outcome::Running),
        "{history:?}"
    );
    eprintln!(
        "crashed run: {} of {SESSIONS} deleted at the kill, {} recorded; 409 while leased: {refused_while_leased}",
        deleted, at_death.total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_killed_run_is_kept_and_taken_over(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_killed_run_is_kept_and_taken_over(Db::Postgres).await;
}
