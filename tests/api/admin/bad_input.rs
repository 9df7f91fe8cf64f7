//! Bad input on every admin endpoint gets a 4xx with `{message, code}` and changes nothing.

use super::support::*;
use crate::all_stores;
use serde_json::{Value, json};

enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

all_stores!(
    bad_input_is_refused_and_changes_nothing,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let (admin, admin_cookie) = signed_in(&app, "root@example.com", "admin", None).await;
        let target = user(&app, "target@example.com", "user", Some("A")).await;
        let (s, _) = session(&app, &target, S::fresh(&app)).await;
        let t = target.id.as_str();
        let huge = format!("{{\"userId\": \"{}\"}}", "x".repeat(100 * 1024)).into_bytes();
        let malformed = b"{\"userId\": ".to_vec();
        let many_ids: Vec<String> = (0..1001).map(|i| format!("id{i}")).collect();
        let junk_cursor = "djF8bm90LWEtZGF0ZXxpZA"; // base64url("v1|not-a-date|id")
        let cases: Vec<(&str, String, Body)> = vec![
            (
                "get",
                "/api/admin/sessions/stats?tenantId=".into(),
                Body::None,
            ),
            (
                "get",
                "/api/admin/sessions/stats?bogus=1".into(),
                Body::None,
            ),
            ("get", "/api/admin/sessions?limit=-1".into(), Body::None),
            ("get", "/api/admin/sessions?limit=abc".into(), Body::None),
            ("get", "/api/admin/sessions?limit=0".into(), Body::None),
            (
                "get",
                "/api/admin/sessions?limit=99999999999".into(),
                Body::None,
            ),
            (
                "get",
                "/api/admin/sessions?status=zombie".into(),
                Body::None,
            ),
            ("get", "/api/admin/sessions?cursor=!!!".into(), Body::None),
            (
                "get",
                format!("/api/admin/sessions?cursor={junk_cursor}"),
                Body::None,
            ),
            (
                "get",
                "/api/admin/sessions?createdFrom=yesterday".into(),
                Body::None,
            ),
            (
                "get",
                "/api/admin/sessions?lastUsedTo=2026-13-45T00:00:00Z".into(),
                Body::None,
            ),
            ("get", "/api/admin/sessions?userId=".into(), Body::None),
            ("get", "/api/admin/sessions?foo=bar".into(), Body::None),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"olderThanDays": -1})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"olderThanDays": "7"})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"olderThanDays": 99_999_999})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"inactiveDays": 0})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"inactiveDays": 1.5})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"sessionIds": []})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"sessionIds": s.id})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"sessionIds": [1, 2]})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"sessionIds": many_ids})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"sessionIds": [""]})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"userId": t, "bogus": true})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"userId": ""})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"all": "yes"})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!({"expiredOnly": 1})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!([t])),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Json(json!("everything")),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Raw(malformed.clone()),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                Body::Raw(huge.clone()),
            ),
            (
                "delete",
                format!("/api/admin/sessions/{}", "x".repeat(200)),
                Body::None,
            ),
            ("get", "/api/admin/audit?limit=0".into(), Body::None),
            ("get", "/api/admin/audit?limit=x".into(), Body::None),
            ("get", "/api/admin/audit?cursor=zzz".into(), Body::None),
            ("get", "/api/admin/audit?foo=1".into(), Body::None),
            (
                "get",
                "/api/auth/admin/list-users?limit=-5".into(),
                Body::None,
            ),
            (
                "get",
                "/api/auth/admin/list-users?limit=abc".into(),
                Body::None,
            ),
            (
                "get",
                "/api/auth/admin/list-users?offset=-1".into(),
                Body::None,
            ),
            (
                "get",
                "/api/auth/admin/list-users?sortBy=password".into(),
                Body::None,
            ),
            (
                "get",
                "/api/auth/admin/list-users?searchValue=a&searchField=password".into(),
                Body::None,
            ),
            (
                "get",
                "/api/auth/admin/list-users?filterField=banned&filterValue=maybe".into(),
                Body::None,
            ),
            ("get", "/api/auth/admin/list-users?foo=1".into(), Body::None),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                Body::Json(json!({})),
            ),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                Body::Json(json!({"userId": 5})),
            ),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                Body::Json(json!({"userId": t, "extra": 1})),
            ),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                Body::Raw(malformed.clone()),
            ),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                Body::Raw(huge.clone()),
            ),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                Body::None,
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-session".into(),
                Body::Json(json!({})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-session".into(),
                Body::Json(json!({"sessionToken": 5})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-session".into(),
                Body::Json(json!({"sessionToken": ""})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-session".into(),
                Body::Json(json!({"token": format!("ref_{}", s.id)})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-sessions".into(),
                Body::Json(json!({"userId": ""})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-sessions".into(),
                Body::Json(json!({"userId": null})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-sessions".into(),
                Body::Raw(malformed.clone()),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                Body::Json(json!({"userId": t, "banExpiresIn": -5})),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                Body::Json(json!({"userId": t, "banExpiresIn": 1e20})),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                Body::Json(json!({"userId": t, "banExpiresIn": "soon"})),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                Body::Json(json!({"userId": t, "banReason": 5})),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                Body::Json(json!({"userId": t, "forever": true})),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                Body::Raw(huge.clone()),
            ),
            (
                "post",
                "/api/auth/admin/unban-user".into(),
                Body::Json(json!({"userId": [1]})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                Body::Json(json!({"userId": t, "role": ""})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                Body::Json(json!({"userId": t, "role": []})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                Body::Json(json!({"userId": t, "role": "a,admin"})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                Body::Json(json!({"userId": t, "role": 5})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                Body::Json(json!({"userId": t})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                Body::Json(json!({"userId": t, "role": "admin", "x": 1})),
            ),
        ];
        let before = all_session_ids(&app).await;
        for auth in [&svc, &Auth::Cookie(admin_cookie.clone())] {
            for (method, path, body) in &cases {
                let res = match body {
                    Body::None => call(&app, method, path, auth, None).await,
                    Body::Json(v) => call(&app, method, path, auth, Some(v.clone())).await,
                    Body::Raw(bytes) => call_raw(&app, method, path, auth, bytes.clone()).await,
                };
                let ctx = format!(
                    "{method} {} {}",
                    &path[..path.len().min(80)],
                    match body {
                        Body::Json(v) => v.to_string().chars().take(80).collect::<String>(),
                        Body::Raw(b) => format!("<{} raw bytes>", b.len()),
                        Body::None => String::new(),
                    }
                );
                assert!(
                    (400..500).contains(&res.status),
                    "{ctx}: {} {:?}",
                    res.status,
                    res.body
                );
                assert_error(&res, res.status, &ctx);
                if matches!(body, Body::Raw(b) if b.len() > 64 * 1024) {
                    assert_eq!(
                        (res.status, res.code()),
                        (413, "PAYLOAD_TOO_LARGE"),
                        "{ctx}"
                    );
                } else if *method == "post" && matches!(body, Body::None) {
                    // As on every Better Auth route: a POST without a JSON body.
                    assert_eq!(
                        (res.status, res.code()),
                        (415, "UNSUPPORTED_MEDIA_TYPE"),
                        "{ctx}"
                    );
                } else {
                    assert_eq!(res.status, 400, "{ctx}: {:?}", res.body);
                }
            }
        }
        assert_eq!(
            all_session_ids(&app).await,
            before,
            "no session was deleted"
        );
        let t_after = app.store().find_user(t).await.unwrap().unwrap();
        assert_eq!(
            (t_after.role.as_deref(), t_after.banned),
            (Some("user"), Some(false))
        );
        let a_after = app.store().find_user(&admin.id).await.unwrap().unwrap();
        assert_eq!(a_after.role.as_deref(), Some("admin"));
        let audit = get(&app, "/api/admin/audit", &svc).await;
        assert_eq!(audit.body["entries"], json!([]), "nothing was recorded");
    }
);
