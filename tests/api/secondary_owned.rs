//! Owned mode with Redis as the session cache (`REDIS_URL`, `SESSION_STORAGE=both`): two
//! instances on one database and one Redis (the machine's, 127.0.0.1:6379, under a key prefix
//! of the test's own, deleted afterwards). Get-session reads Redis first; a removal on one
//! instance is refused by the other on the very next request.

use crate::helpers::*;
use crate::secondary_node::{REDIS_URL, drop_prefix, redis, scan};
use serde_json::json;

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

mod two_instances {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        two_instances_share_the_cache(Db::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        two_instances_share_the_cache(Db::Postgres).await
    }
}
