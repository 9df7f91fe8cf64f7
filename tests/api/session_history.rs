//! Termination records (issue 15): every path that ends a session leaves a record with its
//! reason and actor, never the token or its hash; the admin history is tenant-scoped and paged;
//! a user sees their own; retention prunes; `SESSION_HISTORY_RETENTION_DAYS=0` writes none.

use crate::admin::support::{Auth, S, SERVICE_TOKEN, call, get, session, signed_in, user};
use crate::both_stores;
use crate::helpers::*;
use serde_json::{Value, json};
use sessionkeeper::domain::token::session_ref;
use time::Duration;

fn svc() -> Auth {
    Auth::Bearer(SERVICE_TOKEN.into())
}

fn settings() -> Settings {
    Settings::new()
        .set("ADMIN_API_TOKEN", SERVICE_TOKEN)
        .set("ENFORCE_SESSION_LIMITS", "true")
        .set("MAX_SESSIONS_PER_USER", "2")
}

/// Every record, newest first, through the admin route with the service token.
async fn ended(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/admin/sessions/ended?limit=2&{query}&cursor={c}"),
            None => format!("/api/admin/sessions/ended?limit=2&{query}"),
        };
        let res = get(app, &path, &svc()).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        out.extend(res.body["sessions"].as_array().unwrap().iter().cloned());
        match res.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// The record of one session: exactly one.
async fn record(app: &TestApp, session_id: &str) -> Value {
    let all = ended(app, "").await;
    let found: Vec<&Value> = all
        .iter()
        .filter(|r| r["sessionId"] == session_id)
        .collect();
    assert_eq!(found.len(), 1, "one record of {session_id} in {all:#?}");
    found[0].clone()
}

fn reason_actor(r: &Value) -> (&str, &str) {
    (r["reason"].as_str().unwrap(), r["actor"].as_str().unwrap())
}

/// The raw token a `Cookie` header carries (before the signature).
fn raw_of(cookie: &str) -> String {
    let value = cookie.split_once('=').unwrap().1;
    let decoded = value
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    decoded.rsplit_once('.').unwrap().0.to_owned()
}

