//! Per-tenant session policies (issue 13, part 5): the admin routes (access, validation,
//! audit) and enforcement at sign-in and at check time, on both stores with the injected
//! clock. Tenant A's policy never touches tenant B's sessions; unset fields fall back; a set
//! value replaces the global one whether looser or stricter.

use crate::admin::support::{Auth, S, SERVICE_TOKEN, call, call_raw, get, session, signed_in};
use crate::both_stores;
use crate::helpers::*;
use serde_json::{Value, json};
use sessionkeeper::domain::User;
use sessionkeeper::domain::ids::new_id;
use sessionkeeper::domain::password::{self, HashAlgorithm};
use sessionkeeper::service::ClientInfo;
use std::sync::Arc;
use time::Duration;

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

fn service() -> Auth {
    Auth::Bearer(SERVICE_TOKEN.into())
}

fn policy_path(tenant: &str) -> String {
    format!("/api/admin/tenants/{tenant}/policy")
}

async fn put_policy(app: &TestApp, tenant: &str, body: Value) -> Res {
    call(app, "put", &policy_path(tenant), &service(), Some(body)).await
}

/// A user of `tenant` written into the store, with a real password hash when `password`.
async fn member(app: &TestApp, email: &str, tenant: &str, password: bool) -> User {
    let now = app.clock_now();
    let user = User {
        id: new_id(),
        name: email.into(),
        email: email.into(),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
        role: Some("user".into()),
        banned: Some(false),
        ban_reason: None,
        ban_expires: None,
        tenant_id: Some(tenant.into()),
    };
    let hash = if password {
        password::hash(PASSWORD, HashAlgorithm::Scrypt)
    } else {
        "seeded:nohash".into()
    };
    app.store().insert_user(&user, &hash).await.unwrap();
    user
}

/// Signs `user` in through the service's sign-in path (no password hashing).
async fn issue(app: &TestApp, user: &User) -> Result<String, String> {
    app.keeper
        .auth()
        .issue_session(user.clone(), true, ClientInfo::default())
        .await
        .map(|i| i.session.id)
        .map_err(|e| format!("{e:?}"))
}

