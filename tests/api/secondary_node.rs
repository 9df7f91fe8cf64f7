//! Shared mode next to the real Better Auth 1.7.25 with `secondaryStorage` (the official
//! `@better-auth/redis-storage` on the machine's Redis, 127.0.0.1:6379) and
//! `storeSessionInDatabase: true` (`SESSION_STORAGE=both`): the Node app reads sessions from
//! Redis first, so each of our removals must reach Redis or the Node app keeps accepting the
//! session. Every test uses a key prefix of its own and deletes its keys afterwards.

use crate::compat::compat_dir;
use crate::helpers::*;
use crate::shared_node::{Node, ba_env, start_node};
use serde_json::json;
use sessionkeeper::domain::Scope;
use sessionkeeper::domain::run::{Outcome, Trigger};

pub(crate) const REDIS_URL: &str = "redis://127.0.0.1:6379";
const SERVICE_TOKEN: &str = "service-token-0123456789abcdef";

/// The machine's Redis, or `None` (the test is skipped) when it does not answer.
pub(crate) async fn redis() -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(REDIS_URL).ok()?;
    let conn = client.get_multiplexed_async_connection().await;
    if conn.is_err() && std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("Redis is not running on 127.0.0.1:6379");
    }
    conn.ok()
}

/// The keys matching `pattern` (SCAN, never KEYS: the Redis is shared).
pub(crate) async fn scan(
    conn: &mut redis::aio::MultiplexedConnection,
    pattern: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        out.extend(keys);
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

/// Deletes every key under the test's own `prefix`.
pub(crate) async fn drop_prefix(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) {
    let keys = scan(conn, &format!("{prefix}*")).await;
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(conn)
            .await
            .unwrap();
    }
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: serde_json::Value) -> Res {
    app.send(
        app.http
            .request(method, format!("{}{path}", app.url))
            .bearer_auth(SERVICE_TOKEN)
            .json(&body),
    )
    .await
}

/// The tokens of the Node app's `list-sessions` for a cookie, sorted.
async fn node_tokens(node: &Node, cookie: &str) -> Vec<String> {
    let res = node.get("/api/auth/list-sessions", Some(cookie)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let mut t: Vec<String> = res
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|s| s["token"].as_str().map(String::from))
        .collect();
    t.sort();
    t
}

