//! Better Auth's admin plugin routes: shapes and codes of docs/better-auth-compat.md §4.2.

use super::support::*;
use crate::all_stores;
use crate::helpers::PASSWORD;
use serde_json::json;
use time::Duration;

fn emails(res: &crate::helpers::Res) -> Vec<String> {
    res.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect()
}

all_stores!(
    list_users_searches_filters_sorts_and_pages,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        for (i, (email, role)) in [
            ("ada@example.com", "user"),
            ("bob@example.org", "admin"),
            ("carol@example.com", "user"),
            ("dan@test.io", "user,tenant-admin"),
        ]
        .iter()
        .enumerate()
        {
            user(&app, email, role, None).await;
            app.clock.advance(Duration::seconds(i as i64 + 1));
        }
        let all = get(&app, "/api/auth/admin/list-users", &svc).await;
        assert_eq!(all.status, 200, "{:?}", all.body);
        assert_eq!(
            emails(&all),
            vec![
                "ada@example.com",
                "bob@example.org",
                "carol@example.com",
                "dan@test.io"
            ]
        );
        assert_eq!(all.body["total"], 4);
        assert!(
            all.body.get("limit").is_none() && all.body.get("offset").is_none(),
            "omitted when not given"
        );
        let u = &all.body["users"][0];
        let keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "name",
                "email",
                "emailVerified",
                "image",
                "createdAt",
                "updatedAt",
                "role",
                "banned",
                "banReason",
                "banExpires",
                "id"
            ]
        );
        let cases = vec![
            (
                "searchValue=EXAMPLE.COM",
                vec!["ada@example.com", "carol@example.com"],
            ),
            (
                "searchValue=bo&searchOperator=starts_with",
                vec!["bob@example.org"],
            ),
            (
                "searchValue=.io&searchOperator=ends_with",
                vec!["dan@test.io"],
            ),
            (
                "searchValue=of%20carol&searchField=name",
                vec!["carol@example.com"],
            ),
            (
                "filterField=role&filterValue=admin",
                vec!["bob@example.org"],
            ),
            (
                "filterField=role&filterValue=admin&filterOperator=contains",
                vec!["bob@example.org", "dan@test.io"],
            ),
            (
                "filterField=role&filterValue=user&filterOperator=ne",
                vec!["bob@example.org", "dan@test.io"],
            ),
            (
                "filterField=banned&filterValue=false",
                vec![
                    "ada@example.com",
                    "bob@example.org",
                    "carol@example.com",
                    "dan@test.io",
                ],
            ),
            (
                "sortBy=email&sortDirection=desc",
                vec![
                    "dan@test.io",
                    "carol@example.com",
                    "bob@example.org",
                    "ada@example.com",
                ],
            ),
            (
                "sortBy=createdAt&sortDirection=desc&limit=2&offset=1",
                vec!["carol@example.com", "bob@example.org"],
            ),
        ];
        for (query, want) in cases {
            let res = get(&app, &format!("/api/auth/admin/list-users?{query}"), &svc).await;
            assert_eq!(res.status, 200, "{query}: {:?}", res.body);
            assert_eq!(emails(&res), want, "{query}");
        }
        let paged = get(&app, "/api/auth/admin/list-users?limit=2&offset=1", &svc).await;
        assert_eq!(
            (
                paged.body["limit"].as_u64(),
                paged.body["offset"].as_u64(),
                paged.body["total"].as_u64()
            ),
            (Some(2), Some(1), Some(4))
        );
    }
);

