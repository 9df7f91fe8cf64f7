//! The statistics snapshot: served while young, recounted when it ages out or on
//! `?fresh=true`, refreshed by one instance, and stale at once after a deletion.

use super::support::*;
use crate::both_stores;
use crate::helpers::spawn_on;
use serde_json::json;
use sessionkeeper::domain::timefmt;
use time::Duration;

const STATS: &str = "/api/admin/sessions/stats";

fn svc() -> Auth {
    Auth::Bearer(SERVICE_TOKEN.into())
}

fn at(t: time::OffsetDateTime) -> serde_json::Value {
    json!(timefmt::format(t))
}

async fn stats(app: &crate::helpers::TestApp, query: &str, auth: &Auth) -> serde_json::Value {
    let res = get(app, &format!("{STATS}{query}"), auth).await;
    assert_eq!(res.status, 200, "{query}: {:?}", res.body);
    res.body
}

both_stores!(
    the_snapshot_is_served_until_it_is_a_period_old,
    with_token().set("STATS_REFRESH_SECONDS", "60"),
    |app| async move {
        let t0 = app.clock_now();
        let u = user(&app, "one@example.com", "user", None).await;
        for _ in 0..2 {
            session(&app, &u, S::fresh(&app)).await;
        }
        let first = stats(&app, "", &svc()).await;
        assert_eq!(first["totalSessions"], 2);
        assert_eq!(first["asOf"], at(t0));

        // A sign-in is not a deletion: it shows once the snapshot ages out.
        session(&app, &u, S::fresh(&app)).await;
        app.clock.set(t0 + Duration::seconds(30));
        let young = stats(&app, "", &svc()).await;
        assert_eq!(young["totalSessions"], 2, "answered from the snapshot");
        assert_eq!(young["asOf"], at(t0));
        assert_eq!(young["generatedAt"], at(t0 + Duration::seconds(30)));

        // The stored time may be a little earlier than t0 (milliseconds): just under a period.
        app.clock.set(t0 + Duration::seconds(59));
        let edge = stats(&app, "", &svc()).await;
        assert_eq!(
            (edge["totalSessions"].as_u64(), &edge["asOf"]),
            (Some(2), &at(t0)),
            "just under a period old is still served"
        );

        let later = t0 + Duration::seconds(61);
        app.clock.set(later);
        let recounted = stats(&app, "", &svc()).await;
        assert_eq!(
            recounted["totalSessions"], 3,
            "older than a period: counted again"
        );
        assert_eq!(recounted["asOf"], at(later));
    }
);

both_stores!(
    fresh_counts_now_and_is_stored_for_the_next_reader,
    with_token(),
    |app| async move {
        let u = user(&app, "one@example.com", "user", None).await;
        session(&app, &u, S::fresh(&app)).await;
        assert_eq!(stats(&app, "", &svc()).await["totalSessions"], 1);
        session(&app, &u, S::fresh(&app)).await;
        app.clock.advance(Duration::seconds(5));
        assert_eq!(stats(&app, "", &svc()).await["totalSessions"], 1);
        let fresh = stats(&app, "?fresh=true", &svc()).await;
        assert_eq!(fresh["totalSessions"], 2);
        assert_eq!(fresh["asOf"], at(app.clock_now()));
        assert_eq!(
            stats(&app, "", &svc()).await["totalSessions"],
            2,
            "the fresh count replaced the snapshot"
        );
        let res = get(&app, &format!("{STATS}?fresh=maybe"), &svc()).await;
        assert_error(&res, 400, "fresh is a boolean");
    }
);

both_stores!(
    concurrent_fresh_requests_agree,
    with_token(),
    |app| async move {
        let u = user(&app, "one@example.com", "user", None).await;
        for _ in 0..3 {
            session(&app, &u, S::fresh(&app)).await;
        }
        let auth = svc();
        let calls = (0..6).map(|_| stats(&app, "?fresh=true", &auth));
        for body in futures::future::join_all(calls).await {
            assert_eq!(body["totalSessions"], 3);
            assert_eq!(body["asOf"], at(app.clock_now()));
        }
    }
);

