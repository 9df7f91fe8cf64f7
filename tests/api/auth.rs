//! Better Auth's auth routes, over real HTTP, on both stores. Expected shapes and codes are
//! those measured in docs/better-auth-compat.md (section numbers cited).

use crate::all_stores;
use crate::helpers::*;
use serde_json::json;
use time::Duration;

all_stores!(sign_up_sign_in_get_session_sign_out, |app| async move {
    let up = app.sign_up("Ada@Example.com").await;
    // §4.1: e-mail lowercased; token and user in the body; cookie + set-auth-token (§2.5).
    assert_eq!(up.body["user"]["email"], "ada@example.com");
    assert_eq!(up.body["user"]["role"], "user");
    assert_eq!(up.body["user"]["banned"], false);
    let token = up.body["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    let bearer = up.auth_token().unwrap();
    assert!(bearer.starts_with(&format!("{token}.")));
    let cookie_line = up
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("better-auth.session_token="))
        .unwrap();
    assert!(
        cookie_line.ends_with("; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie_line}"
    );

    let inn = app.sign_in("ada@example.com").await;
    assert_eq!(inn.body["redirect"], false);
    let cookie = inn.session_cookie().unwrap();

    let s = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.headers["cache-control"], "no-store");
    assert_eq!(s.body["user"]["email"], "ada@example.com");
    assert_eq!(s.body["session"]["token"], inn.body["token"]);
    assert_eq!(s.body["session"]["ipAddress"], "127.0.0.1");
    assert!(s.set_cookies().is_empty(), "no refresh due yet");

    // Owned mode stores only a hash of the token (never the token itself).
    let row = app
        .store()
        .find_session_by_id(s.body["session"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.token, inn.body["token"].as_str().unwrap());
    assert_eq!(row.token.len(), 64);

    let out = app
        .post("/api/auth/sign-out", Some(&cookie), json!({}))
        .await;
    assert_eq!(out.status, 200);
    assert_eq!(out.body, json!({"success": true}));
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("better-auth.session_token=; Max-Age=0"))
    );
    let after = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert_eq!(after.body, serde_json::Value::Null);
});