async fn live_ids(app: &TestApp, user: &User) -> Vec<String> {
    let mut ids: Vec<String> = app
        .store()
        .list_user_sessions(&user.id, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    ids
}

async fn alive(app: &TestApp, cookie: &str) -> bool {
    let s = app.get("/api/auth/get-session", Some(cookie)).await;
    assert_eq!(s.status, 200);
    s.body.is_object()
}

both_stores!(
    routes_read_write_and_refuse_as_documented,
    crate::admin::support::with_token(),
    |app| async move {
        let (admin, admin_cookie) = signed_in(&app, "root@example.com", "admin", None).await;
        let admin = (admin, Auth::Cookie(admin_cookie));
        let (_, ta) = signed_in(&app, "ta@example.com", "tenant-admin", Some("A")).await;
        let ta = Auth::Cookie(ta);

        // No policy yet: every field null, the global policy in force.
        let res = get(&app, &policy_path("A"), &admin.1).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(res.body["maxSessionsPerUser"], Value::Null);
        assert_eq!(res.body["updatedAt"], Value::Null);
        assert_eq!(res.body["effective"]["maxSessionsPerUser"], 10);
        assert_eq!(
            res.body["effective"]["inactivityTimeoutSeconds"],
            30 * 86_400
        );

        // The clock moves before each change, so the audit log's order is the changes' order.
        app.clock.advance(secs(1));
        let body = json!({"maxSessionsPerUser": 2, "inactivityTimeoutSeconds": 600});
        let res = call(&app, "put", &policy_path("A"), &admin.1, Some(body)).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(res.body["tenantId"], "A");
        assert_eq!(res.body["maxSessionsPerUser"], 2);
        assert_eq!(res.body["absoluteTimeoutSeconds"], Value::Null);
        assert_eq!(res.body["updatedBy"], format!("admin:{}", admin.0.id));
        assert_eq!(res.body["effective"]["inactivityTimeoutSeconds"], 600);
        assert!(res.body["updatedAt"].is_string());

        // A tenant admin reads their own tenant's policy, and nothing else.
        let own = get(&app, &policy_path("A"), &ta).await;
        assert_eq!(own.status, 200);
        assert_eq!(own.body["maxSessionsPerUser"], 2);
        for (method, path, body) in [
            ("get", policy_path("B"), None),
            (
                "put",
                policy_path("A"),
                Some(json!({"maxSessionsPerUser": 50})),
            ),
            ("delete", policy_path("A"), None),
            (
                "put",
                policy_path("B"),
                Some(json!({"maxSessionsPerUser": 50})),
            ),
        ] {
            let res = call(&app, method, &path, &ta, body).await;
            assert_eq!(
                (res.status, res.code()),
                (403, "FORBIDDEN"),
                "{method} {path}"
            );
        }
        assert_eq!(
            get(&app, &policy_path("A"), &ta).await.body["maxSessionsPerUser"],
            2
        );
        let anon = get(&app, &policy_path("A"), &Auth::None).await;
        assert_eq!(anon.status, 401);

        // Bad input: named, 4xx with {message, code}, nothing written.
        for (body, needle) in [
            (json!({"maxSessionsPerUser": 0}), "maxSessionsPerUser"),
            (json!({"maxSessionsPerTenant": 0}), "maxSessionsPerTenant"),
            (
                json!({"inactivityTimeoutSeconds": -5}),
                "inactivityTimeoutSeconds",
            ),
            (
                json!({"absoluteTimeoutSeconds": 4_000_000_000u64}),
                "absoluteTimeoutSeconds",
            ),
            (json!({"maxSessionsPerUser": 100_001}), "maxSessionsPerUser"),
            (json!({"maxSessionsPerUser": "3"}), "maxSessionsPerUser"),
            (json!({"maxSessions": 3}), "maxSessions"),
            (json!({}), "at least one"),
        ] {
            let res = put_policy(&app, "A", body.clone()).await;
            assert_eq!(
                (res.status, res.code()),
                (400, "VALIDATION_ERROR"),
                "{body}"
            );
            let message = res.body["message"].as_str().unwrap();
            assert!(message.contains(needle), "{body}: {message}");
        }
        let raw = call_raw(&app, "put", &policy_path("A"), &service(), b"{".to_vec()).await;
        assert_eq!(raw.status, 400);
        let long = "t".repeat(200);
        let res = put_policy(&app, &long, json!({"maxSessionsPerUser": 3})).await;
        assert_eq!((res.status, res.code()), (400, "VALIDATION_ERROR"));
        assert_eq!(
            get(&app, &policy_path("A"), &admin.1).await.body["maxSessionsPerUser"],
            2
        );

        // A PUT replaces: fields it leaves out are unset again.
        app.clock.advance(secs(1));
        let res = put_policy(&app, "A", json!({"maxSessionsPerTenant": 7})).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.body["maxSessionsPerUser"], Value::Null);
        assert_eq!(res.body["maxSessionsPerTenant"], 7);
        assert_eq!(res.body["updatedBy"], "service");

        app.clock.advance(secs(1));
        let del = call(&app, "delete", &policy_path("A"), &admin.1, None).await;
        assert_eq!(del.body, json!({"deleted": true}));
        app.clock.advance(secs(1));
        let again = call(&app, "delete", &policy_path("A"), &admin.1, None).await;
        assert_eq!(again.body, json!({"deleted": false}));
        assert_eq!(
            get(&app, &policy_path("A"), &admin.1).await.body["maxSessionsPerTenant"],
            Value::Null
        );

        // Every change audited, newest first; the refused ones are not.
        let audit = get(&app, "/api/admin/audit", &admin.1).await;
        let entries: Vec<(String, String, i64)> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().unwrap().starts_with("tenant_policy."))
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["actor"].as_str().unwrap().to_owned(),
                    e["count"].as_i64().unwrap(),
                )
            })
            .collect();
        let by_admin = format!("admin:{}", admin.0.id);
        assert_eq!(
            entries,
            vec![
                ("tenant_policy.delete".into(), by_admin.clone(), 0),
                ("tenant_policy.delete".into(), by_admin.clone(), 1),
                ("tenant_policy.put".into(), "service".into(), 1),
                ("tenant_policy.put".into(), by_admin, 1),
            ]
        );
        let first_put = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|e| e["action"] == "tenant_policy.put")
            .unwrap();
        assert_eq!(first_put["target"], "tenant:A");
        assert_eq!(first_put["criteria"]["inactivityTimeoutSeconds"], 600);
        // The tenant admin sees their tenant's entries.
        let theirs = get(&app, "/api/admin/audit", &ta).await;
        assert!(
            theirs.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "tenant_policy.put")
        );

        // In the OpenAPI document.
        let doc = get(&app, "/api/admin/openapi.json", &admin.1).await;
        let item = &doc.body["paths"]["/api/admin/tenants/{tenantId}/policy"];
        for m in ["get", "put", "delete"] {
            assert!(item[m].is_object(), "{m} documented");
        }
    }
);

