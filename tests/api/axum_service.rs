//! The library next to the real Better Auth app (compat/node/ba-server.mjs, better-auth 1.7.25):
//! `examples/axum_service.rs`'s router, on a [`Validator`] opened read-only on the Node app's
//! database, trusts the app's cookies and bearer tokens and refuses everything else; with the
//! app's cookie cache on, a valid `session_data` cookie answers without a database read.

#[allow(dead_code)]
#[path = "../../examples/axum_service.rs"]
mod example;

use crate::compat::compat_dir;
use crate::helpers::*;
use crate::shared_node::{Node, ba_env, snake_mapping, start_node};
use serde_json::json;
use sessionkeeper::domain::cookie::CookieSigner;
use sessionkeeper::store::Store;
use sessionkeeper::{Validator, ValidatorOptions};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The example's router on a validator for `db`, on 127.0.0.1:0.
struct Service {
    url: String,
    http: reqwest::Client,
    validator: Validator,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Service {
    async fn start(db: &TestDb, settings: &Settings) -> Service {
        let config = test_config(&db.url, settings);
        let validator = Validator::open(config, ValidatorOptions::default())
            .await
            .expect("the validator opens the Node app's database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = example::app(validator.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Service {
            url,
            http: reqwest::Client::new(),
            validator,
            _stop: tx,
        }
    }

    async fn get(&self, path: &str, header: Option<(&str, &str)>) -> Res {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let res = req.send().await.expect("axum_service answers");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        Res {
            status,
            headers,
            body,
        }
    }

    async fn me(&self, cookie: &str) -> Res {
        self.get("/me", Some(("cookie", cookie))).await
    }
}

fn shared() -> Settings {
    Settings::new().set("SESSIONKEEPER_MODE", "shared")
}

/// A store on the Node app's database for the test's own edits (writes nothing at open).
async fn edit_store(db: &TestDb) -> Arc<dyn Store> {
    sessionkeeper::app::open_store_with(&test_config(&db.url, &shared()), false)
        .await
        .expect("store opens")
}

fn assert_unauthorized(res: &Res, what: &str) {
    assert_eq!(res.status, 401, "{what}: {:?}", res.body);
    assert_eq!(res.body["code"], "UNAUTHORIZED", "{what}");
    assert!(res.body["message"].is_string(), "{what}");
}

/// `name=value` of the cookie `name` that a response set.
fn set_cookie(res: &Res, name: &str) -> Option<String> {
    res.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// Flips one character in the middle of a cookie's value.
fn tamper(cookie: &str) -> String {
    let (name, value) = cookie.split_once('=').unwrap();
    let mut bytes = value.as_bytes().to_vec();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    format!("{name}={}", String::from_utf8(bytes).unwrap())
}

async fn trusts_better_auth_sessions(db: Db) {
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let server = start_node(&dir, &ba_env(&test_db, false), &[]);
    let node = Node::new(&server);
    let alice = node.sign_up("alice@example.com").await;
    let bob = node.sign_up("bob@example.com").await;
    let store = edit_store(&test_db).await;
    let bob_id = bob.body["user"]["id"].as_str().unwrap();
    store
        .set_user_role(bob_id, "user,admin", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let service = Service::start(&test_db, &shared()).await;

    // Better Auth's cookie, its set-auth-token and its raw token as bearers: the right user.
    let cookie = alice.session_cookie().unwrap();
    let me = service.me(&cookie).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(
        me.body,
        json!({"id": alice.body["user"]["id"], "email": "alice@example.com", "role": "user"})
    );
    let signed = alice
        .auth_token()
        .expect("the bearer plugin's set-auth-token");
    let raw = alice.body["token"].as_str().unwrap();
    for bearer in [signed.as_str(), raw] {
        let res = service
            .get("/me", Some(("authorization", &format!("Bearer {bearer}"))))
            .await;
        assert_eq!(res.body["email"], "alice@example.com", "bearer {res:?}");
    }

    // No session, a tampered cookie, a cookie signed with another secret: 401.
    assert_unauthorized(&service.get("/me", None).await, "no session");
    assert_unauthorized(&service.me(&tamper(&cookie)).await, "tampered");
    let foreign = format!(
        "better-auth.session_token={}",
        CookieSigner::new("another-secret-0123456789abcdef01234567").sign_for_cookie(raw)
    );
    assert_unauthorized(&service.me(&foreign).await, "foreign secret");
    let bob_signed = bob.auth_token().unwrap();
    let forged_bearer = format!("Bearer {raw}.{}", &bob_signed[bob_signed.len() - 44..]);
    assert_unauthorized(
        &service
            .get("/me", Some(("authorization", &forged_bearer)))
            .await,
        "bearer with another token's signature",
    );

    // Roles: a non-admin gets 403 on /admin; an admin 200; no session 401.
    let forbidden = service.get("/admin", Some(("cookie", &cookie))).await;
    assert_eq!(forbidden.status, 403, "{:?}", forbidden.body);
    assert_eq!(forbidden.body["code"], "FORBIDDEN");
    let bob_cookie = bob.session_cookie().unwrap();
    let admin = service.get("/admin", Some(("cookie", &bob_cookie))).await;
    assert_eq!(admin.status, 200, "{:?}", admin.body);
    assert_eq!(admin.body["role"], "user,admin");
    assert_unauthorized(&service.get("/admin", None).await, "admin, no session");

    // Revoked by the Node app (sign-out deletes the row): 401 at once.
    let second = node.sign_in("alice@example.com").await;
    let second_cookie = second.session_cookie().unwrap();
    assert_eq!(service.me(&second_cookie).await.status, 200);
    let out = node
        .post("/api/auth/sign-out", Some(&second_cookie), json!({}))
        .await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    assert_unauthorized(&service.me(&second_cookie).await, "revoked by Node");

    // Expired: 401, and the row stays (the validator is read-only by default).
    let third = node.sign_in("alice@example.com").await;
    let token = third.body["token"].as_str().unwrap();
    let row = store.find_session(token).await.unwrap().unwrap().session;
    let past = OffsetDateTime::now_utc() - Duration::minutes(1);
    assert!(store.touch_session(&row.id, past, past).await.unwrap());
    assert_unauthorized(
        &service.me(&third.session_cookie().unwrap()).await,
        "expired",
    );
    assert!(
        store.find_session_by_id(&row.id).await.unwrap().is_some(),
        "a read-only check deletes nothing"
    );
    // And the first session still works after all that.
    assert_eq!(service.me(&cookie).await.status, 200);

    layer_guards_routes(&test_db, &cookie, &bob_cookie).await;
    sliding_and_deletes_only_when_asked(&test_db, &node, &store).await;
}

/// `RequireSessionLayer`: 401 and 403 before the handler; the extractor behind it reuses the
/// layer's answer (one lookup per request).
async fn layer_guards_routes(db: &TestDb, user: &str, admin: &str) {
    use axum::Router;
    use axum::routing::get;
    use sessionkeeper::guard::{RequireSessionLayer, Session};
    let service = Service::start(db, &shared()).await;
    let v = service.validator.clone();
    let who = |Session(s): Session| async move { s.user.email };
    let app = Router::new()
        .route("/members", get(who))
        .layer(RequireSessionLayer::new(v.clone()))
        .merge(
            Router::new()
                .route("/staff", get(who))
                .layer(RequireSessionLayer::new(v.clone()).role("admin")),
        )
        .with_state(v.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let get = |path: &str, cookie: Option<&str>| {
        let mut req = http.get(format!("{url}{path}"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, body) = get("/members", None).await;
    assert_eq!(status, 401);
    assert!(body.contains("\"code\":\"UNAUTHORIZED\""), "{body}");
    assert_eq!(
        get("/members", Some(user)).await,
        (200, "alice@example.com".into())
    );
    assert_eq!(
        v.database_lookups(),
        1,
        "the extractor reused the layer's check"
    );
    let (status, body) = get("/staff", Some(user)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        get("/staff", Some(admin)).await,
        (200, "bob@example.com".into())
    );
}

/// Sliding and the expired-row delete happen only when the options ask for them.
async fn sliding_and_deletes_only_when_asked(db: &TestDb, node: &Node, store: &Arc<dyn Store>) {
    let config = test_config(&db.url, &shared());
    let options = ValidatorOptions {
        sliding: true,
        delete_expired: true,
    };
    let writer = Validator::open(config, options).await.unwrap();
    let reader = Validator::open(test_config(&db.url, &shared()), ValidatorOptions::default())
        .await
        .unwrap();
    let session = node.sign_in("alice@example.com").await;
    let cookie = session.session_cookie().unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    let token = session.body["token"].as_str().unwrap();
    let id = store.find_session(token).await.unwrap().unwrap().session.id;
    // Due for a slide (a day of a week's lifetime left, updateAge one day).
    let now = OffsetDateTime::now_utc();
    assert!(
        store
            .touch_session(&id, now + Duration::days(1), now)
            .await
            .unwrap()
    );
    let read = reader.check(&headers).await.unwrap().expect("valid");
    assert!(read.set_cookie.is_none(), "no sliding unless asked");
    let row = store.find_session_by_id(&id).await.unwrap().unwrap();
    assert!(
        row.expires_at < now + Duration::days(2),
        "the row did not slide"
    );
    let slid = writer.check(&headers).await.unwrap().expect("valid");
    let set = slid.set_cookie.expect("the slid session's cookie");
    assert!(
        set.starts_with("better-auth.session_token=") && set.contains("Max-Age=604800"),
        "{set}"
    );
    let row = store.find_session_by_id(&id).await.unwrap().unwrap();
    assert!(row.expires_at > now + Duration::days(6), "the row slid");
    // Expired: only the writer deletes the row.
    let past = now - Duration::minutes(1);
    assert!(store.touch_session(&id, past, past).await.unwrap());
    assert!(reader.validate(&headers).await.unwrap().is_none());
    assert!(store.find_session_by_id(&id).await.unwrap().is_some());
    assert!(writer.validate(&headers).await.unwrap().is_none());
    assert!(
        store.find_session_by_id(&id).await.unwrap().is_none(),
        "deleted when asked"
    );
}

/// With Better Auth's cookie cache on, a valid `session_data` cookie answers with no database
/// read (counted by the validator, and shown by a revoked session that still passes until
/// the cache lapses: the revocation delay); a tampered one falls back to the database.
async fn cookie_cache_answers_without_a_query(db: Db, strategy: &str) {
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let server = start_node(
        &dir,
        &ba_env(&test_db, false),
        &[("BA_COOKIE_CACHE", strategy)],
    );
    let node = Node::new(&server);
    let alice = node.sign_up("cached@example.com").await;
    let token_cookie = alice.session_cookie().unwrap();
    let data_cookie = set_cookie(&alice, "better-auth.session_data")
        .unwrap_or_else(|| panic!("Node sets session_data ({strategy})"));
    let both = format!("{token_cookie}; {data_cookie}");
    let service = Service::start(&test_db, &shared().set("COOKIE_CACHE", strategy)).await;
    let v = &service.validator;

    let me = service.me(&both).await;
    assert_eq!(me.status, 200, "{strategy}: {:?}", me.body);
    assert_eq!(me.body["email"], "cached@example.com");
    assert_eq!(me.body["role"], "user");
    assert_eq!(
        (v.database_lookups(), v.cookie_cache_hits()),
        (0, 1),
        "{strategy}: answered from the cookie"
    );

    // A tampered cache is not trusted: the database answers (the session is live).
    let tampered = format!("{token_cookie}; {}", tamper(&data_cookie));
    assert_eq!(service.me(&tampered).await.status, 200);
    assert_eq!((v.database_lookups(), v.cookie_cache_hits()), (1, 1));
    // The token cookie alone goes to the database too.
    assert_eq!(service.me(&token_cookie).await.status, 200);
    assert_eq!(v.database_lookups(), 2);
    // A cache presented with another session's token is not used for it.
    let other = node.sign_in("cached@example.com").await;
    let mixed = format!("{}; {data_cookie}", other.session_cookie().unwrap());
    assert_eq!(service.me(&mixed).await.status, 200);
    assert_eq!(
        v.database_lookups(),
        3,
        "{strategy}: cache of another token"
    );

    // Revoked by the Node app: the valid cache still passes until its maxAge (Better Auth's
    // own behaviour, the revocation delay); the tampered one and the bare token do not.
    let out = node
        .post("/api/auth/sign-out", Some(&token_cookie), json!({}))
        .await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    assert_eq!(
        service.me(&both).await.status,
        200,
        "{strategy}: cached until maxAge"
    );
    assert_eq!((v.database_lookups(), v.cookie_cache_hits()), (3, 2));
    assert_unauthorized(&service.me(&tampered).await, "tampered cache, revoked");
    assert_unauthorized(&service.me(&token_cookie).await, "revoked, no cache");
    assert_eq!(v.database_lookups(), 5);

    // Off (the default), the validator never reads session_data.
    let plain = Service::start(&test_db, &shared()).await;
    assert_unauthorized(&plain.me(&both).await, "cache off, revoked");
    assert_eq!(plain.validator.cookie_cache_hits(), 0);
}

/// An app with renamed tables and columns: the validator reads them through the same
/// `[schema]` mapping as the server.
async fn reads_a_renamed_schema(db: Db) {
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let server = start_node(&dir, &ba_env(&test_db, true), &[]);
    let node = Node::new(&server);
    let carol = node.sign_up("carol@example.com").await;
    let service = Service::start(&test_db, &snake_mapping(shared())).await;
    let cookie = carol.session_cookie().unwrap();
    let me = service.me(&cookie).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["email"], "carol@example.com");
    assert_unauthorized(&service.me(&tamper(&cookie)).await, "tampered");
}

mod renamed_schema {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::reads_a_renamed_schema(crate::helpers::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::reads_a_renamed_schema(crate::helpers::Db::Postgres).await
    }
}

mod sessions {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::trusts_better_auth_sessions(crate::helpers::Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::trusts_better_auth_sessions(crate::helpers::Db::Postgres).await
    }
}

mod cookie_cache {
    use crate::helpers::Db;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn compact_sqlite() {
        super::cookie_cache_answers_without_a_query(Db::Sqlite, "compact").await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn compact_postgres() {
        super::cookie_cache_answers_without_a_query(Db::Postgres, "compact").await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jwt_sqlite() {
        super::cookie_cache_answers_without_a_query(Db::Sqlite, "jwt").await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jwt_postgres() {
        super::cookie_cache_answers_without_a_query(Db::Postgres, "jwt").await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jwe_sqlite() {
        super::cookie_cache_answers_without_a_query(Db::Sqlite, "jwe").await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jwe_postgres() {
        super::cookie_cache_answers_without_a_query(Db::Postgres, "jwe").await
    }
}