all_stores!(
    bearer_tokens_work_raw_signed_and_encoded,
    |app| async move {
        let up = app.sign_up("bearer@example.com").await;
        let raw = up.body["token"].as_str().unwrap().to_string();
        let signed = up.auth_token().unwrap();
        let encoded = signed
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        for value in [raw.as_str(), signed.as_str(), encoded.as_str()] {
            let res = app
                .send(
                    app.http
                        .get(format!("{}/api/auth/get-session", app.url))
                        .bearer_auth(value),
                )
                .await;
            assert_eq!(
                res.body["user"]["email"], "bearer@example.com",
                "bearer {value}"
            );
        }
        // §2.5: an invalid bearer is ignored, not an error.
        let forged = format!("{raw}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        let res = app
            .send(
                app.http
                    .get(format!("{}/api/auth/get-session", app.url))
                    .bearer_auth(forged),
            )
            .await;
        assert_eq!(
            (res.status, res.body.clone()),
            (200, serde_json::Value::Null)
        );
    }
);

all_stores!(sliding_refresh_follows_update_age, |app| async move {
    let cookie = app.user_cookie("slide@example.com").await;
    let before = app.get("/api/auth/get-session", Some(&cookie)).await;
    let expires0 = before.body["session"]["expiresAt"]
        .as_str()
        .unwrap()
        .to_string();

    // §3.3 rule 7: refresh once expiresAt - expiresIn + updateAge <= now.
    app.clock.advance(Duration::days(1) - Duration::seconds(1));
    let early = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert_eq!(early.body["session"]["expiresAt"], expires0.as_str());
    assert!(early.set_cookies().is_empty());

    app.clock.advance(Duration::seconds(1));
    let due = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert_ne!(due.body["session"]["expiresAt"], expires0.as_str());
    assert!(
        due.session_cookie().is_some(),
        "refresh re-sends the cookie"
    );
    assert!(due.auth_token().is_some());
    let expected = sessionkeeper::domain::timefmt::format(app.clock_now() + Duration::days(7));
    assert_eq!(due.body["session"]["expiresAt"], expected.as_str());
    assert_eq!(
        due.body["session"]["updatedAt"],
        sessionkeeper::domain::timefmt::format(app.clock_now()).as_str()
    );

    // A second check right after does not write again.
    let again = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert!(again.set_cookies().is_empty());
});

all_stores!(
    expired_session_is_deleted_when_presented,
    |app| async move {
        let cookie = app.user_cookie("expired@example.com").await;
        let s = app.get("/api/auth/get-session", Some(&cookie)).await;
        let id = s.body["session"]["id"].as_str().unwrap().to_string();
        app.clock.advance(Duration::days(8));
        let res = app.get("/api/auth/get-session", Some(&cookie)).await;
        assert_eq!(res.body, serde_json::Value::Null);
        assert!(
            res.set_cookies()
                .iter()
                .any(|c| c.starts_with("better-auth.session_token=; Max-Age=0"))
        );
        assert!(
            app.store().find_session_by_id(&id).await.unwrap().is_none(),
            "§3.3 step 5: row deleted"
        );
    }
);

all_stores!(
    remember_me_false_is_a_fixed_one_day_session,
    |app| async move {
        app.sign_up("forget@example.com").await;
        let body =
            json!({"email": "forget@example.com", "password": PASSWORD, "rememberMe": false});
        let res = app.post("/api/auth/sign-in/email", None, body).await;
        let cookies = res.set_cookies();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("better-auth.session_token="))
            .unwrap();
        assert!(
            !session.contains("Max-Age"),
            "browser-session cookie: {session}"
        );
        let dont = cookies
            .iter()
            .find(|c| c.starts_with("better-auth.dont_remember="))
            .unwrap();
        assert!(dont.starts_with("better-auth.dont_remember=true."));
        let cookie = format!(
            "{}; {}",
            res.session_cookie().unwrap(),
            dont.split(';').next().unwrap()
        );
        let s = app.get("/api/auth/get-session", Some(&cookie)).await;
        let created =
            sessionkeeper::domain::timefmt::parse(s.body["session"]["createdAt"].as_str().unwrap())
                .unwrap();
        let expires =
            sessionkeeper::domain::timefmt::parse(s.body["session"]["expiresAt"].as_str().unwrap())
                .unwrap();
        assert_eq!(expires - created, Duration::days(1));
        app.clock.advance(Duration::hours(23));
        let later = app.get("/api/auth/get-session", Some(&cookie)).await;
        assert_eq!(
            later.body["session"]["expiresAt"], s.body["session"]["expiresAt"],
            "never slides"
        );
    }
);