both_stores!(
    each_reason_is_recorded_by_its_path,
    settings(),
    |app| async move {
        let (admin, admin_cookie) = signed_in(&app, "admin@x.test", "admin", None).await;
        let admin_auth = Auth::Cookie(admin_cookie);
        let mut secrets: Vec<String> = Vec::new();
        let mut seed = |s: &sessionkeeper::domain::Session, cookie: &str| {
            secrets.push(s.token.clone());
            secrets.push(raw_of(cookie));
        };

        // signed-out: the actor is the session's own user, read by the delete.
        let u = user(&app, "out@x.test", "user", None).await;
        let (s, c) = session(&app, &u, S::fresh(&app)).await;
        seed(&s, &c);
        let res = app.post("/api/auth/sign-out", Some(&c), json!({})).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s.id).await),
            ("signed-out", u.id.as_str())
        );

        // revoked (by the user): revoke-session, revoke-other-sessions, revoke-sessions.
        let u = user(&app, "rev@x.test", "user", None).await;
        let (s1, c1) = session(&app, &u, S::fresh(&app)).await;
        let (s2, c2) = session(&app, &u, S::fresh(&app)).await;
        let (s3, c3) = session(&app, &u, S::fresh(&app)).await;
        seed(&s1, &c1);
        seed(&s2, &c2);
        seed(&s3, &c3);
        let res = app
            .post(
                "/api/auth/revoke-session",
                Some(&c1),
                json!({"token": session_ref(&s2.id)}),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s2.id).await),
            ("revoked", u.id.as_str())
        );
        let res = app
            .post("/api/auth/revoke-other-sessions", Some(&c1), json!({}))
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s3.id).await),
            ("revoked", u.id.as_str())
        );
        let res = app
            .post("/api/auth/revoke-sessions", Some(&c1), json!({}))
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s1.id).await),
            ("revoked", u.id.as_str())
        );

        // revoked-by-admin: the admin's id, or `service` for the API token.
        let u = user(&app, "byadmin@x.test", "user", None).await;
        let (s1, c1) = session(&app, &u, S::fresh(&app)).await;
        let (s2, c2) = session(&app, &u, S::fresh(&app)).await;
        let (s3, c3) = session(&app, &u, S::fresh(&app)).await;
        seed(&s1, &c1);
        seed(&s2, &c2);
        seed(&s3, &c3);
        let res = call(
            &app,
            "delete",
            &format!("/api/admin/sessions/{}", s1.id),
            &admin_auth,
            None,
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s1.id).await),
            ("revoked-by-admin", admin.id.as_str())
        );
        let res = call(
            &app,
            "post",
            "/api/auth/admin/revoke-user-session",
            &svc(),
            Some(json!({"sessionToken": session_ref(&s2.id)})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s2.id).await),
            ("revoked-by-admin", "service")
        );
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &admin_auth,
            Some(json!({"userId": u.id})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s3.id).await),
            ("revoked-by-admin", admin.id.as_str())
        );

        // banned.
        let u = user(&app, "ban@x.test", "user", None).await;
        let (s, c) = session(&app, &u, S::fresh(&app)).await;
        seed(&s, &c);
        let res = call(
            &app,
            "post",
            "/api/auth/admin/ban-user",
            &admin_auth,
            Some(json!({"userId": u.id})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s.id).await),
            ("banned", admin.id.as_str())
        );

        // password-changed: by an admin (set-user-password), then by the user (change-password).
        let u = user(&app, "setpw@x.test", "user", None).await;
        let (s, c) = session(&app, &u, S::fresh(&app)).await;
        seed(&s, &c);
        let res = call(
            &app,
            "post",
            "/api/auth/admin/set-user-password",
            &admin_auth,
            Some(json!({"userId": u.id, "newPassword": "another-horse-battery"})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &s.id).await),
            ("password-changed", admin.id.as_str())
        );

        let signed_up = app.sign_up("pw@x.test").await;
        let c = signed_up.session_cookie().unwrap();
        let pw_user = signed_up.body["user"]["id"].as_str().unwrap().to_owned();
        let before = app.get("/api/auth/get-session", Some(&c)).await;
        let pw_session = before.body["session"]["id"].as_str().unwrap().to_owned();
        let res = app
        .post(
            "/api/auth/change-password",
            Some(&c),
            json!({"currentPassword": PASSWORD, "newPassword": "new-horse-battery", "revokeOtherSessions": true}),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(
            reason_actor(&record(&app, &pw_session).await),
            ("password-changed", pw_user.as_str())
        );

        // evicted-limit at sign-in (MAX_SESSIONS_PER_USER=2): the least recently active goes.
        let first = app.sign_up("limit@x.test").await;
        let first_cookie = first.session_cookie().unwrap();
        let first_id = app
            .get("/api/auth/get-session", Some(&first_cookie))
            .await
            .body["session"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.clock.advance(Duration::seconds(1));
        app.sign_in("limit@x.test").await;
        app.clock.advance(Duration::seconds(1));
        app.sign_in("limit@x.test").await;
        assert_eq!(
            reason_actor(&record(&app, &first_id).await),
            ("evicted-limit", "service")
        );

        // expired, found by get-session.
        let u = user(&app, "exp@x.test", "user", None).await;
        let now = app.clock_now();
        let (s, c) = session(&app, &u, S::fresh(&app).expires(now + Duration::minutes(1))).await;
        seed(&s, &c);
        app.clock.advance(Duration::minutes(2));
        let res = app.get("/api/auth/get-session", Some(&c)).await;
        assert_eq!(res.body, Value::Null, "{:?}", res.body);
        let r = record(&app, &s.id).await;
        assert_eq!(reason_actor(&r), ("expired", "service"));
        // The record keeps the session's own columns, and the parsed device.
        assert_eq!(r["userId"], u.id.as_str());
        assert_eq!(r["ipAddress"], "203.0.113.7");
        assert_eq!(r["browser"], "Firefox");
        assert_eq!(
            r["endedAt"],
            sessionkeeper::domain::timefmt::format(app.clock_now())
        );

        // delete-user: the user's own sessions, recorded as revoked by them.
        let del = app.sign_up("del@x.test").await;
        let c = del.session_cookie().unwrap();
        let del_user = del.body["user"]["id"].as_str().unwrap().to_owned();
        let res = app
            .post(
                "/api/auth/delete-user",
                Some(&c),
                json!({"password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let rs = ended(&app, &format!("userId={del_user}")).await;
        assert_eq!(rs.len(), 1, "{rs:?}");
        assert_eq!(reason_actor(&rs[0]), ("revoked", del_user.as_str()));

        // The cleanup: expired, inactive and evicted-limit, by `cleanup:<run id>`.
        let u = user(&app, "clean@x.test", "user", None).await;
        let now = app.clock_now();
        let (gone, c1) =
            session(&app, &u, S::fresh(&app).expires(now - Duration::minutes(1))).await;
        let (idle, c2) = session(&app, &u, S::fresh(&app).used(now - Duration::days(40))).await;
        let (old, c3) = session(&app, &u, S::fresh(&app).used(now - Duration::hours(3))).await;
        session(&app, &u, S::fresh(&app).used(now - Duration::hours(2))).await;
        session(&app, &u, S::fresh(&app).used(now - Duration::hours(1))).await;
        seed(&gone, &c1);
        seed(&idle, &c2);
        seed(&old, &c3);
        let run = call(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &svc(),
            Some(json!({})),
        )
        .await;
        assert_eq!(run.status, 200, "{:?}", run.body);
        let actor = format!("cleanup:{}", run.body["runId"].as_str().unwrap());
        assert_eq!(
            reason_actor(&record(&app, &gone.id).await),
            ("expired", actor.as_str())
        );
        assert_eq!(
            reason_actor(&record(&app, &idle.id).await),
            ("inactive", actor.as_str())
        );
        assert_eq!(
            reason_actor(&record(&app, &old.id).await),
            ("evicted-limit", actor.as_str())
        );

        // The reason filter, and no record or page anywhere holds a token or its hash.
        for r in ended(&app, "reason=banned").await {
            assert_eq!(r["reason"], "banned");
        }
        let everything = ended(&app, "").await;
        let text = serde_json::to_string(&everything).unwrap();
        let history = app
            .get(
                "/api/auth/session-history",
                Some(&admin_auth_cookie(&admin_auth)),
            )
            .await;
        let text = format!("{text}{}", history.body);
        assert!(secrets.len() >= 20);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a token or hash leaked: {secret}"
            );
        }
        for r in &everything {
            let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
            assert!(!keys.iter().any(|k| k.contains("token")), "{keys:?}");
        }
    }
);

fn admin_auth_cookie(a: &Auth) -> String {
    match a {
        Auth::Cookie(c) => c.clone(),
        _ => unreachable!(),
    }
}

both_stores!(
    tenant_admins_see_their_tenant_only,
    settings(),
    |app| async move {
        let (_, acme_admin) = signed_in(&app, "ta@acme.test", "tenant-admin", Some("acme")).await;
        let acme = Auth::Cookie(acme_admin);
        for (email, tenant) in [("a@acme.test", "acme"), ("b@globex.test", "globex")] {
            let u = user(&app, email, "user", Some(tenant)).await;
            let (_, c) = session(&app, &u, S::fresh(&app)).await;
            let res = app.post("/api/auth/sign-out", Some(&c), json!({})).await;
            assert_eq!(res.status, 200);
        }
        let res = get(&app, "/api/admin/sessions/ended", &acme).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let rows = res.body["sessions"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["tenantId"], "acme");
        let res = get(&app, "/api/admin/sessions/ended?tenantId=globex", &acme).await;
        assert_eq!(res.status, 403, "{:?}", res.body);
        // The global view sees both, and narrows on request.
        assert_eq!(ended(&app, "").await.len(), 2);
        assert_eq!(ended(&app, "tenantId=globex").await.len(), 1);
        let res = get(&app, "/api/admin/sessions/ended?reason=deleted", &svc()).await;
        assert_eq!(res.status, 400, "{:?}", res.body);
        let res = get(
            &app,
            "/api/admin/sessions/ended?endedFrom=yesterday",
            &svc(),
        )
        .await;
        assert_eq!(res.status, 400, "{:?}", res.body);
    }
);

both_stores!(
    a_user_sees_their_own_history,
    settings(),
    |app| async move {
        let me = user(&app, "me@x.test", "user", None).await;
        let other = user(&app, "other@x.test", "user", None).await;
        let (mine, mc) = session(&app, &me, S::fresh(&app)).await;
        let (_, oc) = session(&app, &other, S::fresh(&app)).await;
        app.post("/api/auth/sign-out", Some(&mc), json!({})).await;
        app.post("/api/auth/sign-out", Some(&oc), json!({})).await;
        let (_, now_c) = session(&app, &me, S::fresh(&app)).await;
        let res = app.get("/api/auth/session-history", Some(&now_c)).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let rows = res.body["sessions"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["sessionId"], mine.id.as_str());
        assert_eq!(app.get("/api/auth/session-history", None).await.status, 401);
    }
);

both_stores!(
    retention_prunes_old_records,
    settings().set("SESSION_HISTORY_RETENTION_DAYS", "2"),
    |app| async move {
        let u = user(&app, "r@x.test", "user", None).await;
        let (old, c) = session(&app, &u, S::fresh(&app)).await;
        app.post("/api/auth/sign-out", Some(&c), json!({})).await;
        app.clock.advance(Duration::days(3));
        let (recent, c) = session(&app, &u, S::fresh(&app)).await;
        app.post("/api/auth/sign-out", Some(&c), json!({})).await;
        assert_eq!(ended(&app, "").await.len(), 2);
        let run = call(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &svc(),
            Some(json!({})),
        )
        .await;
        assert_eq!(run.status, 200, "{:?}", run.body);
        let left = ended(&app, "").await;
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0]["sessionId"], recent.id.as_str());
        assert_ne!(left[0]["sessionId"], old.id.as_str());
    }
);

