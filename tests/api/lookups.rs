//! Session checks that arrive together share one lookup statement: every check must still get
//! its own session, and only its own.

use crate::all_stores;
use serde_json::{Value, json};

all_stores!(
    concurrent_checks_each_get_their_own_session,
    |app| async move {
        let mut users = Vec::new();
        for i in 0..6 {
            let email = format!("batch{i}@example.com");
            let cookie = app.user_cookie(&email).await;
            users.push((cookie, Some(email)));
        }
        let gone = app.user_cookie("gone@example.com").await;
        let out = app.post("/api/auth/sign-out", Some(&gone), json!({})).await;
        assert_eq!(out.status, 200);
        users.push((gone, None));

        // 280 checks at once over 7 cookies: batches hold duplicates, a revoked token and a mix of
        // users, in whatever order they arrive.
        let checks = (0..280).map(|i| {
            let (cookie, email) = &users[i % users.len()];
            let app = &app;
            async move {
                let res = app.get("/api/auth/get-session", Some(cookie)).await;
                (res, email.clone())
            }
        });
        for (res, email) in futures::future::join_all(checks).await {
            assert_eq!(res.status, 200);
            match email {
                Some(email) => {
                    assert_eq!(res.body["user"]["email"], email.as_str());
                    assert_eq!(res.body["session"]["userId"], res.body["user"]["id"]);
                }
                None => assert_eq!(res.body, Value::Null),
            }
        }
    }
);