all_stores!(list_and_revoke_sessions, |app| async move {
    let c1 = app.user_cookie("multi@example.com").await;
    let c2 = app
        .sign_in("multi@example.com")
        .await
        .session_cookie()
        .unwrap();
    let c3 = app
        .sign_in("multi@example.com")
        .await
        .session_cookie()
        .unwrap();
    let own_token =
        app.get("/api/auth/get-session", Some(&c1)).await.body["session"]["token"].clone();

    let list = app.get("/api/auth/list-sessions", Some(&c1)).await;
    let items = list.body.as_array().unwrap();
    assert_eq!(items.len(), 3);
    // Own session shows its raw token; others an opaque handle, never a stored hash.
    let own = items.iter().find(|s| s["token"] == own_token).unwrap();
    assert_eq!(own["userId"], list.body[0]["userId"]);
    let others: Vec<&str> = items
        .iter()
        .filter(|s| s["token"] != own_token)
        .map(|s| s["token"].as_str().unwrap())
        .collect();
    assert_eq!(others.len(), 2);
    for t in &others {
        assert!(t.starts_with("ref_"), "{t}");
    }

    // revoke-session accepts the handle (the client's revokeSession passes `token` back).
    let r = app
        .post(
            "/api/auth/revoke-session",
            Some(&c1),
            json!({"token": others[0]}),
        )
        .await;
    assert_eq!(r.body, json!({"status": true}));
    assert_eq!(
        app.get("/api/auth/list-sessions", Some(&c1))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Someone else's or unknown token: still {status:true}, nothing deleted (§4.1).
    let r = app
        .post(
            "/api/auth/revoke-session",
            Some(&c1),
            json!({"token": "nonexistent"}),
        )
        .await;
    assert_eq!(r.body, json!({"status": true}));

    let r = app
        .post("/api/auth/revoke-other-sessions", Some(&c1), json!({}))
        .await;
    assert_eq!(r.body, json!({"status": true}));
    assert_eq!(
        app.get("/api/auth/get-session", Some(&c2)).await.body,
        serde_json::Value::Null
    );
    assert_eq!(
        app.get("/api/auth/get-session", Some(&c3)).await.body,
        serde_json::Value::Null
    );
    assert_eq!(
        app.get("/api/auth/list-sessions", Some(&c1))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let r = app
        .post("/api/auth/revoke-sessions", Some(&c1), json!({}))
        .await;
    assert_eq!(r.body, json!({"status": true}));
    assert_eq!(
        app.get("/api/auth/get-session", Some(&c1)).await.body,
        serde_json::Value::Null
    );
});

all_stores!(list_sessions_requires_a_fresh_session, |app| async move {
    let cookie = app.user_cookie("fresh@example.com").await;
    app.clock.advance(Duration::days(1));
    let res = app.get("/api/auth/list-sessions", Some(&cookie)).await;
    assert_eq!((res.status, res.code()), (403, "SESSION_NOT_FRESH"));
});

all_stores!(update_user_changes_name_but_not_email, |app| async move {
    let cookie = app.user_cookie("update@example.com").await;
    let r = app
        .post(
            "/api/auth/update-user",
            Some(&cookie),
            json!({"name": "New Name", "image": "https://img.example/a.png"}),
        )
        .await;
    assert_eq!(r.body, json!({"status": true}));
    let s = app.get("/api/auth/get-session", Some(&cookie)).await;
    assert_eq!(s.body["user"]["name"], "New Name");
    assert_eq!(s.body["user"]["image"], "https://img.example/a.png");
    let r = app
        .post(
            "/api/auth/update-user",
            Some(&cookie),
            json!({"email": "x@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "EMAIL_CAN_NOT_BE_UPDATED"));
});

all_stores!(errors_use_better_auth_codes, |app| async move {
    app.sign_up("dup@example.com").await;
    let body = json!({"name": "X", "email": "dup@example.com", "password": PASSWORD});
    let r = app.post("/api/auth/sign-up/email", None, body).await;
    assert_eq!(
        (r.status, r.code()),
        (422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    );
    let r = app
        .post(
            "/api/auth/sign-in/email",
            None,
            json!({"email": "dup@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "INVALID_EMAIL_OR_PASSWORD"));
    let r = app
        .post(
            "/api/auth/sign-in/email",
            None,
            json!({"email": "nobody@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "INVALID_EMAIL_OR_PASSWORD"));
    let r = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "X", "email": "short@example.com", "password": "short"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_SHORT"));
    let long = "x".repeat(129);
    let r = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "X", "email": "long@example.com", "password": long}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_LONG"));
    let r = app
        .post(
            "/api/auth/sign-up/email",
            None,
            json!({"name": "X", "email": "not-an-email", "password": PASSWORD}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "INVALID_EMAIL"));
    let r = app
        .post(
            "/api/auth/sign-in/email",
            None,
            json!({"email": "dup@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"));
    let r = app
        .post(
            "/api/auth/sign-in/email",
            None,
            json!({"email": 5, "password": PASSWORD}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"));
    let r = app
        .send(
            app.http
                .post(format!("{}/api/auth/sign-in/email", app.url))
                .header("content-type", "application/json")
                .body("{\"email\":"),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"));
    let huge = "x".repeat(200 * 1024);
    // The server answers 413 without reading the body and closes the connection; asking for
    // no reuse keeps the client from sending the next request down that closing connection
    // (a broken pipe under load).
    let r = app
        .send(
            app.http
                .post(format!("{}/api/auth/sign-in/email", app.url))
                .header("origin", BASE_URL)
                .header("connection", "close")
                .json(&json!({"email": huge, "password": PASSWORD})),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "PAYLOAD_TOO_LARGE"));
    let r = app.get("/api/auth/list-sessions", None).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    let r = app.post("/api/auth/get-session", None, json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (405, "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED")
    );
    let r = app.get("/api/nope", None).await;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND"));
    assert_eq!(
        app.get("/api/auth/ok", None).await.body,
        json!({"ok": true})
    );
});

all_stores!(origin_check_guards_cookie_requests, |app| async move {
    let cookie = app.user_cookie("origin@example.com").await;
    let url = format!("{}/api/auth/revoke-other-sessions", app.url);
    let r = app
        .send(
            app.http
                .post(&url)
                .header("cookie", &cookie)
                .json(&json!({})),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "MISSING_OR_NULL_ORIGIN"));
    let r = app
        .send(
            app.http
                .post(&url)
                .header("cookie", &cookie)
                .header("origin", "https://evil.example")
                .json(&json!({})),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "INVALID_ORIGIN"));
    let r = app
        .send(
            app.http
                .post(&url)
                .header("cookie", &cookie)
                .header("referer", "http://localhost:3001/settings")
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 200);
    // Sign-in from a browser context (Sec-Fetch-*) needs an Origin even without a cookie.
    let body = json!({"email": "origin@example.com", "password": PASSWORD});
    let r = app
        .send(
            app.http
                .post(format!("{}/api/auth/sign-in/email", app.url))
                .header("sec-fetch-mode", "cors")
                .json(&body),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "MISSING_OR_NULL_ORIGIN"));
    // curl-like clients without browser hints are not checked.
    let r = app
        .send(
            app.http
                .post(format!("{}/api/auth/sign-in/email", app.url))
                .json(&body),
        )
        .await;
    assert_eq!(r.status, 200);
});

all_stores!(
    forwarded_for_is_ignored_from_untrusted_peers,
    |app| async move {
        app.sign_up("ip@example.com").await;
        let body = json!({"email": "ip@example.com", "password": PASSWORD});
        let r = app
            .send(
                app.http
                    .post(format!("{}/api/auth/sign-in/email", app.url))
                    .header("x-forwarded-for", "203.0.113.9")
                    .json(&body),
            )
            .await;
        let cookie = r.session_cookie().unwrap();
        let s = app.get("/api/auth/get-session", Some(&cookie)).await;
        assert_eq!(s.body["session"]["ipAddress"], "127.0.0.1");
    }
);

all_stores!(
    forwarded_for_is_honoured_from_trusted_proxies,
    Settings::new().set("TRUSTED_PROXIES", "127.0.0.1"),
    |app| async move {
        app.sign_up("proxied@example.com").await;
        let body = json!({"email": "proxied@example.com", "password": PASSWORD});
        let r = app
            .send(
                app.http
                    .post(format!("{}/api/auth/sign-in/email", app.url))
                    .header("x-forwarded-for", "2001:db8:abcd:12:3456::1")
                    .header("user-agent", "TestUA/2.0")
                    .json(&body),
            )
            .await;
        let s = app
            .get("/api/auth/get-session", Some(&r.session_cookie().unwrap()))
            .await;
        assert_eq!(
            s.body["session"]["ipAddress"],
            "2001:0db8:abcd:0012:0000:0000:0000:0000"
        );
        assert_eq!(s.body["session"]["userAgent"], "TestUA/2.0");
    }
);
