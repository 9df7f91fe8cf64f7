//! SIGTERM during load, against the real binary: no request the server accepted is cut off,
//! responses after the signal say `Connection: close`, the cleanup run in progress stops
//! between batches and is recorded `stopped`, and the process exits 0.
//!
//! Which requests did the server accept? Each one it starts is logged ("started processing
//! request", tower-http at debug), and every one of those must reach the client as a whole
//! response. A request that fails without such a line never reached a handler: it was sent
//! on a connection the server closed unread, or sat in the listen backlog when the listener
//! closed, which a client must retry anyway. Each request has a connection of its own.

use crate::helpers::{Db, PASSWORD, Settings, TestDb, test_config};
use crate::process::ServerProcess;
use serde_json::json;
use sessionkeeper::domain::run::Outcome;
use sessionkeeper::domain::{Session, User};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const EXPIRED_SESSIONS: usize = 300;

#[derive(Debug)]
struct Sent {
    started: Instant,
    finished: Instant,
    /// Status and `Connection: close`, or the error text when no whole response came.
    result: Result<(u16, bool), String>,
}

#[tokio::test]
async fn sigterm_during_load_drains_in_flight_requests_and_stops_the_cleanup() {
    let db = TestDb::new(Db::Sqlite).await.expect("SQLite");
    let store = sessionkeeper::app::open_store(&test_config(&db.url, &Settings::new()))
        .await
        .expect("store");
    seed_expired(&*store).await;

    let mut server = ServerProcess::start(
        &db.url,
        &[
            ("RUST_LOG", "info,sqlx=warn,tower_http=debug"),
            ("AUTOMATIC_SESSION_CLEANUP", "true"),
            ("CLEANUP_ON_STARTUP", "true"),
            // 30 batches with a pause of a second each: the run is still going at the signal,
            // however slowly a loaded machine got here.
            ("SESSION_CLEANUP_BATCH_SIZE", "10"),
            ("SESSION_CLEANUP_BATCH_PAUSE_MS", "1000"),
            // Sign-ins on a loaded machine (tests hash passwords in parallel) can take seconds:
            // the drain must not be what cuts them off here.
            ("SHUTDOWN_TIMEOUT_SECONDS", "120"),
        ],
    );
    let url = server.url.clone();
    let body = json!({"name": "Load", "email": "load@example.com", "password": PASSWORD});
    let res = reqwest::Client::new()
        .post(format!("{url}/api/auth/sign-up/email"))
        .header("origin", crate::helpers::BASE_URL)
        .json(&body)
        .send()
        .await
        .expect("sign-up");
    assert_eq!(res.status(), 200);

    let stop_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let workers: Vec<_> = (0..6)
        .map(|i| tokio::spawn(load(url.clone(), i, stop_at.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Signal while the server is inside a sign-in (a password hash: tens of milliseconds at
    // least), so that a request it accepted is in flight whatever the machine's load: waiting a
    // fixed time alone sometimes signalled between requests the server had started.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !inside_a_sign_in(&server.log_lines()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let signalled = Instant::now();
    server.terminate();
    let _ = stop_at.set(signalled + Duration::from_millis(1500));
    let mut sent: Vec<Sent> = Vec::new();
    for w in workers {
        sent.extend(w.await.expect("load task"));
    }
    let code = server.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "exit code after SIGTERM");

    let log = server.log_lines();
    let tail = log[log.len().saturating_sub(40)..].join("\n");
    let accepted = log
        .iter()
        .filter(|l| l.contains("started processing request"))
        .count();
    let whole: Vec<&Sent> = sent.iter().filter(|s| s.result.is_ok()).collect();
    // The sign-up above is one of the accepted requests.
    assert_eq!(
        accepted,
        whole.len() + 1,
        "every request the server started got its whole response; failed: {:?}",
        sent.iter()
            .filter(|s| s.result.is_err())
            .collect::<Vec<_>>()
    );
    for s in &whole {
        assert_eq!(s.result.as_ref().map(|r| r.0), Ok(200), "{s:?}");
    }
    let in_flight = whole
        .iter()
        .filter(|s| s.started < signalled && s.finished > signalled)
        .count();
    assert!(in_flight > 0, "some requests were in flight at the signal");
    eprintln!(
        "shutdown: {} requests, {} whole, {in_flight} in flight at the signal, {} never accepted",
        sent.len(),
        whole.len(),
        sent.len() - whole.len()
    );
    assert!(
        whole.iter().any(|s| s.result.as_ref().is_ok_and(|r| r.1)),
        "responses during the drain say Connection: close"
    );

    let runs = store
        .list_cleanup_runs(10, None, None)
        .await
        .expect("runs")
        .runs;
    let run = runs.first().expect("the start-up run is recorded");
    assert_eq!(
        run.outcome,
        Outcome::Stopped,
        "{run:?}\nserver log:\n{tail}"
    );
    let deleted = run.counts.expired;
    assert!(
        deleted > 0 && deleted < EXPIRED_SESSIONS as u64,
        "stopped part-way: {deleted}"
    );
    assert_eq!(deleted % 10, 0, "stopped between batches: {deleted}");
}

/// Whether the server has started more sign-ins than it has answered.
fn inside_a_sign_in(log: &[String]) -> bool {
    let count = |what: &str| {
        log.iter()
            .filter(|l| l.contains(what) && l.contains("/api/auth/sign-in/email"))
            .count()
    };
    count("started processing request") > count("finished processing request")
}

/// Requests until `stop_at` is set and passed, each on a new connection: sign-ins (slow, a
/// password hash; every third request) and session checks.
async fn load(url: String, worker: usize, stop_at: Arc<std::sync::OnceLock<Instant>>) -> Vec<Sent> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut sent = Vec::new();
    let mut n = worker;
    while stop_at.get().is_none_or(|t| Instant::now() < *t) {
        n += 1;
        let req = if n.is_multiple_of(3) {
            http.post(format!("{url}/api/auth/sign-in/email"))
                .header("origin", crate::helpers::BASE_URL)
                .json(&json!({"email": "load@example.com", "password": PASSWORD}))
        } else {
            http.get(format!("{url}/api/auth/get-session"))
        };
        let started = Instant::now();
        let result = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let close = res
                    .headers()
                    .get("connection")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                match res.bytes().await {
                    Ok(_) => Ok((status, close)),
                    Err(e) => Err(format!("body: {e:?}")),
                }
            }
            Err(e) => Err(format!("{e:?}")),
        };
        let failed = result.is_err();
        sent.push(Sent {
            started,
            finished: Instant::now(),
            result,
        });
        if failed {
            // The server is going away: no point hammering a closed port.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    sent
}

async fn seed_expired(store: &dyn sessionkeeper::store::Store) {
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
    for i in 0..EXPIRED_SESSIONS {
        let s = Session {
            id: format!("old-{i}"),
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
