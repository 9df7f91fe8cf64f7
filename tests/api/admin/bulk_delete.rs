//! `DELETE /api/admin/sessions` and `DELETE /api/admin/sessions/{id}`.

use super::support::*;
use crate::all_stores;
use serde_json::json;
use time::Duration;

all_stores!(
    each_criterion_and_their_conjunction,
    with_token(),
    |app| async move {
        let now = app.clock_now();
        let t = |d: i64| now - Duration::days(d);
        let (_, admin_cookie) = signed_in(&app, "root@example.com", "admin", None).await;
        let auth = Auth::Cookie(admin_cookie);
        let alice = user(&app, "alice@example.com", "user", Some("A")).await;
        let bob = user(&app, "bob@example.com", "user", Some("B")).await;
        let (old, _) = session(&app, &alice, S::fresh(&app).created(t(100)).used(t(1))).await;
        let (idle, _) = session(&app, &alice, S::fresh(&app).created(t(5)).used(t(45))).await;
        let (gone, _) = session(
            &app,
            &bob,
            S::fresh(&app).created(t(9)).used(t(9)).expires(t(2)),
        )
        .await;
        let (ip, _) = session(&app, &bob, S::fresh(&app).ip("192.0.2.55")).await;
        let (agent, _) = session(&app, &bob, S::fresh(&app).ua("PostmanRuntime/7.43")).await;
        let (plain, _) = session(&app, &alice, S::fresh(&app)).await;
        let cases = vec![
            (
                json!({"sessionIds": [old.id, "does-not-exist"]}),
                vec![old.id.clone()],
            ),
            (
                json!({"userId": alice.id, "olderThanDays": 30}),
                vec![old.id.clone()],
            ),
            (
                json!({"tenantId": "A"}),
                vec![old.id.clone(), idle.id.clone(), plain.id.clone()],
            ),
            (
                json!({"olderThanDays": 7}),
                vec![old.id.clone(), gone.id.clone()],
            ),
            (json!({"inactiveDays": 30}), vec![idle.id.clone()]),
            (json!({"expiredOnly": true}), vec![gone.id.clone()]),
            (json!({"ipAddress": "192.0.2.55"}), vec![ip.id.clone()]),
            (
                json!({"userAgentContains": "postman"}),
                vec![agent.id.clone()],
            ),
            (
                json!({"tenantId": "B", "expiredOnly": true}),
                vec![gone.id.clone()],
            ),
            (json!({"tenantId": "A", "expiredOnly": true}), vec![]),
        ];
        for (criteria, want) in cases {
            let mut dry = criteria.clone();
            dry["dryRun"] = json!(true);
            let before = all_session_ids(&app).await;
            let res = call(&app, "delete", "/api/admin/sessions", &auth, Some(dry)).await;
            assert_eq!(res.status, 200, "{criteria}: {:?}", res.body);
            assert_eq!(res.body["dryRun"], true);
            assert_eq!(
                res.body["count"].as_u64(),
                Some(want.len() as u64),
                "{criteria}"
            );
            let mut sample: Vec<String> = res.body["sample"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string())
                .collect();
            sample.sort();
            let mut want_sorted = want.clone();
            want_sorted.sort();
            assert_eq!(sample, want_sorted, "{criteria}");
            assert_eq!(
                all_session_ids(&app).await,
                before,
                "a dry run deletes nothing"
            );
        }
        // For real: the conjunction first, then a single criterion.
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &auth,
            Some(json!({"tenantId": "B", "expiredOnly": true})),
        )
        .await;
        assert_eq!(
            (
                res.status,
                res.body["count"].as_u64(),
                res.body["dryRun"].as_bool()
            ),
            (200, Some(1), Some(false))
        );
        assert!(res.body.get("sample").is_none());
        assert!(
            app.store()
                .find_session_by_id(&gone.id)
                .await
                .unwrap()
                .is_none()
        );
        app.clock.advance(Duration::seconds(1));
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &auth,
            Some(json!({"userAgentContains": "POSTMAN"})),
        )
        .await;
        assert_eq!(res.body["count"], 1);
        assert!(
            app.store()
                .find_session_by_id(&agent.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            app.store()
                .find_session_by_id(&ip.id)
                .await
                .unwrap()
                .is_some()
        );
        let audit = get(&app, "/api/admin/audit", &auth).await;
        let first = &audit.body["entries"][0];
        assert_eq!(
            (first["action"].as_str(), first["count"].as_i64()),
            (Some("sessions.bulk_delete"), Some(1))
        );
        assert_eq!(first["criteria"], json!({"userAgentContains": "POSTMAN"}));
    }
);

