//! Issue 19's findings on the admin API, each on every store: the tenant rule (global admins
//! out of a tenant admin's reach, organisation-wide changes refused), tenant-scoped cleanup
//! history, case-insensitive roles, hostile input refused with 400 before any query, and
//! `Cache-Control: no-store`.

use super::support::*;
use crate::all_stores;
use serde_json::json;

fn ids(res: &crate::helpers::Res) -> Vec<String> {
    res.body["sessions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

all_stores!(
    tenant_admins_cannot_sign_out_a_global_admin_of_their_tenant,
    with_token(),
    |app| async move {
        let (_, ta_cookie) = signed_in(&app, "ta@example.com", "tenant-admin", Some("A")).await;
        let ta = Auth::Cookie(ta_cookie);
        // Global admins, one with the role in another letter case: both are out of reach.
        let root = user(&app, "root@example.com", "admin", Some("A")).await;
        let capital = user(&app, "capital@example.com", "user,Admin", Some("A")).await;
        let member = user(&app, "member@example.com", "user", Some("A")).await;
        let (root_s1, _) = session(&app, &root, S::fresh(&app)).await;
        let (root_s2, _) = session(&app, &root, S::fresh(&app)).await;
        let (cap_s, _) = session(&app, &capital, S::fresh(&app)).await;
        let (member_s, _) = session(&app, &member, S::fresh(&app)).await;

        let res = call(
            &app,
            "post",
            "/api/auth/admin/revoke-user-session",
            &ta,
            Some(json!({"sessionToken": format!("ref_{}", root_s1.id)})),
        )
        .await;
        assert_error(&res, 403, "revoke-user-session of a global admin");
        let res = call(
            &app,
            "delete",
            &format!("/api/admin/sessions/{}", root_s1.id),
            &ta,
            None,
        )
        .await;
        assert_error(&res, 404, "DELETE a global admin's session");
        for target in [&root, &capital] {
            let res = call(
                &app,
                "post",
                "/api/auth/admin/revoke-user-sessions",
                &ta,
                Some(json!({"userId": target.id})),
            )
            .await;
            assert_error(&res, 403, "revoke-user-sessions of a global admin");
        }
        // Bulk deletion by userId, and of everything in the tenant, spares the global admins.
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &ta,
            Some(json!({"userId": root.id})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(res.body["count"], 0);
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &ta,
            Some(json!({"all": true})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(res.body["count"], 1, "only the member's session");
        let left = all_session_ids(&app).await;
        for kept in [&root_s1.id, &root_s2.id, &cap_s.id] {
            assert!(left.contains(kept), "a global admin's session was deleted");
        }
        assert!(!left.contains(&member_s.id));

        // A global caller still reaches them.
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let res = call(
            &app,
            "delete",
            &format!("/api/admin/sessions/{}", root_s1.id),
            &svc,
            None,
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
    }
);

all_stores!(
    a_tenant_admin_cannot_hand_out_admin_in_any_letter_case,
    with_token(),
    |app| async move {
        let (_, ta_cookie) = signed_in(&app, "ta@example.com", "tenant-admin", Some("A")).await;
        let ta = Auth::Cookie(ta_cookie);
        let member = user(&app, "member@example.com", "user", Some("A")).await;
        for role in [
            json!(["tenant-admin", "Admin"]),
            json!("ADMIN"),
            json!(["user", "aDmIn"]),
        ] {
            let res = call(
                &app,
                "post",
                "/api/auth/admin/set-role",
                &ta,
                Some(json!({"userId": member.id, "role": role})),
            )
            .await;
            assert_error(&res, 403, &format!("set-role {role}"));
            assert_eq!(res.code(), "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE");
        }
        let stored = app.store().find_user(&member.id).await.unwrap().unwrap();
        assert_eq!(stored.role.as_deref(), Some("user"));
        // A user whose role is `Admin` is a global admin to sessionkeeper.
        let (_, cookie) = signed_in(&app, "cap@example.com", "Admin", None).await;
        let who = get(&app, "/api/admin/whoami", &Auth::Cookie(cookie)).await;
        assert_eq!(who.body["kind"], "admin", "{:?}", who.body);
    }
);

all_stores!(
    organization_tenant_admins_cannot_make_user_wide_changes,
    with_token().set("TENANT_SOURCE", "organization"),
    |app| async move {
        let org_admin = user(&app, "org-admin@example.com", "tenant-admin", None).await;
        let (_, cookie) = session(&app, &org_admin, S::fresh(&app).org("org-1")).await;
        let auth = Auth::Cookie(cookie);
        let member = user(&app, "member@example.com", "user", None).await;
        let (in_org1, _) = session(&app, &member, S::fresh(&app).org("org-1")).await;
        let (in_org2, _) = session(&app, &member, S::fresh(&app).org("org-2")).await;

        for (path, body) in [
            ("/api/auth/admin/ban-user", json!({"userId": member.id})),
            ("/api/auth/admin/unban-user", json!({"userId": member.id})),
            (
                "/api/auth/admin/set-role",
                json!({"userId": member.id, "role": "user"}),
            ),
            (
                "/api/auth/admin/set-user-password",
                json!({"userId": member.id, "newPassword": "another-password-123"}),
            ),
        ] {
            let res = call(&app, "post", path, &auth, Some(body)).await;
            assert_error(&res, 403, path);
        }
        let stored = app.store().find_user(&member.id).await.unwrap().unwrap();
        assert_ne!(stored.banned, Some(true), "the ban went through");
        // Ending the member's sessions stays within the organisation.
        let res = call(
            &app,
            "post",
            "/api/auth/admin/revoke-user-sessions",
            &auth,
            Some(json!({"userId": member.id})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let left = all_session_ids(&app).await;
        assert!(!left.contains(&in_org1.id));
        assert!(left.contains(&in_org2.id), "a session in org-2 was ended");
    }
);

all_stores!(
    tenant_admins_see_only_their_tenants_cleanup_runs,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let (_, ta_cookie) = signed_in(&app, "ta@example.com", "tenant-admin", Some("A")).await;
        let ta = Auth::Cookie(ta_cookie);
        let global = call(&app, "post", "/api/admin/sessions/cleanup", &svc, None).await;
        assert_eq!(global.status, 200, "{:?}", global.body);
        let own = call(&app, "post", "/api/admin/sessions/cleanup", &ta, None).await;
        assert_eq!(own.status, 200, "{:?}", own.body);
        assert_eq!(own.body["tenantId"], "A");

        let runs = get(&app, "/api/admin/sessions/cleanup/runs", &ta).await;
        assert_eq!(runs.status, 200, "{:?}", runs.body);
        let seen: Vec<&str> = runs.body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["runId"].as_str().unwrap())
            .collect();
        assert_eq!(
            seen,
            vec![own.body["runId"].as_str().unwrap()],
            "{:?}",
            runs.body
        );
        let all = get(&app, "/api/admin/sessions/cleanup/runs", &svc).await;
        assert_eq!(all.body["runs"].as_array().unwrap().len(), 2);

        let status = get(&app, "/api/admin/sessions/cleanup/status", &ta).await;
        assert_eq!(status.status, 200, "{:?}", status.body);
        assert!(status.body["lastRun"].is_null(), "{:?}", status.body);
        assert_eq!(status.body["totals"]["runs"], 0);
        let status = get(&app, "/api/admin/sessions/cleanup/status", &svc).await;
        assert_eq!(status.body["totals"]["runs"], 2);
    }
);

// Inputs that PostgreSQL refused with an error (NUL) or that misled every screen showing them
// (controls, a right-to-left override), and over-long names: 400 on every store.
all_stores!(
    hostile_text_is_refused_before_any_query,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let member = user(&app, "member@example.com", "user", Some("A")).await;
        for path in [
            "/api/admin/sessions?userId=a%00b".to_owned(),
            "/api/admin/sessions?ip=1.2.3.4%00".to_owned(),
            "/api/admin/sessions?userAgent=%07bell".to_owned(),
            "/api/admin/sessions?tenantId=A%00".to_owned(),
            "/api/admin/sessions/stats?tenantId=%E2%80%AEA".to_owned(),
            "/api/auth/admin/list-users?searchValue=a%00".to_owned(),
            "/api/auth/admin/list-users?filterField=name&filterValue=x%00".to_owned(),
        ] {
            let res = get(&app, &path, &svc).await;
            assert_error(&res, 400, &path);
        }
        let res = call(&app, "delete", "/api/admin/sessions/abc%00def", &svc, None).await;
        assert_error(&res, 400, "session id with NUL");
        for (method, path, body) in [
            (
                "delete",
                "/api/admin/sessions",
                json!({"sessionIds": ["ok", "bad\u{0}"]}),
            ),
            ("delete", "/api/admin/sessions", json!({"userId": "x\u{0}"})),
            (
                "post",
                "/api/auth/admin/ban-user",
                json!({"userId": member.id, "banReason": "spam\u{0}"}),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-sessions",
                json!({"userId": "a\u{0}"}),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-session",
                json!({"sessionToken": "tok\u{0}"}),
            ),
        ] {
            let res = call(&app, method, path, &svc, Some(body.clone())).await;
            assert_error(&res, 400, &format!("{method} {path} {body}"));
        }
        let res = call(
            &app,
            "delete",
            "/api/admin/sign-in-locks/a%00%40example.com",
            &svc,
            None,
        )
        .await;
        assert_error(&res, 400, "sign-in lock e-mail with NUL");

        // Sign-up and profile: e-mails and names with controls or overrides, and huge names.
        for (email, name) in [
            ("nul\u{0}@example.com", "Nul".to_owned()),
            ("bell\u{7}@example.com", "Bell".to_owned()),
            ("rlo\u{202E}moc.elpmaxe@example.com", "Rlo".to_owned()),
            ("ok1@example.com", "Name\u{0}".to_owned()),
            ("ok2@example.com", "evil\u{202E}gnp.exe".to_owned()),
            ("ok3@example.com", "x".repeat(60 * 1024 - 100)),
        ] {
            let res = app
                .post(
                    "/api/auth/sign-up/email",
                    None,
                    json!({"email": email, "name": name, "password": "a-good-password-1"}),
                )
                .await;
            assert!(
                (400..500).contains(&res.status) && res.status != 413,
                "{email:?}: {} {:?}",
                res.status,
                res.body
            );
            assert!(res.body["code"].is_string(), "{:?}", res.body);
        }
        let res = app
            .post(
                "/api/auth/sign-in/email",
                None,
                json!({"email": "nul\u{0}@example.com", "password": "a-good-password-1"}),
            )
            .await;
        assert_error(&res, 400, "sign-in with NUL in the e-mail");
        let cookie = app.user_cookie("profile@example.com").await;
        let res = app
            .post(
                "/api/auth/update-user",
                Some(&cookie),
                json!({"name": "bad\u{0}name"}),
            )
            .await;
        assert_error(&res, 400, "update-user with NUL in the name");
        // None of it reached the database as an error.
        let ready = app.get("/readyz", None).await;
        assert_eq!(ready.status, 200);
    }
);

// Timestamps whose UTC form is beyond year 9999 overflowed in `timefmt.rs` (a 500).
all_stores!(
    far_future_timestamps_are_a_400_not_a_panic,
    with_token(),
    |app| async move {
        use base64::Engine;
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode("v1|9999-12-31T23:59:59-01:00|abc");
        for path in [
        "/api/admin/sessions?createdFrom=9999-12-31T23:59:59-01:00".to_owned(),
        "/api/admin/sessions?lastUsedTo=9999-12-31T23:30:00-00:45".to_owned(),
        format!("/api/admin/sessions?cursor={cursor}"),
        format!("/api/admin/audit?cursor={cursor}"),
        format!("/api/admin/sessions/cleanup/runs?cursor={cursor}"),
        "/api/auth/admin/list-users?filterField=createdAt&filterOperator=lt&filterValue=9999-12-31T23:59:59-01:00".to_owned(),
    ] {
        let res = get(&app, &path, &svc).await;
        assert_error(&res, 400, &path);
    }
        // The last instant that fits is still accepted.
        let res = get(
            &app,
            "/api/admin/sessions?createdFrom=9999-12-31T23:59:59Z",
            &svc,
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert!(ids(&res).is_empty());
    }
);

all_stores!(
    admin_answers_are_never_cached,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        for (method, path, auth) in [
            ("get", "/api/admin/sessions", svc.clone()),
            ("get", "/api/admin/sessions/stats", svc.clone()),
            ("get", "/api/auth/admin/list-users", svc.clone()),
            ("get", "/api/admin/audit", svc.clone()),
            ("get", "/api/admin/sessions", Auth::None),
        ] {
            let res = call(&app, method, path, &auth, None).await;
            assert_eq!(
                res.headers
                    .get("cache-control")
                    .and_then(|v| v.to_str().ok()),
                Some("no-store"),
                "{method} {path} {}",
                res.status
            );
        }
    }
);
