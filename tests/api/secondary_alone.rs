//! Shared mode next to the real Better Auth 1.7.25 keeping its sessions in Redis only
//! (`secondaryStorage` through `@better-auth/redis-storage`, no `storeSessionInDatabase`, so
//! no session table): `SESSION_STORAGE=secondary`. The Node app signs users in, the test ages
//! their sessions in Redis, our cleanup removes them, and the Node app must then refuse every
//! removed session and accept every survivor. Each test uses a key prefix of its own and
//! deletes its keys afterwards.

use crate::compat::compat_dir;
use crate::helpers::*;
use crate::secondary_node::{REDIS_URL, drop_prefix, redis, scan};
use crate::shared_node::{Node, ba_env, start_node};
use redis::AsyncCommands;
use serde_json::Value;
use sessionkeeper::domain::Scope;
use sessionkeeper::domain::run::{Outcome, Trigger};
use std::collections::BTreeMap;

const SERVICE_TOKEN: &str = "service-token-0123456789abcdef";

/// Rewrites a stored session's dates in place (as time passing would have left them):
/// `updatedAt` and `expiresAt` shifted back by the given seconds; `persist` drops the key's
/// TTL, as Better Auth does when it floors a TTL to 0 (#10992).
async fn age(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    updated_back: i64,
    expires_back: i64,
    persist: bool,
) {
    let raw: String = conn.get(key).await.unwrap();
    let mut v: Value = serde_json::from_str(&raw).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let iso = |t: time::OffsetDateTime| {
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap();
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    if updated_back > 0 {
        v["session"]["updatedAt"] = iso(now - time::Duration::seconds(updated_back)).into();
    }
    if expires_back > 0 {
        v["session"]["expiresAt"] = iso(now - time::Duration::seconds(expires_back)).into();
    }
    let json = serde_json::to_string(&v).unwrap();
    if persist {
        let () = conn.set(key, json).await.unwrap();
    } else {
        let () = redis::cmd("SET")
            .arg(key)
            .arg(json)
            .arg("KEEPTTL")
            .query_async(conn)
            .await
            .unwrap();
    }
}

async fn cleanup_reads_redis_only_sessions(db: Db) {
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
        ("BA_SECONDARY".to_string(), "secondary".to_string()),
        ("REDIS_URL".into(), REDIS_URL.into()),
        ("REDIS_PREFIX".into(), prefix.clone()),
    ]);
    let server = start_node(&dir, &env, &[]);
    let node = Node::new(&server);

    // Signed in through the Node app: `excess` three times, the others once each.
    let mut sessions: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for who in ["expired", "floored", "inactive", "excess", "survivor"] {
        let res = node.sign_up(&format!("{who}@example.com")).await;
        let token = res.body["token"].as_str().unwrap().to_owned();
        sessions.insert(who, vec![(res.session_cookie().unwrap(), token)]);
    }
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let res = node.sign_in("excess@example.com").await;
        let token = res.body["token"].as_str().unwrap().to_owned();
        sessions
            .get_mut("excess")
            .unwrap()
            .push((res.session_cookie().unwrap(), token));
    }
    let keys = scan(&mut conn, &format!("{prefix}active-sessions-*")).await;
    assert_eq!(keys.len(), 5, "the Node app keeps its sessions in Redis");

    // Time passes: one session expired (its key still holds it, with a TTL), one expired with
    // no TTL at all (#10992), one idle for 40 days, and excess's first is the least recent.
    let key = |who: &str, i: usize| format!("{prefix}{}", sessions[who][i].1);
    age(&mut conn, &key("expired", 0), 8 * 86_400, 3_600, false).await;
    age(&mut conn, &key("floored", 0), 8 * 86_400, 3_600, true).await;
    age(&mut conn, &key("inactive", 0), 40 * 86_400, 0, false).await;
    age(&mut conn, &key("excess", 0), 3_600, 0, false).await;
    let ttl: i64 = conn.ttl(key("floored", 0)).await.unwrap();
    assert_eq!(ttl, -1, "the floored session has no TTL");

    let settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("SESSION_STORAGE", "secondary")
        .set("REDIS_URL", REDIS_URL)
        .set("SECONDARY_STORAGE_PREFIX", &prefix)
        .set("ADMIN_API_TOKEN", SERVICE_TOKEN)
        .set("MAX_SESSIONS_PER_USER", "2")
        .set("ENFORCE_SESSION_LIMITS", "true");
    let app = spawn_on_clock(test_db, settings, true)
        .await
        .expect("sessionkeeper starts next to a Redis-only Node app");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.body["redis"], "ok", "{:?}", ready.body);

    // A dry run counts and samples from Redis and removes nothing.
    let policy = app.keeper.core().config().cleanup.policy;
    let dry = app
        .cleanup
        .run_once(Trigger::Manual, policy, true, Scope::All)
        .await
        .unwrap();
    assert_eq!(dry.outcome, Outcome::Ok, "{:?}", dry.error);
    let c = dry.counts;
    assert_eq!((c.expired, c.inactive, c.excess), (2, 1, 1), "{c:?}");
    let sample = dry.sample.clone().unwrap_or_default();
    assert_eq!(sample.len(), 4, "{sample:?}");
    let ttl: i64 = conn.ttl(key("floored", 0)).await.unwrap();
    assert_eq!(ttl, -1, "a dry run leaves Redis alone");

    let run = app
        .cleanup
        .run_once(Trigger::Manual, policy, false, Scope::All)
        .await
        .unwrap();
    assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
    assert_eq!(run.counts, dry.counts);
    for (who, i) in [
        ("expired", 0),
        ("floored", 0),
        ("inactive", 0),
        ("excess", 0),
    ] {
        let left: Option<String> = conn.get(key(who, i)).await.unwrap();
        assert_eq!(left, None, "{who}'s session left Redis");
    }

    // Each removal left a termination record, as a database delete does.
    let ended = app
        .keeper
        .core()
        .store()
        .list_ended(&sessionkeeper::store::ended::EndedQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut reasons: Vec<&str> = ended.iter().map(|e| e.reason.as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        ["evicted-limit", "expired", "expired", "inactive"],
        "{ended:?}"
    );
    assert!(
        ended
            .iter()
            .all(|e| e.actor == format!("cleanup:{}", run.run_id))
    );

    // The Node app refuses every removed session and accepts every survivor.
    for who in ["expired", "floored", "inactive"] {
        assert_eq!(node.whoami(&sessions[who][0].0).await, None, "{who}");
    }
    let mut excess = Vec::new();
    for (cookie, _) in &sessions["excess"] {
        excess.push(node.whoami(cookie).await);
    }
    let e = Some("excess@example.com".to_string());
    assert_eq!(excess, vec![None, e.clone(), e], "the least recent went");
    assert_eq!(
        node.whoami(&sessions["survivor"][0].0).await.as_deref(),
        Some("survivor@example.com")
    );
    // Better Auth's listSessions reads the list our removal rewrote.
    let listed = node
        .get("/api/auth/list-sessions", Some(&sessions["excess"][1].0))
        .await;
    let mut tokens: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["token"].as_str())
        .collect();
    tokens.sort_unstable();
    let mut survivors = vec![
        sessions["excess"][1].1.as_str(),
        sessions["excess"][2].1.as_str(),
    ];
    survivors.sort_unstable();
    assert_eq!(tokens, survivors);

    // A second run finds nothing left to do.
    let again = app
        .cleanup
        .run_once(Trigger::Manual, policy, false, Scope::All)
        .await
        .unwrap();
    assert_eq!(again.total, 0, "{:?}", again.counts);

    drop(server);
    drop(app);
    drop_prefix(&mut conn, &prefix).await;
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Res {
    app.send(
        app.http
            .request(method, format!("{}{path}", app.url))
            .bearer_auth(SERVICE_TOKEN)
            .json(&body),
    )
    .await
}