all_stores!(
    empty_criteria_are_refused_unless_all_and_the_caller_is_spared,
    with_token(),
    |app| async move {
        let (root, cookie) = signed_in(&app, "root@example.com", "admin", None).await;
        let other = user(&app, "other@example.com", "user", None).await;
        for _ in 0..3 {
            session(&app, &other, S::fresh(&app)).await;
        }
        let auth = Auth::Cookie(cookie.clone());
        for body in [
            Some(json!({})),
            Some(json!({"all": false})),
            Some(json!({"dryRun": true})),
            Some(json!({"expiredOnly": false})),
            None,
        ] {
            let res = call(&app, "delete", "/api/admin/sessions", &auth, body.clone()).await;
            assert_error(&res, 400, &format!("{body:?}"));
            assert_eq!(res.code(), "EMPTY_CRITERIA");
        }
        assert_eq!(all_session_ids(&app).await.len(), 4);
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &auth,
            Some(json!({"all": true})),
        )
        .await;
        assert_eq!(res.body["count"], 3, "{:?}", res.body);
        assert!(
            app.get("/api/auth/get-session", Some(&cookie))
                .await
                .body
                .is_object(),
            "the caller keeps its session"
        );
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &auth,
            Some(json!({"userId": root.id, "includeCurrent": true})),
        )
        .await;
        assert_eq!(res.body["count"], 1);
        assert_eq!(
            app.get("/api/auth/get-session", Some(&cookie)).await.body,
            serde_json::Value::Null
        );
    }
);

all_stores!(
    large_deletions_run_in_batches,
    with_token(),
    |app| async move {
        let owner = user(&app, "bulk@example.com", "user", None).await;
        let keep = user(&app, "keep@example.com", "user", None).await;
        for _ in 0..1205 {
            session(&app, &owner, S::fresh(&app)).await;
        }
        session(&app, &keep, S::fresh(&app)).await;
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let dry = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &svc,
            Some(json!({"userId": owner.id, "dryRun": true})),
        )
        .await;
        assert_eq!(dry.body["count"], 1205);
        assert_eq!(dry.body["sample"].as_array().unwrap().len(), 20);
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &svc,
            Some(json!({"userId": owner.id})),
        )
        .await;
        assert_eq!(res.body["count"], 1205);
        assert_eq!(all_session_ids(&app).await.len(), 1);
        let ids: Vec<String> = (0..1000).map(|i| format!("missing-{i}")).collect();
        let res = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &svc,
            Some(json!({"sessionIds": ids, "dryRun": true})),
        )
        .await;
        assert_eq!(
            (res.status, res.body["count"].as_u64()),
            (200, Some(0)),
            "1000 ids in ten chunks"
        );
    }
);

all_stores!(single_revocation, with_token(), |app| async move {
    let owner = user(&app, "one@example.com", "user", Some("A")).await;
    let (s, cookie) = session(&app, &owner, S::fresh(&app)).await;
    let svc = Auth::Bearer(SERVICE_TOKEN.into());
    let res = call(
        &app,
        "delete",
        &format!("/api/admin/sessions/{}", s.id),
        &svc,
        None,
    )
    .await;
    assert_eq!(res.body, json!({"deleted": true, "id": s.id}));
    assert_eq!(
        app.get("/api/auth/get-session", Some(&cookie)).await.body,
        serde_json::Value::Null
    );
    let again = call(
        &app,
        "delete",
        &format!("/api/admin/sessions/{}", s.id),
        &svc,
        None,
    )
    .await;
    assert_error(&again, 404, "already gone");
    assert_eq!(again.code(), "SESSION_NOT_FOUND");
    let audit = get(&app, "/api/admin/audit", &svc).await;
    assert_eq!(audit.body["entries"].as_array().unwrap().len(), 1);
    let e = &audit.body["entries"][0];
    assert_eq!(
        (
            e["action"].as_str(),
            e["actor"].as_str(),
            e["count"].as_i64()
        ),
        (Some("sessions.revoke"), Some("service"), Some(1))
    );
    assert_eq!(e["target"], format!("session:{}", s.id));
});
