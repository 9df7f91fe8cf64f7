//! `GET /api/admin/sessions`: every filter, device info, and keyset pagination that neither
//! repeats nor skips rows while sessions are being inserted.

use super::support::*;
use crate::all_stores;
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;

fn ids(res: &crate::helpers::Res) -> Vec<String> {
    let mut v: Vec<String> = res.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

all_stores!(
    every_filter_selects_exactly_its_sessions,
    with_token(),
    |app| async move {
        let now = app.clock_now();
        let t = |d: i64| now - Duration::days(d);
        let alice = user(&app, "alice@example.com", "user", Some("A")).await;
        let bob = user(&app, "bob@example.com", "user", Some("B")).await;
        let (active, _) = session(
            &app,
            &alice,
            S::fresh(&app)
                .ip("198.51.100.1")
                .ua("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
        )
        .await;
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        let (expired, _) = session(
            &app,
            &alice,
            S::fresh(&app)
                .created(t(10))
                .used(t(9))
                .expires(t(2))
                .ua(chrome),
        )
        .await;
        let (inactive, _) = session(
            &app,
            &bob,
            S::fresh(&app)
                .created(t(50))
                .used(t(40))
                .ua("curl/8.5 100%_done"),
        )
        .await;
        let (bob_new, _) = session(
            &app,
            &bob,
            S::fresh(&app)
                .created(t(1))
                .used(t(1))
                .ip("198.51.100.2")
                .ua(chrome),
        )
        .await;
        let (a, e, i, b) = (
            active.id.as_str(),
            expired.id.as_str(),
            inactive.id.as_str(),
            bob_new.id.as_str(),
        );
        let iso = |d: i64| sessionkeeper::domain::timefmt::format(t(d));
        let cases: Vec<(String, Vec<String>)> = vec![
            ("".into(), sorted(&[a, e, i, b])),
            ("tenantId=A".into(), sorted(&[a, e])),
            (format!("userId={}", bob.id), sorted(&[i, b])),
            ("status=active".into(), sorted(&[a, b])),
            ("status=expired".into(), sorted(&[e])),
            ("status=inactive".into(), sorted(&[i])),
            ("ip=198.51.100.2".into(), sorted(&[b])),
            ("userAgent=FIREFOX".into(), sorted(&[a])),
            // LIKE metacharacters are literal.
            ("userAgent=100%25_".into(), sorted(&[i])),
            ("userAgent=%25".into(), sorted(&[i])),
            (format!("createdFrom={}", iso(5)), sorted(&[a, b])),
            (format!("createdTo={}", iso(5)), sorted(&[e, i])),
            (
                format!("lastUsedFrom={}&lastUsedTo={}", iso(20), iso(0)),
                sorted(&[e, b]),
            ),
            (
                format!("tenantId=B&status=active&createdFrom={}", iso(3)),
                sorted(&[b]),
            ),
        ];
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        for (query, want) in cases {
            let res = get(
                &app,
                &format!("/api/admin/sessions?{}", query.replace(':', "%3A")),
                &svc,
            )
            .await;
            assert_eq!(res.status, 200, "{query}: {:?}", res.body);
            assert_eq!(ids(&res), want, "{query}");
        }
        let res = get(
            &app,
            &format!("/api/admin/sessions?userId={}&status=active", alice.id),
            &svc,
        )
        .await;
        let s = &res.body["sessions"][0];
        assert_eq!(
            s["user"],
            serde_json::json!({"id": alice.id, "email": "alice@example.com", "name": "Name of alice@example.com"})
        );
        assert_eq!(
            (s["tenantId"].as_str(), s["status"].as_str()),
            (Some("A"), Some("active"))
        );
        assert_eq!(
            (
                s["browser"].as_str(),
                s["os"].as_str(),
                s["deviceType"].as_str()
            ),
            (Some("Firefox"), Some("Linux"), Some("desktop"))
        );
        assert_eq!(s["ipAddress"], "198.51.100.1");
        assert!(s.get("token").is_none());
        assert_no_secret(&res.body, std::slice::from_ref(&active.token));
        assert_eq!(res.body["limit"], 50);
        assert_eq!(res.body["nextCursor"], serde_json::Value::Null);
    }
);

all_stores!(
    pages_never_repeat_or_skip_under_concurrent_inserts,
    with_token(),
    |app| async move {
        let app = Arc::new(app);
        let now = app.clock_now();
        let mut seeded = HashSet::new();
        for u in 0..5 {
            let owner = user(&app, &format!("p{u}@example.com"), "user", None).await;
            for i in 0..46 {
                // Groups of ten sessions share a createdAt, so the id breaks ties across pages.
                let at = now - Duration::minutes(((u * 46 + i) / 10) as i64);
                let (s, _) = session(&app, &owner, S::fresh(&app).created(at).used(at)).await;
                seeded.insert(s.id);
            }
        }
        let writer = {
            let app = app.clone();
            tokio::spawn(async move {
                let w = user(&app, "writer@example.com", "user", None).await;
                for i in 0..120i64 {
                    // New rows land on both sides of the reader's position.
                    let at = if i % 2 == 0 {
                        app.clock_now()
                    } else {
                        app.clock_now() - Duration::minutes(i % 30)
                    };
                    session(&app, &w, S::fresh(&app).created(at).used(at)).await;
                    tokio::task::yield_now().await;
                }
            })
        };
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/admin/sessions?limit=17&cursor={c}"),
                None => "/api/admin/sessions?limit=17".into(),
            };
            let res = get(&app, &path, &svc).await;
            assert_eq!(res.status, 200, "{:?}", res.body);
            let page = res.body["sessions"].as_array().unwrap();
            assert!(page.len() <= 17);
            // Each page is in (createdAt desc, id desc) order.
            for w in page.windows(2) {
                let key = |s: &serde_json::Value| {
                    (
                        s["createdAt"].as_str().unwrap().to_string(),
                        s["id"].as_str().unwrap().to_string(),
                    )
                };
                assert!(
                    key(&w[0]) > key(&w[1]),
                    "order broken: {:?} then {:?}",
                    key(&w[0]),
                    key(&w[1])
                );
            }
            seen.extend(page.iter().map(|s| s["id"].as_str().unwrap().to_string()));
            pages += 1;
            match res.body["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        writer.await.unwrap();
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "a row came twice");
        let missing: Vec<&String> = seeded.iter().filter(|id| !unique.contains(id)).collect();
        assert!(missing.is_empty(), "rows skipped: {missing:?}");
        assert!(pages >= 14, "230 rows at 17 a page: {pages} pages");
    }
);

all_stores!(page_sizes_default_and_cap, with_token(), |app| async move {
    let owner = user(&app, "many@example.com", "user", None).await;
    for _ in 0..55 {
        session(&app, &owner, S::fresh(&app)).await;
    }
    let svc = Auth::Bearer(SERVICE_TOKEN.into());
    let first = get(&app, "/api/admin/sessions", &svc).await;
    assert_eq!(first.body["sessions"].as_array().unwrap().len(), 50);
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let rest = get(&app, &format!("/api/admin/sessions?cursor={cursor}"), &svc).await;
    assert_eq!(rest.body["sessions"].as_array().unwrap().len(), 5);
    assert_eq!(rest.body["nextCursor"], serde_json::Value::Null);
    let max = get(&app, "/api/admin/sessions?limit=500", &svc).await;
    assert_eq!(max.body["sessions"].as_array().unwrap().len(), 55);
    assert_error(
        &get(&app, "/api/admin/sessions?limit=501", &svc).await,
        400,
        "limit over the cap",
    );
});