all_stores!(
    user_sessions_show_handles_never_tokens,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let owner = user(&app, "owner@example.com", "user", None).await;
        let now = app.clock_now();
        let (live, cookie) = session(&app, &owner, S::fresh(&app)).await;
        let (expired, _) = session(
            &app,
            &owner,
            S::fresh(&app)
                .created(now - Duration::days(9))
                .expires(now - Duration::days(1)),
        )
        .await;
        let res = call(
            &app,
            "post",
            "/api/auth/admin/list-user-sessions",
            &svc,
            Some(json!({"userId": owner.id})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let sessions = res.body["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 2, "expired sessions are included");
        let keys: Vec<&str> = sessions[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            vec![
                "expiresAt",
                "token",
                "createdAt",
                "updatedAt",
                "ipAddress",
                "userAgent",
                "userId",
                "impersonatedBy",
                "id"
            ]
        );
        for s in sessions {
            assert_eq!(s["token"], format!("ref_{}", s["id"].as_str().unwrap()));
        }
        let raw = cookie
            .split('=')
            .nth(1)
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        assert_no_secret(&res.body, &[live.token.clone(), expired.token.clone(), raw]);

        let res = call(
            &app,
            "post",
            "/api/auth/admin/revoke-user-session",
            &svc,
            Some(json!({"sessionToken": format!("ref_{}", live.id)})),
        )
        .await;
        assert_eq!(res.body, json!({"success": true}));
        assert_eq!(
            app.get("/api/auth/get-session", Some(&cookie)).await.body,
            serde_json::Value::Null
        );
        // Better Auth answers success for a session that is not there.
        let res = call(
            &app,
            "post",
            "/api/auth/admin/revoke-user-session",
            &svc,
            Some(json!({"sessionToken": "ref_nothing"})),
        )
        .await;
        assert_eq!(
            (res.status, res.body.clone()),
            (200, json!({"success": true}))
        );
        let res = call(
            &app,
            "post",
            "/api/auth/admin/revoke-user-sessions",
            &svc,
            Some(json!({"userId": owner.id})),
        )
        .await;
        assert_eq!(res.body, json!({"success": true}));
        assert!(
            app.store()
                .list_user_sessions(&owner.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let missing = call(
            &app,
            "post",
            "/api/auth/admin/list-user-sessions",
            &svc,
            Some(json!({"userId": "nobody"})),
        )
        .await;
        assert_error(&missing, 404, "unknown user");
        assert_eq!(missing.code(), "USER_NOT_FOUND");
    }
);

all_stores!(
    ban_deletes_sessions_and_blocks_sign_in_until_unbanned,
    with_token(),
    |app| async move {
        let (root, root_cookie) = signed_in(&app, "root@example.com", "admin", None).await;
        let auth = Auth::Cookie(root_cookie);
        let up = app.sign_up("victim@example.com").await;
        let victim_id = up.body["user"]["id"].as_str().unwrap().to_string();
        let victim_cookie = up.session_cookie().unwrap();

        let res = call(
            &app,
            "post",
            "/api/auth/admin/ban-user",
            &auth,
            Some(json!({"userId": victim_id, "banExpiresIn": 3600})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let u = &res.body["user"];
        assert_eq!(
            (u["banned"].as_bool(), u["banReason"].as_str()),
            (Some(true), Some("No reason"))
        );
        let want = sessionkeeper::domain::timefmt::format(app.clock_now() + Duration::hours(1));
        assert_eq!(u["banExpires"], want);
        assert_eq!(
            app.get("/api/auth/get-session", Some(&victim_cookie))
                .await
                .body,
            serde_json::Value::Null
        );
        let denied = app
            .post(
                "/api/auth/sign-in/email",
                None,
                json!({"email": "victim@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!((denied.status, denied.code()), (403, "BANNED_USER"));

        app.clock.advance(Duration::seconds(1));
        let res = call(
            &app,
            "post",
            "/api/auth/admin/unban-user",
            &auth,
            Some(json!({"userId": victim_id})),
        )
        .await;
        assert_eq!(res.body["user"]["banned"], false);
        assert_eq!(res.body["user"]["banReason"], serde_json::Value::Null);
        assert_eq!(res.body["user"]["banExpires"], serde_json::Value::Null);
        app.sign_in("victim@example.com").await;

        let me = call(
            &app,
            "post",
            "/api/auth/admin/ban-user",
            &auth,
            Some(json!({"userId": root.id})),
        )
        .await;
        assert_error(&me, 400, "ban yourself");
        assert_eq!(me.code(), "YOU_CANNOT_BAN_YOURSELF");

        let actions: Vec<String> = get(&app, "/api/admin/audit", &auth).await.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["action"].as_str().unwrap(),
                    e["target"].as_str().unwrap(),
                    e["count"]
                )
            })
            .collect();
        assert_eq!(
            actions,
            vec![
                format!("user.unban user:{victim_id} 1"),
                format!("user.ban user:{victim_id} 1")
            ]
        );
    }
);

all_stores!(
    set_role_takes_a_string_or_a_list,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let target = user(&app, "t@example.com", "user", Some("A")).await;
        let res = call(
            &app,
            "post",
            "/api/auth/admin/set-role",
            &svc,
            Some(json!({"userId": target.id, "role": "tenant-admin"})),
        )
        .await;
        assert_eq!(res.body["user"]["role"], "tenant-admin");
        let res = call(
            &app,
            "post",
            "/api/auth/admin/set-role",
            &svc,
            Some(json!({"userId": target.id, "role": ["user", "admin"]})),
        )
        .await;
        assert_eq!(res.body["user"]["role"], "user,admin");
        assert_eq!(
            app.store()
                .find_user(&target.id)
                .await
                .unwrap()
                .unwrap()
                .role
                .as_deref(),
            Some("user,admin")
        );
        let missing = call(
            &app,
            "post",
            "/api/auth/admin/set-role",
            &svc,
            Some(json!({"userId": "nobody", "role": "user"})),
        )
        .await;
        assert_error(&missing, 404, "unknown user");
        // A tenant admin may promote within their tenant, but not to admin.
        let (_, ta) = signed_in(&app, "ta@example.com", "tenant-admin", Some("A")).await;
        let peer = user(&app, "peer@example.com", "user", Some("A")).await;
        app.clock.advance(Duration::seconds(1));
        let ok = call(
            &app,
            "post",
            "/api/auth/admin/set-role",
            &Auth::Cookie(ta),
            Some(json!({"userId": peer.id, "role": "tenant-admin"})),
        )
        .await;
        assert_eq!(ok.body["user"]["role"], "tenant-admin");
        let audit = get(&app, "/api/admin/audit", &svc).await;
        assert_eq!(
            audit.body["entries"][0]["criteria"],
            json!({"role": "tenant-admin"})
        );
    }
);
