//! Our side of rate limiting, with the manual clock: whose address counts, custom rules, what
//! is not limited, and the per-account lock on failed sign-ins with its admin API.

use crate::both_stores;
use crate::helpers::*;
use serde_json::json;

const TOKEN: &str = "service-token-0123456789";

fn on() -> Settings {
    Settings::new().set("RATE_LIMIT_ENABLED", "true")
}

async fn get_from(app: &TestApp, path: &str, xff: Option<&str>) -> Res {
    let mut req = app.http.get(format!("{}{path}", app.url));
    if let Some(ip) = xff {
        req = req.header("x-forwarded-for", ip);
    }
    app.send(req).await
}

async fn sign_in_from(app: &TestApp, email: &str, password: &str, xff: &str) -> Res {
    let req = app
        .http
        .post(format!("{}/api/auth/sign-in/email", app.url))
        .header("origin", BASE_URL)
        .header("x-forwarded-for", xff)
        .json(&json!({"email": email, "password": password}));
    app.send(req).await
}

both_stores!(
    an_untrusted_peer_cannot_choose_its_address,
    on().set("RATE_LIMIT_RULES", "path=/get-session;window=60;max=2"),
    |app| async move {
        // No TRUSTED_PROXIES: the header is ignored and every request is 127.0.0.1's.
        assert_eq!(
            get_from(&app, "/api/auth/get-session", Some("192.0.2.1"))
                .await
                .status,
            200
        );
        assert_eq!(
            get_from(&app, "/api/auth/get-session", Some("192.0.2.2"))
                .await
                .status,
            200
        );
        let refused = get_from(&app, "/api/auth/get-session", Some("192.0.2.3")).await;
        assert_eq!(refused.status, 429);
        assert_eq!(refused.code(), "TOO_MANY_REQUESTS");
        assert_eq!(refused.headers["x-retry-after"], "60");
        // Another path is counted apart.
        assert_eq!(get_from(&app, "/api/auth/ok", None).await.status, 200);
        // Health, metrics and our own admin API are not Better Auth routes: not limited.
        for _ in 0..5 {
            assert_eq!(get_from(&app, "/healthz", None).await.status, 200);
        }
        app.clock.advance(time::Duration::seconds(59));
        let still = get_from(&app, "/api/auth/get-session", None).await;
        assert_eq!(still.headers["x-retry-after"], "1");
        app.clock.advance(time::Duration::seconds(1));
        assert_eq!(
            get_from(&app, "/api/auth/get-session", None).await.status,
            200
        );
    }
);

both_stores!(limits_can_be_turned_off, |app| async move {
    // The test default: RATE_LIMIT_ENABLED=false.
    for _ in 0..6 {
        let res = sign_in_from(&app, "x@example.com", "wrong-password", "1.2.3.4").await;
        assert_eq!(res.status, 401);
    }
});

fn locking(storage: &str) -> Settings {
    Settings::new()
        .set("SIGN_IN_MAX_FAILURES_PER_ACCOUNT", "3")
        .set("SIGN_IN_FAILURE_WINDOW", "600")
        .set("RATE_LIMIT_STORAGE", storage)
        .set("TRUSTED_PROXIES", "127.0.0.1")
        .set("ADMIN_API_TOKEN", TOKEN)
}

async fn account_lock_flow(app: TestApp) {
    let email = "victim@example.com";
    app.sign_up(email).await;
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let res = sign_in_from(&app, email, "wrong-password", ip).await;
        assert_eq!(res.code(), "INVALID_EMAIL_OR_PASSWORD");
    }
    // Locked: even the right password answers as a wrong one, from any address.
    let locked = sign_in_from(&app, email, PASSWORD, "198.51.100.4").await;
    assert_eq!(locked.status, 401);
    assert_eq!(locked.code(), "INVALID_EMAIL_OR_PASSWORD");
    // An unknown e-mail is locked the same way: a lock tells nothing about existence.
    for _ in 0..4 {
        sign_in_from(&app, "ghost@example.com", "wrong-password", "198.51.100.5").await;
    }
    let auth = format!("Bearer {TOKEN}");
    let list = app
        .send(
            app.http
                .get(format!("{}/api/admin/sign-in-locks", app.url))
                .header("authorization", &auth),
        )
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let emails: Vec<&str> = list.body["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ghost@example.com", "victim@example.com"]);
    assert_eq!(list.body["locks"][1]["failures"], 3);
    // An ordinary user may not see them.
    let cookie = app.user_cookie("someone@example.com").await;
    assert_eq!(
        app.get("/api/admin/sign-in-locks", Some(&cookie))
            .await
            .status,
        403
    );
    let cleared = app
        .send(
            app.http
                .delete(format!("{}/api/admin/sign-in-locks/{email}", app.url))
                .header("authorization", &auth),
        )
        .await;
    assert_eq!(cleared.body["cleared"], true);
    assert_eq!(
        sign_in_from(&app, email, PASSWORD, "198.51.100.4")
            .await
            .status,
        200
    );
    // The ghost's lock ends by itself after the window.
    app.clock.advance(time::Duration::seconds(601));
    let list = app
        .send(
            app.http
                .get(format!("{}/api/admin/sign-in-locks", app.url))
                .header("authorization", &auth),
        )
        .await;
    assert_eq!(list.body["locks"], json!([]));
}

both_stores!(
    failed_sign_ins_lock_an_account_across_addresses_in_the_database,
    locking("database"),
    |app| account_lock_flow(app)
);

both_stores!(
    failed_sign_ins_lock_an_account_across_addresses_in_memory,
    locking("memory"),
    |app| account_lock_flow(app)
);
