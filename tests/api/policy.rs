//! The session policy at check time (inactivity and absolute timeouts), precise last activity
//! and its batched flush, and the `deny` strategy at the per-user limit, on both stores with
//! the injected clock.

use crate::both_stores;
use crate::helpers::*;
use serde_json::Value;
use sessionkeeper::service::activity::millis;
use std::sync::Arc;
use time::Duration;

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// Signs a user up and in; the cookie and the session id.
async fn session(app: &TestApp, email: &str) -> (String, String) {
    let cookie = app.user_cookie(email).await;
    let s = app.get("/api/auth/get-session", Some(&cookie)).await;
    (cookie, s.body["session"]["id"].as_str().unwrap().to_owned())
}

async fn sign_in_raw(app: &TestApp, email: &str) -> Res {
    let body = serde_json::json!({"email": email, "password": PASSWORD});
    app.post("/api/auth/sign-in/email", None, body).await
}

async fn alive(app: &TestApp, cookie: &str) -> bool {
    let s = app.get("/api/auth/get-session", Some(cookie)).await;
    assert_eq!(s.status, 200);
    s.body.is_object()
}

async fn row_exists(app: &TestApp, id: &str) -> bool {
    app.store().find_session_by_id(id).await.unwrap().is_some()
}

both_stores!(
    inactivity_timeout_is_enforced_at_check_time,
    Settings::new().set("SESSION_INACTIVITY_TIMEOUT_SECONDS", "600"),
    |app| async move {
        let (cookie, id) = session(&app, "idle@example.com").await;
        app.clock.advance(secs(599));
        assert!(alive(&app, &cookie).await, "idle for timeout - 1 s");
        // Activity is the last check, not `updatedAt` (which has not moved): 1198 s since the
        // session was written, 599 s since it was last used.
        app.clock.advance(secs(599));
        assert!(alive(&app, &cookie).await, "a check is activity");
        app.clock.advance(secs(601));
        let s = app.get("/api/auth/get-session", Some(&cookie)).await;
        assert_eq!(s.body, Value::Null, "idle for timeout + 1 s");
        assert!(
            s.set_cookies()
                .iter()
                .any(|c| c.starts_with("better-auth.session_token=;")),
            "answered as a missing session: cookie cleared"
        );
        assert!(!row_exists(&app, &id).await, "refused and removed");
        // Every authenticated route refuses it too.
        let list = app.get("/api/auth/list-sessions", Some(&cookie)).await;
        assert_eq!(list.status, 401);
    }
);

both_stores!(
    activity_flushed_on_another_instance_keeps_a_session_alive,
    Settings::new().set("SESSION_INACTIVITY_TIMEOUT_SECONDS", "600"),
    |app| async move {
        let (cookie, id) = session(&app, "roam@example.com").await;
        let settings = Settings::new().set("SESSION_INACTIVITY_TIMEOUT_SECONDS", "600");
        let other = spawn_on(app.db.share(), settings).await.unwrap();
        other.clock.set(app.clock_now());
        // Used on `other` only; this instance has not seen it since sign-up.
        other.clock.advance(secs(500));
        assert!(alive(&other, &cookie).await);
        other.keeper.core().flush_activity().await.unwrap();
        app.clock.advance(secs(900));
        assert!(
            alive(&app, &cookie).await,
            "400 s idle by the stored activity"
        );
        app.clock.advance(secs(601));
        assert!(!alive(&app, &cookie).await);
        assert!(!row_exists(&app, &id).await);
    }
);

both_stores!(
    absolute_timeout_refuses_an_active_session,
    |app| async move {
        // Created where no absolute timeout applies...
        let (cookie, id) = session(&app, "old@example.com").await;
        // ...and checked where one does.
        let settings = Settings::new().set("SESSION_ABSOLUTE_TIMEOUT_SECONDS", "3600");
        let strict = spawn_on(app.db.share(), settings).await.unwrap();
        strict.clock.set(app.clock_now());
        for _ in 0..5 {
            strict.clock.advance(secs(600));
            assert!(alive(&strict, &cookie).await);
        }
        strict.clock.advance(secs(599));
        assert!(alive(&strict, &cookie).await, "3599 s old");
        strict.clock.advance(secs(2));
        assert!(
            !alive(&strict, &cookie).await,
            "3601 s old, active all along"
        );
        assert!(!row_exists(&app, &id).await, "removed");
    }
);

both_stores!(
    sliding_never_passes_the_absolute_timeout,
    Settings::new()
        .set("SESSION_EXPIRES_IN", "3600")
        .set("SESSION_UPDATE_AGE", "60")
        .set("SESSION_ABSOLUTE_TIMEOUT_SECONDS", "5400"),
    |app| async move {
        let t0 = app.clock_now();
        let (cookie, id) = session(&app, "cap@example.com").await;
        let expiry = |app: &TestApp, id: String| {
            let store = app.store().clone();
            async move {
                store
                    .find_session_by_id(&id)
                    .await
                    .unwrap()
                    .unwrap()
                    .expires_at
            }
        };
        assert!((expiry(&app, id.clone()).await - (t0 + secs(3600))).abs() < secs(1));
        app.clock.advance(secs(3000));
        let s = app.get("/api/auth/get-session", Some(&cookie)).await;
        assert!(!s.set_cookies().is_empty(), "slid");
        let capped = t0 + secs(5400);
        assert!((expiry(&app, id.clone()).await - capped).abs() < secs(1));
        app.clock.advance(secs(2000));
        let s = app.get("/api/auth/get-session", Some(&cookie)).await;
        assert!(s.body.is_object());
        assert!(s.set_cookies().is_empty(), "nothing left to slide");
        assert!((expiry(&app, id.clone()).await - capped).abs() < secs(1));
        app.clock.advance(secs(401));
        assert!(!alive(&app, &cookie).await, "past createdAt + 5400 s");
        assert!(!row_exists(&app, &id).await);
    }
);