both_stores!(
    zero_retention_writes_no_records,
    settings().set("SESSION_HISTORY_RETENTION_DAYS", "0"),
    |app| async move {
        let u = user(&app, "z@x.test", "user", None).await;
        let (_, c) = session(&app, &u, S::fresh(&app)).await;
        let res = app.post("/api/auth/sign-out", Some(&c), json!({})).await;
        assert_eq!(res.status, 200);
        let now = app.clock_now();
        session(&app, &u, S::fresh(&app).expires(now - Duration::minutes(1))).await;
        let run = call(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &svc(),
            Some(json!({})),
        )
        .await;
        assert_eq!(run.body["total"], 1, "{:?}", run.body);
        assert!(ended(&app, "").await.is_empty());
    }
);

/// The receivers' undelivered outbox rows.
async fn pending(app: &TestApp) -> u64 {
    app.store().outbox_backlog().await.unwrap().pending
}

/// Ends one session by signing out and one through the cleanup; how many rows each added to
/// the outbox, and the cleanup's run.
async fn sign_out_then_clean(app: &TestApp) -> (u64, u64) {
    let u = user(app, "ob@x.test", "user", None).await;
    let (_, c) = session(app, &u, S::fresh(app)).await;
    let before = pending(app).await;
    let res = app.post("/api/auth/sign-out", Some(&c), json!({})).await;
    assert_eq!(res.status, 200);
    let signed_out = pending(app).await - before;
    let now = app.clock_now();
    session(app, &u, S::fresh(app).expires(now - Duration::minutes(1))).await;
    let before = pending(app).await;
    let run = call(
        app,
        "post",
        "/api/admin/sessions/cleanup",
        &svc(),
        Some(json!({})),
    )
    .await;
    assert_eq!(run.body["total"], 1, "{:?}", run.body);
    (signed_out, pending(app).await - before)
}

