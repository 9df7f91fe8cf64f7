//! Owned mode with Redis as the session cache (`REDIS_URL`, `SESSION_STORAGE=both`): two
//! instances on one database and one Redis (the machine's, 127.0.0.1:6379, under a key prefix
//! of the test's own, deleted afterwards). Get-session reads Redis first; a removal on one
//! instance is refused by the other on the very next request.

use crate::helpers::*;
use crate::secondary_node::{OwnRedis, REDIS_URL, drop_prefix, redis, scan};
use serde_json::json;

/// `mod $name { sqlite, postgres }` running `$body(db)` on each store.
macro_rules! both_stores_fn {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(Db::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(Db::Postgres).await
            }
        }
    };
}

/// The raw token inside a `name=token.signature` session cookie.
fn raw_token(cookie: &str) -> String {
    let value = cookie.split_once('=').map_or("", |(_, v)| v);
    value.split(['.', '%']).next().unwrap_or("").to_owned()
}

async fn two_instances_share_the_cache(db: Db) {
    let Some(mut conn) = redis().await else {
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let prefix = format!("sk-owned-{}:", sessionkeeper::domain::ids::generate_id(12));
    let settings = || {
        Settings::new()
            .set("SESSION_STORAGE", "both")
            .set("REDIS_URL", REDIS_URL)
            .set("SECONDARY_STORAGE_PREFIX", &prefix)
    };
    let a = spawn_on_clock(test_db.share(), settings(), true)
        .await
        .expect("first instance starts");
    let b = spawn_on_clock(test_db, settings(), true)
        .await
        .expect("second instance starts");

    // Sessions issued by `a`: two for one user, one for another.
    let first = a.user_cookie("owned@example.com").await;
    let second = a
        .sign_in("owned@example.com")
        .await
        .session_cookie()
        .unwrap();
    let other = a.user_cookie("other@example.com").await;

    // In Redis in Better Auth's layout, keyed by the token's hash: no raw token is a key.
    let keys = scan(&mut conn, &format!("{prefix}*")).await;
    let lists = keys
        .iter()
        .filter(|k| k.contains("active-sessions-"))
        .count();
    assert_eq!((keys.len(), lists), (5, 2), "{keys:?}");
    for c in [&first, &second, &other] {
        let raw = raw_token(c);
        assert!(raw.len() >= 16, "{c}");
        assert!(
            keys.iter().all(|k| !k.contains(&raw)),
            "a raw token in Redis"
        );
    }

    // `b` knows them, and reads Redis first: a cached value edited in Redis is what it serves.
    let res = b.get("/api/auth/get-session", Some(&first)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["user"]["email"], "owned@example.com");
    let session_keys: Vec<&String> = keys
        .iter()
        .filter(|k| !k.contains("active-sessions-"))
        .collect();
    for k in &session_keys {
        let v: String = redis::cmd("GET")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
        let edited = v.replace("\"name\":\"Test User\"", "\"name\":\"From Redis\"");
        let _: () = redis::cmd("SET")
            .arg(k)
            .arg(edited)
            .arg("KEEPTTL")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let res = b.get("/api/auth/get-session", Some(&first)).await;
    assert_eq!(res.body["user"]["name"], "From Redis", "{:?}", res.body);

    // A change to the user on `b` drops the cached copies: `a` sees the database's name.
    let res = b
        .post(
            "/api/auth/update-user",
            Some(&first),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = a.get("/api/auth/get-session", Some(&second)).await;
    assert_eq!(res.body["user"]["name"], "Renamed", "{:?}", res.body);

    // Sign-out on `a`: refused by `b` on the very next request; the other session lives.
    let res = a.post("/api/auth/sign-out", Some(&second), json!({})).await;
    assert_eq!(res.status, 200);
    let res = b.get("/api/auth/get-session", Some(&second)).await;
    assert_eq!(res.body, serde_json::Value::Null);
    let res = b.get("/api/auth/get-session", Some(&first)).await;
    assert_eq!(res.body["user"]["email"], "owned@example.com");

    // Revoke-sessions on `b`: refused by `a` next; the other user is untouched.
    let res = b
        .post("/api/auth/revoke-sessions", Some(&first), json!({}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = a.get("/api/auth/get-session", Some(&first)).await;
    assert_eq!(res.body, serde_json::Value::Null);
    let res = a.get("/api/auth/get-session", Some(&other)).await;
    assert_eq!(res.body["user"]["email"], "other@example.com");

    // A session whose copy is gone (issued before Redis was configured) is read from the
    // database and cached again.
    let other_keys: Vec<String> = scan(&mut conn, &format!("{prefix}*"))
        .await
        .into_iter()
        .filter(|k| !k.contains("active-sessions-"))
        .collect();
    assert_eq!(other_keys.len(), 1, "{other_keys:?}");
    let _: () = redis::cmd("DEL")
        .arg(&other_keys)
        .query_async(&mut conn)
        .await
        .unwrap();
    let res = b.get("/api/auth/get-session", Some(&other)).await;
    assert_eq!(res.body["user"]["email"], "other@example.com");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&other_keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 3600, "cached again with the session's TTL: {ttl}");

    // What is left in Redis: the other user's session and list.
    let left = scan(&mut conn, &format!("{prefix}*")).await;
    assert_eq!(left.len(), 2, "{left:?}");

    drop_prefix(&mut conn, &prefix).await;
}

/// The cache's Redis stops: get-session, sign-in and sign-out go on from the database,
/// `/readyz` says so; once Redis is back, get-session fills the cache again.
async fn a_redis_fault_falls_back_to_the_database(db: Db) {
    let port = 6392;
    let Some(own) = OwnRedis::start(port) else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let url = format!("redis://127.0.0.1:{}", own.port);
    let settings = Settings::new()
        .set("SESSION_STORAGE", "both")
        .set("REDIS_URL", &url)
        .set("SECONDARY_STORAGE_PREFIX", "sk-owned-fault:");
    let app = spawn_on_clock(test_db, settings, true)
        .await
        .expect("starts with Redis up");
    let kept = app.user_cookie("kept@example.com").await;
    let gone = app.user_cookie("gone@example.com").await;

    drop(own);
    let res = app.get("/api/auth/get-session", Some(&kept)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["email"], "kept@example.com");
    let again = app.sign_in("kept@example.com").await;
    assert!(again.session_cookie().is_some());
    let res = app.post("/api/auth/sign-out", Some(&gone), json!({})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app.get("/api/auth/get-session", Some(&gone)).await;
    assert_eq!(res.body, serde_json::Value::Null);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body["redis"], "unreachable");

    let Some(_back) = OwnRedis::start(port) else {
        panic!("redis-server does not start again on {port}");
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut served = false;
    for _ in 0..50 {
        let res = app.get("/api/auth/get-session", Some(&kept)).await;
        assert_eq!(res.body["user"]["email"], "kept@example.com");
        if !scan(&mut conn, "sk-owned-fault:*").await.is_empty() {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(served, "the cache is filled again once Redis is back");
    assert_eq!(app.get("/readyz", None).await.status, 200);
}

/// A cached copy whose row is gone (a removal whose Redis step failed) is refused at the
/// session's next refresh, and the copy removed.
async fn a_stale_copy_ends_at_refresh(db: Db) {
    let Some(mut conn) = redis().await else {
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let prefix = format!("sk-owned-{}:", sessionkeeper::domain::ids::generate_id(12));
    let settings = Settings::new()
        .set("SESSION_STORAGE", "both")
        .set("REDIS_URL", REDIS_URL)
        .set("SECONDARY_STORAGE_PREFIX", &prefix)
        .set("SESSION_UPDATE_AGE", "0");
    let app = spawn_on_clock(test_db, settings, true).await.unwrap();
    let cookie = app.user_cookie("stale@example.com").await;
    let res = app.get("/api/auth/get-session", Some(&cookie)).await;
    let id = res.body["session"]["id"].as_str().unwrap().to_owned();
    assert!(app.store().delete_session(&id, None).await.unwrap());
    assert_eq!(scan(&mut conn, &format!("{prefix}*")).await.len(), 2);

    let res = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, serde_json::Value::Null);
    assert!(scan(&mut conn, &format!("{prefix}*")).await.is_empty());
    drop_prefix(&mut conn, &prefix).await;
}

both_stores_fn!(stale_copy, a_stale_copy_ends_at_refresh);

mod redis_fault {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        a_redis_fault_falls_back_to_the_database(Db::Sqlite).await
    }
}

both_stores_fn!(two_instances, two_instances_share_the_cache);
