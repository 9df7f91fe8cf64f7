//! `GET /api/admin/sessions/stats` against a hand-counted data set.

use super::support::*;
use crate::all_stores;
use serde_json::{Value, json};
use time::Duration;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

fn count_of(list: &Value, key: &str, name: Value) -> u64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == name)
        .map_or(0, |e| e["count"].as_u64().unwrap())
}

all_stores!(
    stats_count_what_is_there,
    with_token().set("MAX_SESSIONS_PER_USER", "3"),
    |app| async move {
        // Midday, so "2 days ago" and "today" are unambiguous calendar days.
        let noon = app.clock_now().replace_time(time::macros::time!(12:00));
        app.clock.set(noon);
        let now = app.clock_now();
        let u1 = user(&app, "one@example.com", "user", Some("A")).await;
        let u2 = user(&app, "two@example.com", "user", Some("B")).await;
        let u3 = user(&app, "three@example.com", "user", None).await;
        for _ in 0..3 {
            session(&app, &u1, S::fresh(&app)).await;
        }
        let old = now - Duration::days(8);
        session(
            &app,
            &u1,
            S::fresh(&app)
                .created(old)
                .used(old)
                .expires(now - Duration::days(1)),
        )
        .await;
        session(
            &app,
            &u1,
            S::fresh(&app)
                .created(now - Duration::days(40))
                .used(now - Duration::days(31))
                .expires(now + Duration::days(1)),
        )
        .await;
        for _ in 0..2 {
            let two_days = now - Duration::days(2);
            session(
                &app,
                &u2,
                S::fresh(&app)
                    .created(two_days)
                    .used(now - Duration::hours(1))
                    .ua(IPHONE),
            )
            .await;
        }
        session(&app, &u3, S::fresh(&app).ua("")).await;

        let res = get(
            &app,
            "/api/admin/sessions/stats",
            &Auth::Bearer(SERVICE_TOKEN.into()),
        )
        .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let b = &res.body;
        assert_eq!(b["totalSessions"], 8);
        assert_eq!(b["totalActiveSessions"], 6);
        assert_eq!(b["expiredSessions"], 1);
        assert_eq!(b["inactiveSessions"], 1);
        assert_eq!(b["usersWithSessions"], 3);
        assert_eq!(
            b["usersOverLimit"], 1,
            "u1 has 4 unexpired sessions, the limit is 3"
        );
        assert_eq!(
            (
                b["maxSessionsPerUser"].as_u64(),
                b["inactivityDays"].as_u64()
            ),
            (Some(3), Some(30))
        );
        assert_eq!(b["createdLast24h"], 4);
        assert_eq!(b["oldestActiveSessionAgeSeconds"], 2 * 86_400);
        assert_eq!(count_of(&b["sessionsByTenant"], "tenantId", json!("A")), 5);
        assert_eq!(count_of(&b["sessionsByTenant"], "tenantId", json!("B")), 2);
        assert_eq!(count_of(&b["sessionsByTenant"], "tenantId", Value::Null), 1);
        assert_eq!(
            b["topUsers"][0],
            json!({"userId": u1.id, "email": "one@example.com", "name": "Name of one@example.com", "count": 5})
        );
        assert_eq!(b["topUsers"].as_array().unwrap().len(), 3);
        assert_eq!(count_of(&b["byBrowser"], "name", json!("Firefox")), 5);
        assert_eq!(count_of(&b["byBrowser"], "name", json!("unknown")), 1);
        assert_eq!(count_of(&b["byDeviceType"], "name", json!("desktop")), 5);
        assert_eq!(count_of(&b["byDeviceType"], "name", json!("mobile")), 2);
        assert_eq!(count_of(&b["byOs"], "name", json!("iPhone")), 2);
        for key in ["byBrowser", "byOs", "byDeviceType"] {
            let sum: u64 = b[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["count"].as_u64().unwrap())
                .sum();
            assert_eq!(sum, 8, "{key} covers every session");
        }
        let days = b["createdPerDay"].as_array().unwrap();
        assert_eq!(days.len(), 30);
        let today = sessionkeeper::domain::timefmt::format(now)[..10].to_string();
        assert_eq!(days[29], json!({"date": today, "count": 4}));
        assert_eq!(days[27]["count"], 2);
        assert_eq!(days[21]["count"], 1);
        assert_eq!(
            days.iter()
                .map(|d| d["count"].as_u64().unwrap())
                .sum::<u64>(),
            7,
            "the 40-day-old session is outside"
        );
        assert!(b["generatedAt"].as_str().unwrap().ends_with('Z'));

        let b_only = get(
            &app,
            "/api/admin/sessions/stats?tenantId=B",
            &Auth::Bearer(SERVICE_TOKEN.into()),
        )
        .await;
        assert_eq!(b_only.body["totalSessions"], 2);
        assert_eq!(
            b_only.body["sessionsByTenant"],
            json!([{"tenantId": "B", "count": 2}])
        );
        assert_eq!(b_only.body["usersOverLimit"], 0);
    }
);

all_stores!(stats_of_an_empty_database, with_token(), |app| async move {
    let res = get(
        &app,
        "/api/admin/sessions/stats",
        &Auth::Bearer(SERVICE_TOKEN.into()),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["totalSessions"], 0);
    assert_eq!(res.body["usersWithSessions"], 0);
    assert_eq!(res.body["oldestActiveSessionAgeSeconds"], Value::Null);
    assert_eq!(res.body["topUsers"], json!([]));
    assert_eq!(res.body["createdPerDay"].as_array().unwrap().len(), 30);
});