/// Sorted `token`s of a list-sessions answer.
fn tokens(res: &Res) -> Vec<String> {
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

async fn auth_and_admin_paths_reach_redis(db: Db) {
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
        ("BA_SECONDARY".to_string(), "secondary".to_string()),
        ("REDIS_URL".into(), REDIS_URL.into()),
        ("REDIS_PREFIX".into(), prefix.clone()),
    ]);
    let server = start_node(&dir, &env, &[]);
    let node = Node::new(&server);
    let mut cookies = BTreeMap::new();
    for who in ["revoked", "banned", "bulk", "survivor"] {
        let res = node.sign_up(&format!("{who}@example.com")).await;
        cookies.insert(who, res.session_cookie().unwrap());
    }
    let settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("SESSION_STORAGE", "secondary")
        .set("REDIS_URL", REDIS_URL)
        .set("SECONDARY_STORAGE_PREFIX", &prefix)
        .set("ADMIN_API_TOKEN", SERVICE_TOKEN);
    // The library's read-only validator on the same app reads its sessions from Redis too.
    let validator = sessionkeeper::Validator::open(
        test_config(&test_db.url, &settings),
        sessionkeeper::ValidatorOptions::default(),
    )
    .await
    .expect("the validator opens next to a Redis-only Node app");
    let validate = |cookie: String| {
        let validator = validator.clone();
        async move {
            let mut headers = http::HeaderMap::new();
            headers.insert("cookie", cookie.parse().unwrap());
            validator
                .validate(&headers)
                .await
                .unwrap()
                .map(|d| d.user.email)
        }
    };
    assert_eq!(
        validate(cookies["revoked"].clone()).await.as_deref(),
        Some("revoked@example.com")
    );
    let app = spawn_on_clock(test_db, settings, true)
        .await
        .expect("sessionkeeper starts next to a Redis-only Node app");

    // Our get-session reads the Node app's sessions from Redis.
    let mine = app
        .get("/api/auth/get-session", Some(&cookies["survivor"]))
        .await;
    assert_eq!(
        mine.body["user"]["email"], "survivor@example.com",
        "{:?}",
        mine.body
    );

    // A sign-in through us is written in Better Auth's layout: the Node app accepts it, and
    // both list the same sessions.
    let res = app
        .post(
            "/api/auth/sign-in/email",
            None,
            serde_json::json!({"email": "survivor@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let ours = res.session_cookie().unwrap();
    assert_eq!(
        node.whoami(&ours).await.as_deref(),
        Some("survivor@example.com")
    );
    let theirs = tokens(&node.get("/api/auth/list-sessions", Some(&ours)).await);
    assert_eq!(theirs.len(), 2);
    assert_eq!(
        tokens(
            &app.get("/api/auth/list-sessions", Some(&cookies["survivor"]))
                .await
        ),
        theirs
    );

    // The statistics count what the Node app and we created.
    let stats = admin(
        &app,
        reqwest::Method::GET,
        "/api/admin/sessions/stats",
        Value::Null,
    )
    .await;
    assert_eq!(stats.status, 200, "{:?}", stats.body);
    let b = &stats.body;
    assert_eq!(b["totalSessions"], 5, "{b:?}");
    assert_eq!(b["totalActiveSessions"], 5, "{b:?}");
    assert_eq!(b["expiredSessions"], 0, "{b:?}");
    assert_eq!(b["usersWithSessions"], 4, "{b:?}");
    assert_eq!(b["createdLast24h"], 5, "{b:?}");
    assert_eq!(b["topUsers"][0]["email"], "survivor@example.com", "{b:?}");
    assert_eq!(b["topUsers"][0]["count"], 2, "{b:?}");

    // The admin session list walks Redis: every session the Node app and we created, each
    // once, paged to the end; the filters apply.
    let mut created: Vec<(String, String)> = Vec::new();
    for who in ["revoked", "banned", "bulk", "survivor"] {
        let listed = node
            .get("/api/auth/list-sessions", Some(&cookies[who]))
            .await;
        for s in listed.body.as_array().unwrap() {
            let id = s["id"].as_str().unwrap().to_owned();
            created.push((id, format!("{who}@example.com")));
        }
    }
    created.sort();
    assert_eq!(created.len(), 5);
    let list = |query: String| {
        let app = &app;
        async move {
            let res = admin(
                app,
                reqwest::Method::GET,
                &format!("/api/admin/sessions?{query}"),
                Value::Null,
            )
            .await;
            assert_eq!(res.status, 200, "{query}: {:?}", res.body);
            res.body
        }
    };
    let all_pages = |query: &'static str| {
        let list = &list;
        async move {
            let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
            loop {
                let q = match &cursor {
                    Some(c) => format!("{query}&cursor={c}"),
                    None => query.to_owned(),
                };
                let body = list(q).await;
                for s in body["sessions"].as_array().unwrap() {
                    assert_eq!(s["status"], "active", "{s:?}");
                    seen.push((
                        s["id"].as_str().unwrap().to_owned(),
                        s["user"]["email"].as_str().unwrap().to_owned(),
                    ));
                }
                pages += 1;
                assert!(pages < 1000, "the walk ends");
                match body["nextCursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            seen.sort();
            (seen, pages)
        }
    };
    let (seen, pages) = all_pages("limit=2").await;
    assert_eq!(seen, created, "each session once");
    assert!(pages >= 3, "{pages} pages of 2");
    let (seen, _) = all_pages("limit=50&status=active").await;
    assert_eq!(seen, created);
    let (seen, _) = all_pages("limit=50&status=inactive").await;
    assert_eq!(seen, []);
    let (seen, _) = all_pages("limit=50&createdFrom=2099-01-01T00:00:00Z").await;
    assert_eq!(seen, []);
    let (seen, _) =
        all_pages("limit=50&lastUsedTo=2099-01-01T00:00:00Z&userAgent=no-such-agent").await;
    assert_eq!(seen, []);
    let survivor_id = mine.body["user"]["id"].as_str().unwrap();
    let first = list(format!("userId={survivor_id}&limit=1")).await;
    let second = list(format!(
        "userId={survivor_id}&limit=1&cursor={}",
        first["nextCursor"].as_str().expect("a second page")
    ))
    .await;
    assert_eq!(second["nextCursor"], Value::Null, "{second:?}");
    let (a, b) = (&first["sessions"][0], &second["sessions"][0]);
    assert_eq!(a["userId"], survivor_id);
    assert_eq!(b["userId"], survivor_id);
    assert!(
        a["createdAt"].as_str() >= b["createdAt"].as_str() && a["id"] != b["id"],
        "one user's sessions newest first: {a:?} {b:?}"
    );
    let tenant = admin(
        &app,
        reqwest::Method::GET,
        "/api/admin/sessions?tenantId=t1",
        Value::Null,
    )
    .await;
    assert_eq!(tenant.status, 400, "{:?}", tenant.body);
    assert_eq!(tenant.body["code"], "NOT_AVAILABLE_WITH_SECONDARY_STORAGE");
    let foreign = admin(
        &app,
        reqwest::Method::GET,
        "/api/admin/sessions?cursor=bm90LW91cnM",
        Value::Null,
    )
    .await;
    assert_eq!(foreign.status, 400, "{:?}", foreign.body);
    assert_eq!(foreign.body["code"], "INVALID_CURSOR");

    // An admin revoke by id, a ban and a bulk delete by user.
    let id = |who: &'static str| {
        let app = &app;
        let cookie = cookies[who].clone();
        async move {
            app.get("/api/auth/get-session", Some(&cookie))
                .await
                .body
                .clone()
        }
    };
    let revoked = id("revoked").await;
    let res = admin(
        &app,
        reqwest::Method::DELETE,
        &format!(
            "/api/admin/sessions/{}",
            revoked["session"]["id"].as_str().unwrap()
        ),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let banned = id("banned").await;
    let res = admin(
        &app,
        reqwest::Method::POST,
        "/api/auth/admin/ban-user",
        serde_json::json!({"userId": banned["user"]["id"]}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["user"]["banned"], true, "{:?}", res.body);
    let bulk = id("bulk").await;
    let res = admin(
        &app,
        reqwest::Method::DELETE,
        "/api/admin/sessions",
        serde_json::json!({"userId": bulk["user"]["id"], "dryRun": true}),
    )
    .await;
    assert_eq!(res.body["count"], 1, "{:?}", res.body);
    let res = admin(
        &app,
        reqwest::Method::DELETE,
        "/api/admin/sessions",
        serde_json::json!({"userId": bulk["user"]["id"]}),
    )
    .await;
    assert_eq!(res.body["count"], 1, "{:?}", res.body);

    // The Node app refuses every removed session and accepts every survivor; so do we.
    for who in ["revoked", "banned", "bulk"] {
        assert_eq!(node.whoami(&cookies[who]).await, None, "{who}");
        let ours = app.get("/api/auth/get-session", Some(&cookies[who])).await;
        assert_eq!(ours.body, Value::Null, "{who}");
        assert_eq!(validate(cookies[who].clone()).await, None, "{who}");
    }
    assert_eq!(
        validate(cookies["survivor"].clone()).await.as_deref(),
        Some("survivor@example.com")
    );
    assert!(node.whoami(&cookies["survivor"]).await.is_some());
    assert!(node.whoami(&ours).await.is_some());

    // A sign-out through us reaches the Node app.
    let res = app
        .post("/api/auth/sign-out", Some(&ours), serde_json::json!({}))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(node.whoami(&ours).await, None);
    assert_eq!(
        tokens(
            &node
                .get("/api/auth/list-sessions", Some(&cookies["survivor"]))
                .await
        ),
        tokens(
            &app.get("/api/auth/list-sessions", Some(&cookies["survivor"]))
                .await
        )
    );

    // The list no longer holds the removed sessions.
    let (seen, _) = all_pages("limit=50").await;
    let left: Vec<&str> = seen.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(left, ["survivor@example.com"]);

    // Each removal left its termination record.
    let ended = app
        .keeper
        .core()
        .store()
        .list_ended(&sessionkeeper::store::ended::EndedQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut reasons: Vec<&str> = ended.iter().map(|e| e.reason.as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        [
            "banned",
            "revoked-by-admin",
            "revoked-by-admin",
            "signed-out"
        ],
        "{ended:?}"
    );

    // The user's own delete-user removes their Redis sessions as Better Auth's deleteUser
    // does (every listed key and the list), then the user.
    let first = node.sign_up("deleted@example.com").await;
    let second = node.sign_in("deleted@example.com").await;
    let doomed: Vec<(String, String)> = [&first, &second]
        .iter()
        .map(|r| {
            (
                r.session_cookie().unwrap(),
                r.body["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let user_id = first.body["user"]["id"].as_str().unwrap().to_owned();
    let list_key = format!("{prefix}active-sessions-{user_id}");
    let listed: Option<String> = conn.get(&list_key).await.unwrap();
    assert!(listed.is_some(), "the Node app listed the sessions");
    let res = app
        .post(
            "/api/auth/delete-user",
            Some(&doomed[0].0),
            serde_json::json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["success"], true, "{:?}", res.body);
    for (cookie, token) in &doomed {
        assert_eq!(node.whoami(cookie).await, None);
        let left: Option<String> = conn.get(format!("{prefix}{token}")).await.unwrap();
        assert_eq!(left, None, "the session key is gone");
    }
    let listed: Option<String> = conn.get(&list_key).await.unwrap();
    assert_eq!(listed, None, "the list is gone");
    let again = app
        .post(
            "/api/auth/sign-in/email",
            None,
            serde_json::json!({"email": "deleted@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.status, 401, "the user is gone: {:?}", again.body);
    let ended = app
        .keeper
        .core()
        .store()
        .list_ended(&sessionkeeper::store::ended::EndedQuery {
            limit: 100,
            user_id: Some(user_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let reasons: Vec<&str> = ended.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["revoked", "revoked"], "{ended:?}");

    drop(server);
    drop(app);
    drop_prefix(&mut conn, &prefix).await;
}

mod auth_and_admin {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::auth_and_admin_paths_reach_redis(crate::helpers::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::auth_and_admin_paths_reach_redis(crate::helpers::Db::Postgres).await
    }
}

mod cleanup {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::cleanup_reads_redis_only_sessions(crate::helpers::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::cleanup_reads_redis_only_sessions(crate::helpers::Db::Postgres).await
    }
}

/// Redis stops mid-run with the sessions in Redis only: the server stays up, `/readyz` says
/// so, the run is recorded as failed, and the next run succeeds once Redis is back.
mod redis_fault {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        crate::secondary_node::redis_fault_fails_the_run(
            crate::helpers::Db::Sqlite,
            "secondary",
            6393,
        )
        .await
    }
}
