//! `GET /api/admin/audit`: entries for every change, paginated newest first.

use super::support::*;
use crate::all_stores;
use serde_json::json;
use time::Duration;

all_stores!(
    audit_entries_page_newest_first,
    with_token(),
    |app| async move {
        let (root, cookie) = signed_in(&app, "root@example.com", "admin", None).await;
        let auth = Auth::Cookie(cookie);
        let target = user(&app, "t@example.com", "user", Some("T")).await;
        for i in 0..5 {
            let (s, _) = session(&app, &target, S::fresh(&app)).await;
            call(
                &app,
                "delete",
                &format!("/api/admin/sessions/{}", s.id),
                &auth,
                None,
            )
            .await;
            if i % 2 == 0 {
                app.clock.advance(Duration::seconds(1));
            }
        }
        let mut targets = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/admin/audit?limit=2&cursor={c}"),
                None => "/api/admin/audit?limit=2".into(),
            };
            let res = get(&app, &path, &auth).await;
            assert_eq!(res.status, 200, "{:?}", res.body);
            for e in res.body["entries"].as_array().unwrap() {
                assert_eq!(e["actor"], format!("admin:{}", root.id));
                assert_eq!(e["criteria"], serde_json::Value::Null);
                targets.push(e["target"].as_str().unwrap().to_string());
            }
            match res.body["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(targets.len(), 5);
        let unique: std::collections::HashSet<&String> = targets.iter().collect();
        assert_eq!(unique.len(), 5);
        // Global admins' actions are filed under the target's tenant, so that tenant's admins see them.
        let (_, ta) = signed_in(&app, "ta@example.com", "tenant-admin", Some("T")).await;
        let theirs = get(&app, "/api/admin/audit", &Auth::Cookie(ta)).await;
        assert_eq!(theirs.body["entries"].as_array().unwrap().len(), 5);
        assert_error(
            &get(&app, "/api/admin/audit?cursor=bogus", &auth).await,
            400,
            "invalid cursor",
        );
        assert_eq!(
            get(&app, "/api/admin/audit?cursor=bogus", &auth)
                .await
                .code(),
            "INVALID_CURSOR"
        );
        let _ = json!({});
    }
);
