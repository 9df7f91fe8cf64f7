//! The per-user session limit at sign-in holds under concurrency.

use crate::all_stores;
use crate::helpers::*;

all_stores!(
    concurrent_sign_ins_leave_exactly_the_limit,
    Settings::new().set("MAX_SESSIONS_PER_USER", "10"),
    |app| async move {
        let up = app.sign_up("crowd@example.com").await;
        let user_id = up.body["user"]["id"].as_str().unwrap().to_string();
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                app.sign_in("crowd@example.com").await.status
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        let left = app
            .store()
            .list_user_sessions(&user_id, None, 1000)
            .await
            .unwrap();
        assert_eq!(left.len(), 10);
    }
);

all_stores!(
    sign_in_evicts_the_least_recently_active,
    Settings::new().set("MAX_SESSIONS_PER_USER", "2"),
    |app| async move {
        let first = app.user_cookie("evict@example.com").await;
        app.clock.advance(time::Duration::minutes(1));
        let second = app
            .sign_in("evict@example.com")
            .await
            .session_cookie()
            .unwrap();
        app.clock.advance(time::Duration::minutes(1));
        let third = app
            .sign_in("evict@example.com")
            .await
            .session_cookie()
            .unwrap();
        assert_eq!(
            app.get("/api/auth/get-session", Some(&first)).await.body,
            serde_json::Value::Null
        );
        assert!(
            app.get("/api/auth/get-session", Some(&second))
                .await
                .body
                .is_object()
        );
        assert!(
            app.get("/api/auth/get-session", Some(&third))
                .await
                .body
                .is_object()
        );
    }
);

all_stores!(
    no_eviction_when_limits_are_off,
    Settings::new()
        .set("MAX_SESSIONS_PER_USER", "1")
        .set("ENFORCE_SESSION_LIMITS", "false"),
    |app| async move {
        let first = app.user_cookie("free@example.com").await;
        app.sign_in("free@example.com").await;
        assert!(
            app.get("/api/auth/get-session", Some(&first))
                .await
                .body
                .is_object()
        );
    }
);