both_stores!(
    one_instance_refreshes_in_the_background,
    with_token().set("STATS_REFRESH_SECONDS", "60"),
    |app| async move {
        let other = spawn_on(app.db.share(), with_token()).await.unwrap();
        let (first, second) = (app.keeper.admin(), other.keeper.admin());
        let t0 = app.clock_now();
        let u = user(&app, "one@example.com", "user", None).await;
        session(&app, &u, S::fresh(&app)).await;

        assert!(
            !first.refresh_stats_once("first").await.unwrap(),
            "nobody has read the statistics: nothing to keep fresh"
        );
        assert_eq!(stats(&app, "", &svc()).await["totalSessions"], 1);
        session(&app, &u, S::fresh(&app)).await;

        app.clock.set(t0 + Duration::seconds(29));
        assert!(
            !first.refresh_stats_once("first").await.unwrap(),
            "under half a period old"
        );
        let t1 = t0 + Duration::seconds(31);
        app.clock.set(t1);
        assert!(first.refresh_stats_once("first").await.unwrap());
        for instance in [&app, &other] {
            other.clock.set(t1);
            let b = stats(instance, "", &svc()).await;
            assert_eq!(b["totalSessions"], 2, "refreshed, for every instance");
            assert_eq!(b["asOf"], at(t1));
        }

        session(&app, &u, S::fresh(&app)).await;
        let t2 = t1 + Duration::seconds(31);
        app.clock.set(t2);
        other.clock.set(t2);
        assert!(
            !second.refresh_stats_once("second").await.unwrap(),
            "the first instance holds the lease"
        );
        assert_eq!(
            stats(&app, "", &svc()).await["totalSessions"],
            2,
            "not refreshed by the second instance"
        );
        assert!(first.refresh_stats_once("first").await.unwrap());
        let b = stats(&other, "", &svc()).await;
        assert_eq!(
            (b["totalSessions"].as_u64(), &b["asOf"]),
            (Some(3), &at(t2))
        );
    }
);

both_stores!(
    deletions_show_at_once,
    with_token().set("SESSION_INACTIVITY_TIMEOUT_DAYS", "30"),
    |app| async move {
        let now = app.clock_now();
        let a = user(&app, "a@example.com", "user", Some("A")).await;
        let b = user(&app, "b@example.com", "user", Some("B")).await;
        let (kept, _) = session(&app, &a, S::fresh(&app)).await;
        let (revoked, _) = session(&app, &a, S::fresh(&app)).await;
        session(
            &app,
            &a,
            S::fresh(&app)
                .created(now - Duration::days(9))
                .used(now - Duration::days(8))
                .expires(now - Duration::days(1)),
        )
        .await;
        session(&app, &b, S::fresh(&app)).await;
        let all = stats(&app, "", &svc()).await;
        assert_eq!(
            (
                all["totalSessions"].as_u64(),
                all["expiredSessions"].as_u64()
            ),
            (Some(4), Some(1))
        );
        assert_eq!(stats(&app, "?tenantId=A", &svc()).await["totalSessions"], 3);

        // The clock stands still: only the deletions can make these counts change.
        let run = call(&app, "post", "/api/admin/sessions/cleanup", &svc(), None).await;
        assert_eq!(run.status, 200, "{:?}", run.body);
        assert_eq!(run.body["total"], 1);
        let all = stats(&app, "", &svc()).await;
        assert_eq!(
            (
                all["totalSessions"].as_u64(),
                all["expiredSessions"].as_u64()
            ),
            (Some(3), Some(0)),
            "after the cleanup run"
        );
        assert_eq!(stats(&app, "?tenantId=A", &svc()).await["totalSessions"], 2);

        let bulk = call(
            &app,
            "delete",
            "/api/admin/sessions",
            &svc(),
            Some(json!({"userId": b.id})),
        )
        .await;
        assert_eq!((bulk.status, &bulk.body["count"]), (200, &json!(1)));
        let all = stats(&app, "", &svc()).await;
        assert_eq!(all["totalSessions"], 2, "after the bulk delete");
        assert_eq!(
            all["sessionsByTenant"],
            json!([{"tenantId": "A", "count": 2}])
        );

        let res = call(
            &app,
            "delete",
            &format!("/api/admin/sessions/{}", revoked.id),
            &svc(),
            None,
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let all = stats(&app, "", &svc()).await;
        assert_eq!(all["totalSessions"], 1, "after the revocation");
        assert_eq!(all["topUsers"][0]["count"], 1);
        let a_only = stats(&app, "?tenantId=A", &svc()).await;
        assert_eq!(a_only["totalSessions"], 1);
        assert_eq!(all_session_ids(&app).await, vec![kept.id]);
    }
);

both_stores!(
    tenant_admins_get_their_own_tenant,
    with_token(),
    |app| async move {
        let (_, cookie) = signed_in(&app, "admin-a@example.com", "tenant-admin", Some("A")).await;
        let a = Auth::Cookie(cookie);
        let other = user(&app, "b@example.com", "user", Some("B")).await;
        for _ in 0..2 {
            session(&app, &other, S::fresh(&app)).await;
        }
        // The global snapshot first: a tenant's answer never comes from it.
        assert_eq!(stats(&app, "", &svc()).await["totalSessions"], 3);
        let own = stats(&app, "", &a).await;
        assert_eq!(
            own["totalSessions"], 1,
            "only A's session (the tenant admin's)"
        );
        assert_eq!(
            own["sessionsByTenant"],
            json!([{"tenantId": "A", "count": 1}])
        );
        let fresh = stats(&app, "?fresh=true", &a).await;
        assert_eq!(
            fresh["sessionsByTenant"],
            json!([{"tenantId": "A", "count": 1}])
        );
        let res = get(&app, &format!("{STATS}?tenantId=B&fresh=true"), &a).await;
        assert_error(&res, 403, "another tenant's recount");
        assert_eq!(
            stats(&app, "", &svc()).await["totalSessions"],
            3,
            "the global snapshot is untouched by the tenant's"
        );
    }
);
