//! `/api/admin/sessions/cleanup`: status, run history, manual runs (scoped for tenant admins),
//! 409 while another run holds the lease.

use super::support::*;
use crate::all_stores;
use serde_json::json;
use time::Duration;

all_stores!(
    manual_runs_follow_overrides_and_are_recorded,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let now = app.clock_now();
        let owner = user(&app, "owner@example.com", "user", Some("A")).await;
        let (expired, _) = session(
            &app,
            &owner,
            S::fresh(&app)
                .created(now - Duration::days(9))
                .expires(now - Duration::days(1)),
        )
        .await;
        let (idle, _) = session(
            &app,
            &owner,
            S::fresh(&app)
                .created(now - Duration::days(20))
                .used(now - Duration::days(10)),
        )
        .await;
        let (fresh, _) = session(&app, &owner, S::fresh(&app)).await;

        let status = get(&app, "/api/admin/sessions/cleanup/status", &svc).await;
        assert_eq!(status.status, 200, "{:?}", status.body);
        assert_eq!(status.body["running"], false);
        assert_eq!(status.body["policy"]["inactivityDays"], 30);

        // A dry run with a 7-day inactivity override counts both stale sessions and deletes nothing.
        let dry = call(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &svc,
            Some(json!({"inactivityDays": 7, "dryRun": true})),
        )
        .await;
        assert_eq!(dry.status, 200, "{:?}", dry.body);
        assert_eq!(
            (dry.body["dryRun"].as_bool(), dry.body["total"].as_u64()),
            (Some(true), Some(2))
        );
        assert_eq!(
            dry.body["counts"],
            json!({"expired": 1, "inactive": 1, "excess": 0})
        );
        assert_eq!(all_session_ids(&app).await.len(), 3);

        // A real run without the override removes only the expired one (10 days idle < 30).
        app.clock.advance(Duration::seconds(1));
        let run = call(&app, "post", "/api/admin/sessions/cleanup", &svc, None).await;
        assert_eq!(run.status, 200, "{:?}", run.body);
        assert_eq!(
            (run.body["trigger"].as_str(), run.body["outcome"].as_str()),
            (Some("manual"), Some("ok"))
        );
        assert_eq!(run.body["counts"]["expired"], 1);
        assert!(
            app.store()
                .find_session_by_id(&expired.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            app.store()
                .find_session_by_id(&idle.id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            app.store()
                .find_session_by_id(&fresh.id)
                .await
                .unwrap()
                .is_some()
        );

        let runs = get(&app, "/api/admin/sessions/cleanup/runs", &svc).await;
        assert_eq!(runs.status, 200, "{:?}", runs.body);
        let list = runs.body["runs"].as_array().unwrap();
        assert_eq!(list[0]["runId"], run.body["runId"]);
        let audit = get(&app, "/api/admin/audit", &svc).await;
        let e = &audit.body["entries"][0];
        assert_eq!(
            (e["action"].as_str(), e["count"].as_i64()),
            (Some("cleanup.run"), Some(1))
        );
        assert_eq!(e["criteria"]["inactivityDays"], 30);
        let status = get(&app, "/api/admin/sessions/cleanup/status", &svc).await;
        assert_eq!(status.body["lastRun"]["runId"], run.body["runId"]);
    }
);

all_stores!(
    tenant_admins_clean_only_their_tenant,
    with_token(),
    |app| async move {
        let now = app.clock_now();
        let (_, cookie) = signed_in(&app, "ta@example.com", "tenant-admin", Some("A")).await;
        let a = user(&app, "a@example.com", "user", Some("A")).await;
        let b = user(&app, "b@example.com", "user", Some("B")).await;
        let stale = S::fresh(&app)
            .created(now - Duration::days(9))
            .expires(now - Duration::days(1));
        let (a_old, _) = session(&app, &a, stale.clone()).await;
        let (b_old, _) = session(&app, &b, stale).await;
        let res = call(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &Auth::Cookie(cookie),
            Some(json!({})),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        assert_eq!(res.body["total"], 1);
        assert!(
            app.store()
                .find_session_by_id(&a_old.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            app.store()
                .find_session_by_id(&b_old.id)
                .await
                .unwrap()
                .is_some(),
            "tenant B untouched"
        );
    }
);

all_stores!(
    a_held_lease_gives_409_with_the_run_id,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let now = app.clock_now();
        let held = app
            .store()
            .acquire_lease(
                sessionkeeper::cleanup::LEASE_NAME,
                "another-instance",
                "run-elsewhere",
                600,
                now,
            )
            .await
            .unwrap();
        assert_eq!(held, sessionkeeper::store::cleanup::LeaseOutcome::Acquired);
        let res = call(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &svc,
            Some(json!({})),
        )
        .await;
        assert_error(&res, 409, "lease held elsewhere");
        assert_eq!(
            (res.code(), res.body["runId"].as_str()),
            ("CLEANUP_ALREADY_RUNNING", Some("run-elsewhere"))
        );
        let audit = get(&app, "/api/admin/audit", &svc).await;
        assert_eq!(audit.body["entries"], json!([]));
    }
);

all_stores!(
    cleanup_bad_input_and_access,
    with_token(),
    |app| async move {
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let owner = user(&app, "o@example.com", "user", None).await;
        let now = app.clock_now();
        session(
            &app,
            &owner,
            S::fresh(&app)
                .created(now - Duration::days(9))
                .expires(now - Duration::days(1)),
        )
        .await;
        for body in [
            json!({"inactivityDays": 0}),
            json!({"inactivityDays": -3}),
            json!({"maxSessionsPerUser": 100_001}),
            json!({"dryRun": "yes"}),
            json!({"cleanEverything": true}),
            json!([1]),
        ] {
            let res = call(
                &app,
                "post",
                "/api/admin/sessions/cleanup",
                &svc,
                Some(body.clone()),
            )
            .await;
            assert_error(&res, 400, &body.to_string());
        }
        let malformed = call_raw(
            &app,
            "post",
            "/api/admin/sessions/cleanup",
            &svc,
            b"{\"dryRun\":".to_vec(),
        )
        .await;
        assert_error(&malformed, 400, "malformed");
        for path in [
            "/api/admin/sessions/cleanup/runs?limit=0",
            "/api/admin/sessions/cleanup/runs?cursor=zzz",
            "/api/admin/sessions/cleanup/runs?x=1",
        ] {
            assert_error(&get(&app, path, &svc).await, 400, path);
        }
        assert_eq!(
            all_session_ids(&app).await.len(),
            1,
            "nothing was cleaned by refused calls"
        );
        let (_, plain) = signed_in(&app, "plain@example.com", "user", None).await;
        for (method, path) in [
            ("get", "/api/admin/sessions/cleanup/status"),
            ("get", "/api/admin/sessions/cleanup/runs"),
            ("post", "/api/admin/sessions/cleanup"),
        ] {
            assert_error(
                &call(&app, method, path, &Auth::None, None).await,
                401,
                path,
            );
            assert_error(
                &call(&app, method, path, &Auth::Cookie(plain.clone()), None).await,
                403,
                path,
            );
            assert_error(
                &call(
                    &app,
                    method,
                    path,
                    &Auth::Bearer("wrong-token-0123456789".into()),
                    None,
                )
                .await,
                401,
                path,
            );
        }
        assert_eq!(all_session_ids(&app).await.len(), 2);
    }
);

all_stores!(
    status_reports_the_limits_the_server_enforces,
    with_token(),
    |app| async move {
        use sessionkeeper::domain::limits::{self, LIMITS};
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let status = get(&app, "/api/admin/sessions/cleanup/status", &svc).await;
        assert_eq!(status.status, 200, "{:?}", status.body);
        // What the dashboard builds its policy form from is the one definition of the limits.
        assert_eq!(status.body["limits"], serde_json::to_value(LIMITS).unwrap());
        for (field, range) in [
            ("inactivityDays", limits::INACTIVITY_DAYS),
            ("maxSessionsPerUser", limits::MAX_SESSIONS_PER_USER),
        ] {
            assert_eq!(
                status.body["limits"][field],
                json!({"min": range.min, "max": range.max})
            );
            // The bounds are exactly what a manual run accepts.
            for (value, ok) in [
                (range.min - 1, false),
                (range.min, true),
                (range.max, true),
                (range.max + 1, false),
            ] {
                let res = call(
                    &app,
                    "post",
                    "/api/admin/sessions/cleanup",
                    &svc,
                    Some(json!({ field: value, "dryRun": true })),
                )
                .await;
                let want = if ok { 200 } else { 400 };
                assert_eq!(res.status, want, "{field}={value}: {:?}", res.body);
            }
            // And what the configuration accepts.
            let env = match field {
                "inactivityDays" => "SESSION_INACTIVITY_TIMEOUT_DAYS",
                _ => "MAX_SESSIONS_PER_USER",
            };
            for (value, ok) in [(range.max, true), (range.max + 1, false)] {
                let loaded = sessionkeeper::config::Config::load(&sessionkeeper::config::Sources {
                    env: [(env.to_string(), value.to_string())].into(),
                    ..Default::default()
                });
                assert_eq!(loaded.is_ok(), ok, "{env}={value}");
            }
            // And what the OpenAPI document states.
            let doc = get(&app, "/api/admin/openapi.json", &svc).await;
            let prop = &doc.body["components"]["schemas"]["CleanupRequest"]["properties"][field];
            assert_eq!(
                (&prop["minimum"], &prop["maximum"]),
                (&json!(range.min), &json!(range.max)),
                "{prop}"
            );
        }
        let doc = get(&app, "/api/admin/openapi.json", &svc).await;
        let params = doc.body["paths"]["/api/admin/sessions"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(
            (&limit["schema"]["maximum"], &limit["schema"]["default"]),
            (&json!(limits::PAGE.max), &json!(limits::PAGE.default)),
            "{limit}"
        );
    }
);