async fn removals_reach_the_node_apps_redis(db: Db) {
    let Some(dir) = compat_dir() else { return };
    let Some(mut conn) = redis().await else {
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let prefix = format!("sk-test-{}:", sessionkeeper::domain::ids::generate_id(12));
    let mut env = ba_env(&test_db, false);
    env.extend([
        ("BA_SECONDARY".to_string(), "both".to_string()),
        ("REDIS_URL".into(), REDIS_URL.into()),
        ("REDIS_PREFIX".into(), prefix.clone()),
    ]);
    let server = start_node(&dir, &env, &[]);
    let node = Node::new(&server);

    // The Node app signs users in: `excess` gets three sessions, the others one each.
    let mut cookies = std::collections::BTreeMap::new();
    for who in ["excess", "revoked", "banned", "bulk", "survivor"] {
        let res = node.sign_up(&format!("{who}@example.com")).await;
        cookies.insert(who, vec![res.session_cookie().unwrap()]);
    }
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let res = node.sign_in("excess@example.com").await;
        cookies
            .get_mut("excess")
            .unwrap()
            .push(res.session_cookie().unwrap());
    }
    let keys = scan(&mut conn, &format!("{prefix}active-sessions-*")).await;
    assert_eq!(keys.len(), 5, "the Node app keeps its sessions in Redis");

    let settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("SESSION_STORAGE", "both")
        .set("REDIS_URL", REDIS_URL)
        .set("SECONDARY_STORAGE_PREFIX", &prefix)
        .set("ADMIN_API_TOKEN", SERVICE_TOKEN)
        .set("MAX_SESSIONS_PER_USER", "2")
        .set("ENFORCE_SESSION_LIMITS", "true");
    let app = spawn_on_clock(test_db, settings, true)
        .await
        .expect("sessionkeeper starts next to the Node app");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.body["redis"], "ok", "{:?}", ready.body);

    // Our cleanup's excess layer removes the least recently active of excess's three.
    let policy = app.keeper.core().config().cleanup.policy;
    let run = app
        .cleanup
        .run_once(Trigger::Manual, policy, false, Scope::All)
        .await
        .unwrap();
    assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
    assert_eq!(run.counts.excess, 1, "{:?}", run.counts);

    // An admin revoke (by session id), a ban and a bulk delete by user.
    let revoked_id = app
        .get("/api/auth/get-session", Some(&cookies["revoked"][0]))
        .await
        .body["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = admin(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/admin/sessions/{revoked_id}"),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let banned = app
        .get("/api/auth/get-session", Some(&cookies["banned"][0]))
        .await
        .body["user"]["id"]
        .clone();
    let res = admin(
        &app,
        reqwest::Method::POST,
        "/api/auth/admin/ban-user",
        json!({"userId": banned}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let bulk = app
        .get("/api/auth/get-session", Some(&cookies["bulk"][0]))
        .await
        .body["user"]["id"]
        .clone();
    let res = admin(
        &app,
        reqwest::Method::DELETE,
        "/api/admin/sessions",
        json!({"userId": bulk}),
    )
    .await;
    assert_eq!(res.body["count"], 1, "{:?}", res.body);

    // The Node app refuses every removed session and accepts every survivor.
    let excess: Vec<Option<String>> = {
        let mut out = Vec::new();
        for c in &cookies["excess"] {
            out.push(node.whoami(c).await);
        }
        out
    };
    assert_eq!(
        excess,
        vec![
            None,
            Some("excess@example.com".into()),
            Some("excess@example.com".into())
        ],
        "the oldest of excess's sessions went"
    );
    for who in ["revoked", "banned", "bulk"] {
        assert_eq!(node.whoami(&cookies[who][0]).await, None, "{who}");
    }
    assert_eq!(
        node.whoami(&cookies["survivor"][0]).await.as_deref(),
        Some("survivor@example.com")
    );

    // The Node app's list-sessions (read from Redis) matches ours.
    let ours = app
        .get("/api/auth/list-sessions", Some(&cookies["excess"][1]))
        .await;
    let mut our_tokens: Vec<String> = ours
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["token"].as_str().map(String::from))
        .collect();
    our_tokens.sort();
    assert_eq!(our_tokens.len(), 2);
    assert_eq!(node_tokens(&node, &cookies["excess"][1]).await, our_tokens);

    // A sign-out through us reaches Redis too.
    let res = app
        .post(
            "/api/auth/sign-out",
            Some(&cookies["survivor"][0]),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(node.whoami(&cookies["survivor"][0]).await, None);

    drop(server);
    drop(app);
    drop_prefix(&mut conn, &prefix).await;
}

mod both_storages {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::removals_reach_the_node_apps_redis(crate::helpers::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::removals_reach_the_node_apps_redis(crate::helpers::Db::Postgres).await
    }
}

/// A throwaway `redis-server` on a port of its own, stopped when dropped.
pub(crate) struct OwnRedis {
    pub(crate) port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    pub(crate) fn start(port: u16) -> Option<OwnRedis> {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let mut own = OwnRedis { port, child };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(own);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = own.child.kill();
        None
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Redis stops mid-run: the server stays up, `/readyz` says so, the cleanup run is recorded
/// as failed; once Redis is back the next run succeeds.
async fn redis_fault_fails_the_run_only(db: Db) {
    redis_fault_fails_the_run(db, "both", 6391).await
}

/// [`redis_fault_fails_the_run_only`] with the app's sessions in `storage` (`both`, or
/// `secondary`: Redis only), on a throwaway Redis on `port`.
pub(crate) async fn redis_fault_fails_the_run(db: Db, storage: &str, port: u16) {
    let Some(own) = OwnRedis::start(port) else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    // Better Auth's tables, as a shared database has them: an owned app migrates them.
    let owned = spawn_on(test_db.share(), Settings::new()).await.unwrap();
    drop(owned);
    let url = format!("redis://127.0.0.1:{}", own.port);
    let settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("SESSION_STORAGE", storage)
        .set("REDIS_URL", &url);
    let app = spawn_on(test_db, settings)
        .await
        .expect("starts with Redis up");
    let policy = app.keeper.core().config().cleanup.policy;
    let run = || {
        app.cleanup
            .run_once(Trigger::Manual, policy, false, Scope::All)
    };
    assert_eq!(run().await.unwrap().outcome, Outcome::Ok);

    drop(own);
    let failed = run().await.unwrap();
    assert_eq!(failed.outcome, Outcome::Failed);
    assert!(
        failed.error.as_deref().unwrap_or("").contains("Redis"),
        "{:?}",
        failed.error
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body["redis"], "unreachable");
    let runs = app
        .keeper
        .core()
        .store()
        .list_cleanup_runs(10, None, None)
        .await
        .unwrap();
    assert!(
        runs.runs.iter().any(|r| r.outcome == Outcome::Failed),
        "the failed run is recorded"
    );

    let _back = OwnRedis::start(port).expect("Redis starts again");
    let mut outcome = Outcome::Failed;
    for _ in 0..20 {
        outcome = run().await.unwrap().outcome;
        if outcome == Outcome::Ok {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        outcome,
        Outcome::Ok,
        "the next run succeeds once Redis is back"
    );
    assert_eq!(app.get("/readyz", None).await.status, 200);
}

mod redis_fault {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::redis_fault_fails_the_run_only(crate::helpers::Db::Sqlite).await
    }
}

fn ms_now() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A `{session, user}` value as Better Auth stores it (only the fields read back matter).
fn stored(user_id: &str, created_ms: i64, expires_ms: i64) -> String {
    json!({
        "session": {"userId": user_id, "createdAt": iso(created_ms), "expiresAt": iso(expires_ms)},
        "user": {"id": user_id}
    })
    .to_string()
}

/// The sweep of a cleanup run: a listed session the database lacks goes; entries Better Auth
/// left without a TTL (#10992) are cleaned; a session the database has is left exactly as it
/// was. A sign-out rewrites the list the way Better Auth's `deleteSession` does.
async fn sweep_and_removal_follow_better_auth(db: Db) {
    let Some(mut conn) = redis().await else {
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    drop(spawn_on(test_db.share(), Settings::new()).await.unwrap());
    let prefix = format!("sk-test-{}:", sessionkeeper::domain::ids::generate_id(12));
    let settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("SESSION_STORAGE", "both")
        .set("REDIS_URL", REDIS_URL)
        .set("SECONDARY_STORAGE_PREFIX", &prefix);
    let app = spawn_on_clock(test_db, settings, true).await.unwrap();
    let signed = app.sign_up("kept@example.com").await;
    let cookie = signed.session_cookie().unwrap();
    let s = app.get("/api/auth/get-session", Some(&cookie)).await.body;
    let (kept_user, kept_token) = (
        s["user"]["id"].as_str().unwrap().to_owned(),
        s["session"]["token"].as_str().unwrap().to_owned(),
    );
    let now = ms_now();
    let day = 86_400_000;
    let set = |k: String, v: String, ttl: Option<u64>| {
        let mut c = redis::cmd("SET");
        c.arg(k).arg(v);
        if let Some(t) = ttl {
            c.arg("EX").arg(t);
        }
        c
    };
    // The kept user: the session we have, and a later one only Redis has (gone from the
    // database long ago).
    let later = "laterLaterLaterLaterLaterLater12";
    let kept_list = json!([
        {"token": kept_token, "expiresAt": now + 2 * day},
        {"token": later, "expiresAt": now + 3 * day},
    ])
    .to_string();
    // A user whose list and expired session Better Auth stored without a TTL.
    let floored = "flooredFlooredFlooredFlooredFl12";
    let floored_list = json!([{"token": floored, "expiresAt": now - 1000}]).to_string();
    let cmds = [
        set(
            format!("{prefix}active-sessions-{kept_user}"),
            kept_list,
            Some(3 * 86_400),
        ),
        set(
            format!("{prefix}{kept_token}"),
            stored(&kept_user, now - day, now + 2 * day),
            Some(2 * 86_400),
        ),
        set(
            format!("{prefix}{later}"),
            stored(&kept_user, now - day, now + 3 * day),
            Some(3 * 86_400),
        ),
        set(
            format!("{prefix}active-sessions-floored-user"),
            floored_list,
            None,
        ),
        set(
            format!("{prefix}{floored}"),
            stored("floored-user", now - 9 * day, now - 1000),
            None,
        ),
    ];
    for c in cmds {
        let () = c.query_async(&mut conn).await.unwrap();
    }

    let policy = app.keeper.core().config().cleanup.policy;
    let run = app
        .cleanup
        .run_once(Trigger::Manual, policy, false, Scope::All)
        .await
        .unwrap();
    assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
    let get = |k: String| redis::cmd("GET").arg(k).clone();
    let mut conn2 = conn.clone();
    let mut read =
        async |k: String| -> Option<String> { get(k).query_async(&mut conn2).await.unwrap() };
    assert_eq!(
        read(format!("{prefix}{later}")).await,
        None,
        "gone from the database"
    );
    assert_eq!(
        read(format!("{prefix}{floored}")).await,
        None,
        "expired, no TTL"
    );
    assert_eq!(
        read(format!("{prefix}active-sessions-floored-user")).await,
        None,
        "a list with nothing live left is deleted"
    );
    assert!(read(format!("{prefix}{kept_token}")).await.is_some());
    let list = read(format!("{prefix}active-sessions-{kept_user}"))
        .await
        .unwrap();
    assert_eq!(
        list,
        json!([{"token": kept_token, "expiresAt": now + 2 * day}]).to_string(),
        "Better Auth's layout: the removed token left, field order kept"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{prefix}active-sessions-{kept_user}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((2 * 86_400 - 5..=2 * 86_400).contains(&ttl), "ttl {ttl}");

    // A sign-out through us: the session key goes and the emptied list is deleted.
    let out = app
        .post("/api/auth/sign-out", Some(&cookie), json!({}))
        .await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    assert_eq!(read(format!("{prefix}{kept_token}")).await, None);
    assert_eq!(
        read(format!("{prefix}active-sessions-{kept_user}")).await,
        None
    );
    drop(app);
    drop_prefix(&mut conn, &prefix).await;
}

mod sweep {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::sweep_and_removal_follow_better_auth(crate::helpers::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::sweep_and_removal_follow_better_auth(crate::helpers::Db::Postgres).await
    }
}
