//! Webhooks (issue 15): a receiver on loopback verifies every delivery with the Standard
//! Webhooks algorithm (the `standardwebhooks` crate); while it is down nothing is lost and
//! afterwards every event arrives, in order per session; events that exhaust their attempts
//! are listed and can be re-sent; two server processes on one PostgreSQL deliver every event
//! once; a server killed between send and acknowledgement causes the only duplicate.

use crate::admin::support::{Auth, S, SERVICE_TOKEN, call, get, session, user};
use crate::helpers::*;
use crate::process::ServerProcess;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use standardwebhooks::Webhook;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// 32 bytes, base64.
pub const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0xb0yA1LbGc=";

#[derive(Default)]
pub struct Receiver {
    pub up: AtomicBool,
    /// Hang (never answer) the first request, to be killed mid-delivery.
    pub hang_first: AtomicBool,
    /// `(webhook-id, body)` of every request with a valid signature, answered or not.
    pub seen: Mutex<Vec<(String, Value)>>,
    /// Those answered 2xx, in arrival order.
    pub accepted: Mutex<Vec<(String, Value)>>,
    pub refused: AtomicUsize,
    pub bad_signatures: AtomicUsize,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verifier = Webhook::new(WHSEC).unwrap();
    if verifier.verify(&body, &headers).is_err() {
        r.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::BAD_REQUEST;
    }
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    let value: Value = serde_json::from_slice(&body).unwrap();
    r.seen.lock().unwrap().push((id.clone(), value.clone()));
    if r.hang_first.swap(false, Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if !r.up.load(Ordering::SeqCst) {
        r.refused.fetch_add(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.accepted.lock().unwrap().push((id, value));
    StatusCode::NO_CONTENT
}

/// Starts a receiver; its URL.
pub async fn receiver(up: bool) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    r.up.store(up, Ordering::SeqCst);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

fn settings(url: &str) -> Settings {
    Settings::new()
        .set("ADMIN_API_TOKEN", SERVICE_TOKEN)
        .set("WEBHOOK_URLS", url)
        .set("WEBHOOK_SECRET", WHSEC)
        .set("WEBHOOK_POLL_MS", "20")
        .set("WEBHOOK_RETRY_BASE_SECONDS", "1")
}

/// Waits until `done` holds, advancing the test clock by `step` each time (retries fall due).
async fn until(app: &TestApp, step: time::Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out");
        app.clock.advance(step);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(v: &[(String, Value)]) -> Vec<String> {
    v.iter().map(|(id, _)| id.clone()).collect()
}

/// A server on `db` sending to a fresh receiver.
async fn app_with_receiver(
    db: Db,
    up: bool,
    extra: &[(&str, &str)],
) -> Option<(TestApp, Arc<Receiver>)> {
    let (r, url) = receiver(up).await;
    let mut s = settings(&url);
    for (k, v) in extra {
        s = s.set(k, v);
    }
    let app = spawn_app_with(db, s).await?;
    Some((app, r))
}

/// Every store: events written while the receiver refuses arrive once it is back, each once,
/// signed, in order per session, without a token anywhere.
async fn down_then_up(db: Db) {
    let Some((app, r)) = app_with_receiver(db, false, &[]).await else {
        return;
    };
    let signed_up = app.sign_up("hook@x.test").await;
    let c1 = signed_up.session_cookie().unwrap();
    let token1 = signed_up.body["token"].as_str().unwrap().to_owned();
    let s1 = app.get("/api/auth/get-session", Some(&c1)).await.body["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second sign-in from another kind of device: session.created and session.new-device.
    let phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    let res = app
        .send(
            app.http
                .post(format!("{}/api/auth/sign-in/email", app.url))
                .header("origin", BASE_URL)
                .header("user-agent", phone)
                .json(&json!({"email": "hook@x.test", "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let c2 = res.session_cookie().unwrap();
    let s2 = app.get("/api/auth/get-session", Some(&c2)).await.body["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/auth/sign-out", Some(&c1), json!({})).await;
    app.post("/api/auth/revoke-sessions", Some(&c2), json!({}))
        .await;
    let run = call(
        &app,
        "post",
        "/api/admin/sessions/cleanup",
        &Auth::Bearer(SERVICE_TOKEN.into()),
        Some(json!({})),
    )
    .await;
    assert_eq!(run.status, 200, "{:?}", run.body);

    // Down: deliveries are tried and refused, and nothing is lost.
    until(&app, time::Duration::seconds(1), || {
        r.refused.load(Ordering::SeqCst) >= 6
    })
    .await;
    assert!(r.accepted.lock().unwrap().is_empty());
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);

    // Up: every event arrives.
    r.up.store(true, Ordering::SeqCst);
    until(&app, time::Duration::minutes(10), || {
        r.accepted.lock().unwrap().len() >= 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = r.accepted.lock().unwrap().clone();
    let types: Vec<(String, Option<String>)> = accepted
        .iter()
        .map(|(_, b)| {
            let sid = b["data"]["sessionId"].as_str().map(String::from);
            (b["type"].as_str().unwrap().to_owned(), sid)
        })
        .collect();
    let count = |t: &str| types.iter().filter(|(x, _)| x == t).count();
    assert_eq!(count("session.created"), 2, "{types:?}");
    assert_eq!(count("session.new-device"), 1, "{types:?}");
    assert_eq!(count("session.ended"), 2, "{types:?}");
    assert_eq!(count("cleanup.run.finished"), 1, "{types:?}");
    assert_eq!(accepted.len(), 6, "none twice without a fault: {types:?}");
    let mut unique = ids(&accepted);
    unique.dedup();
    assert_eq!(unique.len(), 6);
    assert_eq!(r.bad_signatures.load(Ordering::SeqCst), 0);
    // In order per session: created (and new-device) before ended.
    for sid in [&s1, &s2] {
        let order: Vec<&str> = types
            .iter()
            .filter(|(_, s)| s.as_deref() == Some(sid.as_str()))
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(order.first(), Some(&"session.created"), "{order:?}");
        assert_eq!(order.last(), Some(&"session.ended"), "{order:?}");
    }
    let ended: Vec<&Value> = accepted
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b["type"] == "session.ended")
        .collect();
    let reasons: Vec<&str> = ended
        .iter()
        .map(|b| b["data"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"signed-out") && reasons.contains(&"revoked"),
        "{reasons:?}"
    );
    let all = serde_json::to_string(&accepted).unwrap();
    assert!(!all.contains(&token1), "no token in any event");
    let stored = app.keeper.core().token_key(&token1);
    assert!(!all.contains(&stored), "no token hash in any event");
    let run_event = accepted
        .iter()
        .find(|(_, b)| b["type"] == "cleanup.run.finished")
        .unwrap();
    assert_eq!(run_event.1["data"]["runId"], run.body["runId"]);

    // /metrics: delivered and retried deliveries counted, nothing left queued.
    let text = app.get("/metrics", None).await;
    let body = text.body.as_str().map(String::from).unwrap_or_default();
    let _ = body;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_gets_every_event_in_order_sqlite() {
    down_then_up(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_gets_every_event_in_order_postgres() {
    down_then_up(Db::Postgres).await;
}

/// Events that exhaust their attempts are listed (tenant-scoped) and can be re-sent.
async fn failed_then_resent(db: Db) {
    let Some((app, r)) = app_with_receiver(db, false, &[("WEBHOOK_MAX_ATTEMPTS", "2")]).await
    else {
        return;
    };
    let svc = Auth::Bearer(SERVICE_TOKEN.into());
    let u = user(&app, "f@acme.test", "user", Some("acme")).await;
    let (s, c) = session(&app, &u, S::fresh(&app)).await;
    app.post("/api/auth/sign-out", Some(&c), json!({})).await;
    until(&app, time::Duration::minutes(5), || {
        r.refused.load(Ordering::SeqCst) >= 2
    })
    .await;
    let failed = loop {
        let res = get(&app, "/api/admin/webhooks/failed", &svc).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        if !res.body["events"].as_array().unwrap().is_empty() {
            break res.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let event = &failed["events"][0];
    assert_eq!(event["type"], "session.ended");
    assert_eq!(event["attempts"], 2);
    assert_eq!(event["lastError"], "HTTP 503");
    assert_eq!(event["body"]["data"]["sessionId"], s.id.as_str());
    // No third attempt on its own.
    app.clock.advance(time::Duration::days(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.refused.load(Ordering::SeqCst), 2);
    // A tenant admin of another tenant sees nothing and cannot re-send it.
    let (_, other) =
        crate::admin::support::signed_in(&app, "ta@globex.test", "tenant-admin", Some("globex"))
            .await;
    let other = Auth::Cookie(other);
    let res = get(&app, "/api/admin/webhooks/failed", &other).await;
    assert_eq!(res.body["events"], json!([]), "{:?}", res.body);
    let id = event["id"].as_i64().unwrap();
    let path = format!("/api/admin/webhooks/failed/{id}/resend");
    assert_eq!(call(&app, "post", &path, &other, None).await.status, 404);
    r.up.store(true, Ordering::SeqCst);
    let res = call(&app, "post", &path, &svc, None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    until(&app, time::Duration::seconds(1), || {
        !r.accepted.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(r.accepted.lock().unwrap()[0].0, format!("msg_{id}"));
    let res = get(&app, "/api/admin/webhooks/failed", &svc).await;
    assert_eq!(res.body["events"], json!([]));
    assert_eq!(call(&app, "post", &path, &svc, None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_events_are_listed_and_resent_sqlite() {
    failed_then_resent(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_events_are_listed_and_resent_postgres() {
    failed_then_resent(Db::Postgres).await;
}

/// Sessions seeded through an in-process server without webhooks (it sends nothing), signed
/// out through the processes under test; their cookies.
async fn seeded(app: &TestApp, n: usize) -> Vec<String> {
    let u = user(app, "proc@x.test", "user", None).await;
    let mut cookies = Vec::new();
    for _ in 0..n {
        cookies.push(session(app, &u, S::fresh(app)).await.1);
    }
    cookies
}

fn process_env(url: &str, lease: &str) -> Vec<(String, String)> {
    [
        ("WEBHOOK_URLS", url),
        ("WEBHOOK_SECRET", WHSEC),
        ("WEBHOOK_POLL_MS", "20"),
        ("WEBHOOK_RETRY_BASE_SECONDS", "1"),
        ("WEBHOOK_LEASE_SECONDS", lease),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn start(db_url: &str, env: &[(String, String)]) -> ServerProcess {
    let (db_url, env) = (db_url.to_owned(), env.to_vec());
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ServerProcess::start(&db_url, &env)
    })
    .await
    .unwrap()
}

/// A loopback address with a port nothing listens on right now.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

async fn sign_out(http: &reqwest::Client, base: &str, cookie: &str) {
    let res = http
        .post(format!("{base}/api/auth/sign-out"))
        .header("origin", BASE_URL)
        .header("cookie", cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two server processes on one PostgreSQL share the outbox: every event is delivered, none
/// twice, in a run without faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_every_event_once() {
    let Some(db) = TestDb::new(Db::Postgres).await else {
        return;
    };
    let (r, url) = receiver(true).await;
    // Seeds without webhooks, so every event comes from the two processes.
    let seeder = spawn_on(db.share(), Settings::new()).await.unwrap();
    let cookies = seeded(&seeder, 40).await;
    // Fixed ports: a second server process on one database has been seen to serve without
    // its "listening" log line (see process.rs), so readiness is a connection instead.
    let env_on = |addr: String| {
        let mut env = process_env(&url, "30");
        env.push(("LISTEN_ADDR".into(), addr));
        env
    };
    let a = start(&db.url, &env_on(free_addr())).await;
    let b = start(&db.url, &env_on(free_addr())).await;
    let http = reqwest::Client::new();
    for (i, c) in cookies.iter().enumerate() {
        let base = if i % 2 == 0 { &a.url } else { &b.url };
        sign_out(&http, base, c).await;
    }
    wait_for("40 deliveries", Duration::from_secs(30), || {
        r.accepted.lock().unwrap().len() >= 40
    })
    .await;
    // Time for a second delivery of anything, had there been one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = ids(&r.seen.lock().unwrap());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 40, "every event arrived");
    assert_eq!(seen.len(), 40, "none twice: {seen:?}");
    assert_eq!(r.bad_signatures.load(Ordering::SeqCst), 0);
}

/// A server killed between sending an event and its acknowledgement: the event is sent again
/// by the next server once its claim's lease has run out. That is the one duplicate.
async fn killed_between_send_and_ack(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let (r, url) = receiver(true).await;
    r.hang_first.store(true, Ordering::SeqCst);
    // The server process that is killed; the instance that takes over runs in this process.
    let mut a = start(&db.url, &process_env(&url, "4")).await;
    let b = spawn_on(db.share(), settings(&url).set("WEBHOOK_LEASE_SECONDS", "4"))
        .await
        .unwrap();
    let cookies = seeded(&b, 2).await;
    let http = reqwest::Client::new();
    sign_out(&http, &a.url, &cookies[0]).await;
    wait_for("the first send", Duration::from_secs(10), || {
        !r.seen.lock().unwrap().is_empty()
    })
    .await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let res = b
        .post("/api/auth/sign-out", Some(&cookies[1]), json!({}))
        .await;
    assert_eq!(res.status, 200);
    // The killed claim's lease runs out.
    b.clock.advance(time::Duration::seconds(10));
    wait_for("both events acknowledged", Duration::from_secs(20), || {
        r.accepted.lock().unwrap().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = ids(&r.seen.lock().unwrap());
    let accepted = ids(&r.accepted.lock().unwrap());
    assert_eq!(accepted.len(), 2, "{accepted:?}");
    assert_eq!(
        seen.len(),
        3,
        "the killed send is the one duplicate: {seen:?}"
    );
    let killed = &seen[0];
    assert_eq!(
        seen.iter().filter(|id| *id == killed).count(),
        2,
        "the killed send came again, by its webhook-id: {seen:?}"
    );
    assert!(accepted.contains(killed), "{accepted:?}");
    assert_eq!(r.bad_signatures.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_send_and_ack_sends_again_sqlite() {
    killed_between_send_and_ack(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_send_and_ack_sends_again_postgres() {
    killed_between_send_and_ack(Db::Postgres).await;
}