both_stores!(
    no_receiver_writes_no_outbox_rows,
    settings(),
    |app| async move {
        assert_eq!(sign_out_then_clean(&app).await, (0, 0));
        // The records are still written.
        let reasons: Vec<String> = ended(&app, "")
            .await
            .iter()
            .map(|r| r["reason"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons.contains(&"expired".to_owned()), "{reasons:?}");
        assert!(reasons.contains(&"signed-out".to_owned()), "{reasons:?}");
    }
);

// A receiver nobody listens on: deliveries fail and the rows stay queued (the test clock does
// not reach a retry).
both_stores!(
    cleanup_session_events_off_leaves_only_the_run_event,
    settings()
        .set("WEBHOOK_URLS", "http://127.0.0.1:9/hook")
        .set(
            "WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0xb0yA1LbGc="
        )
        .set("WEBHOOK_CLEANUP_SESSION_EVENTS", "false"),
    |app| async move {
        // Sign-out still sends its session.ended; the cleanup only its cleanup.run.finished.
        assert_eq!(sign_out_then_clean(&app).await, (1, 1));
    }
);

both_stores!(
    cleanup_session_events_on_by_default,
    settings()
        .set("WEBHOOK_URLS", "http://127.0.0.1:9/hook")
        .set(
            "WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0xb0yA1LbGc="
        ),
    |app| async move {
        // The expired session's session.ended and the run's event.
        assert_eq!(sign_out_then_clean(&app).await, (1, 2));
    }
);