both_stores!(
    the_tenants_user_limit_replaces_the_global_one_at_sign_in,
    crate::admin::support::with_token(),
    |app| async move {
        assert_eq!(
            put_policy(&app, "A", json!({"maxSessionsPerUser": 2}))
                .await
                .status,
            200
        );
        let a = member(&app, "a@example.com", "A", true).await;
        let b = member(&app, "b@example.com", "B", false).await;
        let mut a_ids = Vec::new();
        for _ in 0..2 {
            a_ids.push(issue(&app, &a).await.unwrap());
            app.clock.advance(secs(1));
        }
        // Over HTTP as a real sign-in: the least recently active goes.
        let res = app
            .post(
                "/api/auth/sign-in/email",
                None,
                json!({"email": "a@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let left = live_ids(&app, &a).await;
        assert_eq!(left.len(), 2);
        assert!(!left.contains(&a_ids[0]));
        // Tenant B has no policy: the global limit (10).
        for _ in 0..5 {
            issue(&app, &b).await.unwrap();
        }
        assert_eq!(live_ids(&app, &b).await.len(), 5);
        // Unset again: A falls back to the global limit.
        call(&app, "delete", &policy_path("A"), &service(), None).await;
        for _ in 0..3 {
            issue(&app, &a).await.unwrap();
        }
        assert_eq!(live_ids(&app, &a).await.len(), 5);
    }
);

both_stores!(
    the_tenant_cap_evicts_the_tenants_least_recently_active,
    crate::admin::support::with_token(),
    |app| async move {
        let a1 = member(&app, "a1@example.com", "A", false).await;
        let a2 = member(&app, "a2@example.com", "A", false).await;
        let b = member(&app, "b@example.com", "B", false).await;
        // Seeded before the policy: a1's older session is the tenant's least recently active.
        let t0 = app.clock_now();
        let (old, _) = session(&app, &a1, S::fresh(&app).used(t0 - secs(500))).await;
        let (mid, _) = session(&app, &a2, S::fresh(&app).used(t0 - secs(300))).await;
        let (new, _) = session(&app, &a1, S::fresh(&app).used(t0 - secs(100))).await;
        let (b_old, _) = session(&app, &b, S::fresh(&app).used(t0 - secs(9000))).await;
        assert_eq!(
            put_policy(&app, "A", json!({"maxSessionsPerTenant": 3}))
                .await
                .status,
            200
        );

        let fresh = issue(&app, &a2).await.unwrap();
        let mut a_all = live_ids(&app, &a1).await;
        a_all.extend(live_ids(&app, &a2).await);
        a_all.sort();
        let mut want = vec![mid.id.clone(), new.id.clone(), fresh.clone()];
        want.sort();
        assert_eq!(a_all, want, "{} evicted", old.id);
        // B's sessions, older than any of A's, are never A's to evict.
        issue(&app, &a1).await.unwrap();
        assert_eq!(live_ids(&app, &b).await, vec![b_old.id.clone()]);
        assert_eq!(
            live_ids(&app, &a1).await.len() + live_ids(&app, &a2).await.len(),
            3
        );
        for _ in 0..4 {
            issue(&app, &b).await.unwrap();
        }
        assert_eq!(live_ids(&app, &b).await.len(), 5, "B has no cap");
        // The eviction is recorded as the per-user limit's is.
        let ended = get(
            &app,
            &format!("/api/admin/sessions/ended?userId={}", a1.id),
            &service(),
        )
        .await;
        let reasons: Vec<&str> = ended.body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| *r == "evicted-limit"),
            "{reasons:?}"
        );
    }
);

both_stores!(
    the_tenant_cap_and_user_limit_deny_under_concurrent_sign_ins,
    crate::admin::support::with_token()
        .set("SESSION_LIMIT_STRATEGY", "deny")
        .set("DATABASE_MAX_CONNECTIONS", "20"),
    |app| async move {
        let policy = json!({"maxSessionsPerTenant": 6, "maxSessionsPerUser": 2});
        assert_eq!(put_policy(&app, "A", policy).await.status, 200);
        let mut users = Vec::new();
        for i in 0..20 {
            users.push(member(&app, &format!("u{i}@example.com"), "A", false).await);
        }
        let b = member(&app, "b@example.com", "B", false).await;
        let app = Arc::new(app);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let app = app.clone();
            let user = users[i % users.len()].clone();
            tasks.push(tokio::spawn(async move { issue(&app, &user).await }));
        }
        let (mut ok, mut denied) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) if e.contains("SESSION_LIMIT_REACHED") => denied += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, denied), (6, 194));
        let mut total = 0;
        for u in &users {
            let n = live_ids(&app, u).await.len();
            assert!(n <= 2, "per-user limit of the tenant");
            total += n;
        }
        assert_eq!(total, 6);
        // B is not A: its users sign in under the global limit.
        for _ in 0..3 {
            issue(&app, &b).await.unwrap();
        }
        assert_eq!(live_ids(&app, &b).await.len(), 3);
        // Over HTTP the refusal is 403 SESSION_LIMIT_REACHED.
        member(&app, "http@example.com", "A", true).await;
        let res = app
            .post(
                "/api/auth/sign-in/email",
                None,
                json!({"email": "http@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!((res.status, res.code()), (403, "SESSION_LIMIT_REACHED"));
    }
);

both_stores!(
    the_tenant_cap_holds_under_concurrent_evicting_sign_ins,
    // Enough connections for many sign-ins of different users to overlap.
    crate::admin::support::with_token().set("DATABASE_MAX_CONNECTIONS", "20"),
    |app| async move {
        assert_eq!(
            put_policy(&app, "A", json!({"maxSessionsPerTenant": 5}))
                .await
                .status,
            200
        );
        let mut users = Vec::new();
        for i in 0..20 {
            users.push(member(&app, &format!("e{i}@example.com"), "A", false).await);
        }
        let app = Arc::new(app);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let app = app.clone();
            let user = users[i % users.len()].clone();
            tasks.push(tokio::spawn(async move { issue(&app, &user).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let mut total = 0;
        for u in &users {
            total += live_ids(&app, u).await.len();
        }
        assert_eq!(total, 5);
    }
);

both_stores!(
    the_tenants_timeouts_apply_at_check_time,
    crate::admin::support::with_token()
        .set("SESSION_ABSOLUTE_TIMEOUT_SECONDS", "3600")
        .set("SESSION_INACTIVITY_TIMEOUT_SECONDS", "7200"),
    |app| async move {
        let policy = json!({"inactivityTimeoutSeconds": 600});
        assert_eq!(put_policy(&app, "A", policy).await.status, 200);
        let policy = json!({"absoluteTimeoutSeconds": 1800});
        assert_eq!(put_policy(&app, "C", policy).await.status, 200);
        let a = member(&app, "a@example.com", "A", false).await;
        let b = member(&app, "b@example.com", "B", false).await;
        let c = member(&app, "c@example.com", "C", false).await;
        let (a_s, a_cookie) = session(&app, &a, S::fresh(&app)).await;
        let (_, b_cookie) = session(&app, &b, S::fresh(&app)).await;
        let (c_s, c_cookie) = session(&app, &c, S::fresh(&app)).await;

        app.clock.advance(secs(599));
        assert!(alive(&app, &a_cookie).await, "A idle for its timeout - 1 s");
        app.clock.advance(secs(601));
        assert!(
            !alive(&app, &a_cookie).await,
            "A idle for its timeout + 1 s"
        );
        assert!(
            app.store()
                .find_session_by_id(&a_s.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            alive(&app, &b_cookie).await,
            "B idle 1200 s: the global 7200 s applies"
        );

        // C: its own absolute timeout; its unset inactivity falls back to the global 7200 s.
        for _ in 0..2 {
            app.clock.advance(secs(299));
            assert!(alive(&app, &c_cookie).await);
        }
        app.clock.advance(secs(3));
        assert!(!alive(&app, &c_cookie).await, "C 1801 s old");
        assert!(
            app.store()
                .find_session_by_id(&c_s.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            alive(&app, &b_cookie).await,
            "B 1801 s old: the global 3600 s applies"
        );
        app.clock.advance(secs(1800));
        assert!(!alive(&app, &b_cookie).await, "B 3601 s old");

        // Recorded with the reasons of the global timeouts.
        for (user, reason) in [
            (&a, "inactive"),
            (&c, "absolute-timeout"),
            (&b, "absolute-timeout"),
        ] {
            let res = get(
                &app,
                &format!("/api/admin/sessions/ended?userId={}", user.id),
                &service(),
            )
            .await;
            assert_eq!(res.body["sessions"][0]["reason"], reason, "{}", user.email);
        }
    }
);

both_stores!(
    another_instance_enforces_a_policy_once_it_reads_the_table,
    crate::admin::support::with_token(),
    |app| async move {
        let other = spawn_on(app.db.share(), crate::admin::support::with_token())
            .await
            .unwrap();
        other.clock.set(app.clock_now());
        let a = member(&app, "a@example.com", "A", false).await;
        let (_, cookie) = session(&app, &a, S::fresh(&app)).await;
        assert_eq!(
            put_policy(&app, "A", json!({"inactivityTimeoutSeconds": 60}))
                .await
                .status,
            200
        );
        other.keeper.core().reload_tenant_policies().await.unwrap();
        other.clock.advance(secs(61));
        assert!(!alive(&other, &cookie).await);
    }
);

/// With Redis as the owned-mode session cache: a session evicted by the tenant cap belongs to
/// another user than the one signing in, and its cached copy must go too.
async fn tenant_cap_eviction_reaches_the_redis_cache(db: Db) {
    let Some(mut conn) = crate::secondary_node::redis().await else {
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let prefix = format!("sk-tenantcap-{}:", new_id());
    let settings = crate::admin::support::with_token()
        .set("SESSION_STORAGE", "both")
        .set("REDIS_URL", crate::secondary_node::REDIS_URL)
        .set("SECONDARY_STORAGE_PREFIX", &prefix);
    let app = spawn_on(test_db, settings).await.expect("app starts");
    let a1 = member(&app, "a1@example.com", "A", false).await;
    let a2 = member(&app, "a2@example.com", "A", false).await;
    assert_eq!(
        put_policy(&app, "A", json!({"maxSessionsPerTenant": 1}))
            .await
            .status,
        200
    );
    let core = app.keeper.core();
    let issued = app
        .keeper
        .auth()
        .issue_session(a1.clone(), true, ClientInfo::default())
        .await
        .unwrap();
    let cookie = format!(
        "{}={}",
        core.cookies().session_token,
        core.signer().sign_for_cookie(&issued.token)
    );
    assert!(alive(&app, &cookie).await, "cached and live");
    issue(&app, &a2).await.unwrap();
    assert!(live_ids(&app, &a1).await.is_empty(), "evicted by the cap");
    assert!(
        !alive(&app, &cookie).await,
        "the evicted session's cached copy is gone too"
    );
    drop(app);
    crate::secondary_node::drop_prefix(&mut conn, &prefix).await;
}

mod tenant_cap_eviction_with_redis {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        tenant_cap_eviction_reaches_the_redis_cache(Db::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        tenant_cap_eviction_reaches_the_redis_cache(Db::Postgres).await
    }
}

both_stores!(
    the_tenant_cap_at_sign_in_ranks_by_the_stored_last_activity,
    crate::admin::support::with_token(),
    |app| async move {
        let a1 = member(&app, "a1@example.com", "A", false).await;
        let a2 = member(&app, "a2@example.com", "A", false).await;
        let t0 = app.clock_now();
        let (old, _) = session(&app, &a1, S::fresh(&app).used(t0 - secs(500))).await;
        let (mid, _) = session(&app, &a2, S::fresh(&app).used(t0 - secs(300))).await;
        let (new, _) = session(&app, &a1, S::fresh(&app).used(t0 - secs(100))).await;
        // The oldest `updatedAt`, but the flush stored a use ten seconds ago.
        let ms = (t0 - secs(10)).unix_timestamp_nanos() / 1_000_000;
        crate::cleanup_seed::exec_sql(
            &app,
            &format!(
                "INSERT INTO \"sessionkeeper_activity\" (\"sessionId\", \"lastActiveAt\") VALUES ('{}', {ms})",
                old.id
            ),
        )
        .await;
        assert_eq!(
            put_policy(&app, "A", json!({"maxSessionsPerTenant": 3}))
                .await
                .status,
            200
        );
        let fresh = issue(&app, &a2).await.unwrap();
        let mut a_all = live_ids(&app, &a1).await;
        a_all.extend(live_ids(&app, &a2).await);
        a_all.sort();
        let mut want = vec![old.id.clone(), new.id.clone(), fresh];
        want.sort();
        assert_eq!(a_all, want, "{} evicted", mid.id);
    }
);

both_stores!(
    looser_values_than_the_global_policy_are_accepted,
    crate::admin::support::with_token(),
    |app| async move {
        // The global policy: 10 per user, 30 days idle, no absolute timeout.
        let body = json!({
            "maxSessionsPerUser": 11,
            "inactivityTimeoutSeconds": 30 * 86_400 + 1,
            "absoluteTimeoutSeconds": 90 * 86_400,
        });
        let res = put_policy(&app, "A", body).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(res.body["effective"]["maxSessionsPerUser"], 11);
        assert_eq!(
            res.body["effective"]["inactivityTimeoutSeconds"],
            30 * 86_400 + 1
        );
        assert_eq!(res.body["effective"]["absoluteTimeoutSeconds"], 90 * 86_400);
        // The bounds still hold.
        let res = put_policy(&app, "A", json!({"maxSessionsPerUser": 100_001})).await;
        assert_eq!((res.status, res.code()), (400, "VALIDATION_ERROR"));
    }
);

both_stores!(
    a_looser_user_limit_keeps_more_sessions_than_the_global_one,
    crate::admin::support::with_token().set("MAX_SESSIONS_PER_USER", "2"),
    |app| async move {
        let res = put_policy(&app, "A", json!({"maxSessionsPerUser": 4})).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let a = member(&app, "a@example.com", "A", true).await;
        let b = member(&app, "b@example.com", "B", false).await;
        let mut a_ids = Vec::new();
        for _ in 0..4 {
            a_ids.push(issue(&app, &a).await.unwrap());
            app.clock.advance(secs(1));
        }
        assert_eq!(live_ids(&app, &a).await.len(), 4, "over the global 2");
        // Over HTTP: the fifth evicts the least recently active, the tenant's 4 stay.
        let res = app
            .post(
                "/api/auth/sign-in/email",
                None,
                json!({"email": "a@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let left = live_ids(&app, &a).await;
        assert_eq!(left.len(), 4);
        assert!(!left.contains(&a_ids[0]));
        // B has no policy: the global 2.
        for _ in 0..4 {
            issue(&app, &b).await.unwrap();
        }
        assert_eq!(live_ids(&app, &b).await.len(), 2);
    }
);

both_stores!(
    a_looser_user_limit_under_deny_and_concurrent_sign_ins,
    crate::admin::support::with_token()
        .set("MAX_SESSIONS_PER_USER", "2")
        .set("SESSION_LIMIT_STRATEGY", "deny")
        .set("DATABASE_MAX_CONNECTIONS", "20"),
    |app| async move {
        let res = put_policy(&app, "A", json!({"maxSessionsPerUser": 5})).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let a = member(&app, "a@example.com", "A", false).await;
        let b = member(&app, "b@example.com", "B", false).await;
        let app = Arc::new(app);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let app = app.clone();
            let user = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move { issue(&app, &user).await }));
        }
        let (mut ok, mut denied) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) if e.contains("SESSION_LIMIT_REACHED") => denied += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, denied), (5 + 2, 200 - 7));
        assert_eq!(live_ids(&app, &a).await.len(), 5);
        assert_eq!(live_ids(&app, &b).await.len(), 2);
    }
);

both_stores!(
    looser_tenant_timeouts_keep_sessions_the_global_ones_end,
    crate::admin::support::with_token()
        .set("SESSION_INACTIVITY_TIMEOUT_SECONDS", "600")
        .set("SESSION_ABSOLUTE_TIMEOUT_SECONDS", "3600"),
    |app| async move {
        let policy = json!({"inactivityTimeoutSeconds": 1800});
        assert_eq!(put_policy(&app, "A", policy).await.status, 200);
        let policy = json!({"absoluteTimeoutSeconds": 7200});
        assert_eq!(put_policy(&app, "C", policy).await.status, 200);
        let a = member(&app, "a@example.com", "A", false).await;
        let b = member(&app, "b@example.com", "B", false).await;
        let c = member(&app, "c@example.com", "C", false).await;

        // A signed-in session's expiry is capped by its tenant's absolute timeout.
        let t0 = app.clock_now();
        for (user, cap) in [(&c, 7200), (&b, 3600)] {
            let issued = issue(&app, user).await.unwrap();
            let s = app
                .store()
                .find_session_by_id(&issued)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((s.expires_at - t0).whole_seconds(), cap, "{}", user.email);
        }

        let (a_s, a_cookie) = session(&app, &a, S::fresh(&app)).await;
        let (b_s, b_cookie) = session(&app, &b, S::fresh(&app)).await;
        app.clock.advance(secs(1799));
        assert!(
            alive(&app, &a_cookie).await,
            "A idle 1799 s: past the global 600 s, within its own 1800 s"
        );
        assert!(
            !alive(&app, &b_cookie).await,
            "B idle 1799 s: the global 600 s"
        );
        assert!(
            app.store()
                .find_session_by_id(&b_s.id)
                .await
                .unwrap()
                .is_none()
        );
        app.clock.advance(secs(1801));
        assert!(!alive(&app, &a_cookie).await, "A idle 1801 s");
        assert!(
            app.store()
                .find_session_by_id(&a_s.id)
                .await
                .unwrap()
                .is_none()
        );

        // C: its own absolute timeout, longer than the global 3600 s; its unset inactivity
        // falls back to the global 600 s, so it is used every 599 s.
        let (c_s, c_cookie) = session(&app, &c, S::fresh(&app)).await;
        let (_, b_cookie) = session(&app, &b, S::fresh(&app)).await;
        for i in 1..=12 {
            app.clock.advance(secs(599));
            assert!(alive(&app, &c_cookie).await, "C {} s old", 599 * i);
            if i <= 7 {
                // B, used as often, ends at the global 3600 s.
                assert_eq!(alive(&app, &b_cookie).await, i <= 6, "B {} s old", 599 * i);
            }
        }
        app.clock.advance(secs(11));
        assert!(alive(&app, &c_cookie).await, "C 7199 s old");
        app.clock.advance(secs(2));
        assert!(!alive(&app, &c_cookie).await, "C 7201 s old");
        assert!(
            app.store()
                .find_session_by_id(&c_s.id)
                .await
                .unwrap()
                .is_none()
        );
    }
);