both_stores!(
    activity_is_flushed_in_one_statement_for_many_sessions,
    |app| async move {
        let mut ids = Vec::new();
        for i in 0..12 {
            let (cookie, id) = session(&app, &format!("batch{i}@example.com")).await;
            app.clock.advance(secs(1));
            assert!(alive(&app, &cookie).await);
            ids.push((id, millis(app.clock_now())));
        }
        let core = app.keeper.core();
        let flushed = core.flush_activity().await.unwrap();
        assert_eq!((flushed.statements, flushed.rows), (1, 12));
        for (id, at) in &ids {
            let stored = app.store().stored_activity(id).await.unwrap();
            assert_eq!(stored, Some(*at), "{id}");
        }
        // Nothing moved since: nothing written.
        let again = core.flush_activity().await.unwrap();
        assert_eq!((again.statements, again.rows), (0, 0));
    }
);

both_stores!(
    the_latest_activity_wins_across_instances,
    |app| async move {
        let (cookie, id) = session(&app, "race@example.com").await;
        let other = spawn_on(app.db.share(), Settings::new()).await.unwrap();
        let t0 = app.clock_now();
        app.clock.set(t0 + secs(100));
        other.clock.set(t0 + secs(50));
        assert!(alive(&app, &cookie).await);
        assert!(alive(&other, &cookie).await);
        let later = millis(t0 + secs(100));
        // The later time lands first, the earlier one after: the later one stays.
        app.keeper.core().flush_activity().await.unwrap();
        other.keeper.core().flush_activity().await.unwrap();
        assert_eq!(app.store().stored_activity(&id).await.unwrap(), Some(later));
        // And moving forward still works.
        other.clock.set(t0 + secs(200));
        assert!(alive(&other, &cookie).await);
        other.keeper.core().flush_activity().await.unwrap();
        let latest = millis(t0 + secs(200));
        assert_eq!(
            app.store().stored_activity(&id).await.unwrap(),
            Some(latest)
        );
    }
);

both_stores!(
    a_killed_instance_loses_at_most_one_resolution_period,
    |app| async move {
        let (cookie, id) = session(&app, "crash@example.com").await;
        let settings = Settings::new().set("SESSION_ACTIVITY_RESOLUTION_SECONDS", "1");
        let doomed = spawn_on(app.db.share(), settings).await.unwrap();
        doomed.clock.set(app.clock_now() + secs(30));
        assert!(alive(&doomed, &cookie).await);
        let seen = millis(doomed.clock_now());
        // No explicit flush: the periodic one writes within a period (with slack for a
        // loaded machine), then the instance goes away without a goodbye.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if app.store().stored_activity(&id).await.unwrap() == Some(seen) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never flushed");
        }
        drop(doomed);
        assert_eq!(app.store().stored_activity(&id).await.unwrap(), Some(seen));
    }
);

both_stores!(
    deny_at_the_limit_under_concurrent_sign_ins,
    Settings::new()
        .set("MAX_SESSIONS_PER_USER", "10")
        .set("SESSION_LIMIT_STRATEGY", "deny"),
    |app| async move {
        let up = app.sign_up("full@example.com").await;
        let user_id = up.body["user"]["id"].as_str().unwrap().to_string();
        let app = Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let r = sign_in_raw(&app, "full@example.com").await;
                (r.status, r.code().to_owned())
            }));
        }
        let (mut ok, mut denied) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                (200, _) => ok += 1,
                (403, code) if code == "SESSION_LIMIT_REACHED" => denied += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        // Sign-up made the first of the ten.
        assert_eq!((ok, denied), (9, 191));
        let left = app
            .store()
            .list_user_sessions(&user_id, None, 1000)
            .await
            .unwrap();
        assert_eq!(left.len(), 10);
        // Signing out somewhere makes room for exactly one.
        let out = app
            .post(
                "/api/auth/sign-out",
                up.session_cookie().as_deref(),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(out.status, 200);
        assert_eq!(sign_in_raw(&app, "full@example.com").await.status, 200);
        let again = sign_in_raw(&app, "full@example.com").await;
        assert_eq!((again.status, again.code()), (403, "SESSION_LIMIT_REACHED"));
    }
);

both_stores!(
    the_cleanup_removes_the_activity_of_ended_sessions,
    |app| async move {
        let (gone, gone_id) = session(&app, "gone@example.com").await;
        let (_kept, kept_id) = session(&app, "kept@example.com").await;
        let core = app.keeper.core();
        assert_eq!(core.flush_activity().await.unwrap().rows, 2);
        let out = app
            .post("/api/auth/sign-out", Some(&gone), serde_json::json!({}))
            .await;
        assert_eq!(out.status, 200);
        assert!(
            app.store()
                .stored_activity(&gone_id)
                .await
                .unwrap()
                .is_some()
        );
        let run = app
            .cleanup
            .run_once(
                sessionkeeper::domain::run::Trigger::Manual,
                sessionkeeper::domain::CleanupPolicy::default(),
                false,
                sessionkeeper::domain::Scope::All,
            )
            .await
            .unwrap();
        assert_eq!(run.total, 0, "activity rows are not sessions");
        assert_eq!(app.store().stored_activity(&gone_id).await.unwrap(), None);
        assert!(
            app.store()
                .stored_activity(&kept_id)
                .await
                .unwrap()
                .is_some()
        );
    }
);
