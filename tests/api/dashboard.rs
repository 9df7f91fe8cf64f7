//! The admin dashboard: how it is served (types, caching, a strict CSP, nothing external), and
//! the whole of it driven in headless Chromium (e2e/dashboard.test.mjs) against a seeded server.

use crate::both_stores;
use crate::helpers::*;
use serde_json::{Value, json};
use sessionkeeper::domain::ids::new_id;
use sessionkeeper::domain::{NewUser, Session};
use std::path::PathBuf;
use std::time::Duration as StdDuration;
use time::Duration;

const UA_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const UA_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const UA_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const UA_MAC_FIREFOX: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0";
const UA_MAC_SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
const UA_LINUX_FIREFOX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const UA_CURL: &str = "curl/8.5.0";

#[tokio::test]
async fn dashboard_is_served_with_types_caching_and_a_strict_policy() {
    let app = spawn_app(Db::Sqlite)
        .await
        .expect("sqlite is always available");
    for path in ["/admin", "/admin/"] {
        let res = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["cache-control"], "no-cache");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<script type="module" src="/admin/assets/app.js">"#));
        assert!(
            !html.contains("<script>"),
            "no inline script: the CSP would block it"
        );
    }

    // Every module the entry point reaches, followed through its imports.
    let mut todo = vec!["/admin/assets/app.js".to_string()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let res = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{path}"
        );
        let text = res.text().await.unwrap();
        let dir = &path[..path.rfind('/').unwrap()];
        for spec in text
            .split("from '")
            .skip(1)
            .filter_map(|s| s.split('\'').next())
        {
            let mut base: Vec<&str> = dir.split('/').collect();
            for part in spec.split('/') {
                match part {
                    "." => {}
                    ".." => {
                        base.pop();
                    }
                    p => base.push(p),
                }
            }
            todo.push(base.join("/"));
        }
    }
    assert!(seen.len() >= 8, "modules reached: {seen:?}");

    for (path, ty) in [
        ("/admin/assets/app.css", "text/css; charset=utf-8"),
        ("/admin/assets/icon.svg", "image/svg+xml"),
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.headers["content-type"], ty, "{path}");
        // Revalidation: the same bytes answer 304 with no body.
        let etag = res.headers["etag"].to_str().unwrap().to_string();
        let again = app
            .http
            .get(format!("{}{path}", app.url))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        let stale = app
            .http
            .get(format!("{}{path}", app.url))
            .header("if-none-match", "\"0000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{path}");
    }

    for missing in [
        "/admin/assets/nope.js",
        "/admin/assets/../index.html",
        "/admin/assets/%2e%2e/index.html",
        "/admin/index.html",
    ] {
        let res = app.get(missing, None).await;
        assert_eq!(res.status, 404, "{missing}");
        assert_eq!(res.code(), "NOT_FOUND", "{missing}");
    }
}

/// Chromium and e2e/node_modules, or `None`: a visible skip outside CI, a failure in CI (where
/// scripts/test installs both).
fn browser_setup() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e");
    let missing = if !PathBuf::from("/usr/bin/chromium").exists() {
        Some("/usr/bin/chromium is missing (apt-get install chromium, or run scripts/test)")
    } else if !dir.join("node_modules/playwright-core").is_dir() {
        Some("e2e/node_modules is missing (run `npm ci` in e2e/, or scripts/test)")
    } else {
        None
    };
    let Some(why) = missing else { return Some(dir) };
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("dashboard browser test cannot run in CI: {why}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: dashboard browser test: {why}");
    None
}

async fn user(app: &TestApp, email: &str, name: &str, role: &str, tenant: Option<&str>) -> String {
    let new = NewUser {
        name: name.into(),
        email: email.into(),
        image: None,
        role: Some(role.into()),
        tenant_id: tenant.map(String::from),
    };
    app.keeper
        .auth()
        .create_user(new, PASSWORD.into())
        .await
        .expect("seed user")
        .id
}

/// A session created `created` days ago, last used `used` days ago, living `lives` days from
/// its last use. Inserted directly so that ages and the per-user limit are ours to choose.
async fn session(
    app: &TestApp,
    user_id: &str,
    (created, used, lives): (i64, i64, i64),
    ua: &str,
    ip: &str,
) -> String {
    let now = app.clock_now();
    let updated_at = now - Duration::days(used) - Duration::minutes(37);
    let s = Session {
        id: new_id(),
        token: app.keeper.core().token_key(&new_id()),
        created_at: now - Duration::days(created) - Duration::minutes(37),
        updated_at,
        expires_at: updated_at + Duration::days(lives),
        ip_address: Some(ip.into()),
        user_agent: Some(ua.into()),
        user_id: user_id.into(),
        impersonated_by: None,
        active_organization_id: None,
    };
    app.store()
        .insert_session(&s, None, now)
        .await
        .expect("seed session");
    s.id
}

/// Users in tenants A and B and none, with active, inactive (unused for 30+ days), expired and
/// over-the-limit sessions. Returns what the browser test needs to know.
async fn seed(app: &TestApp) -> Value {
    let _admin = user(app, "admin@example.com", "Admin", "admin", None).await;
    let _tadmin = user(
        app,
        "tenant-admin@a.example",
        "Tara Tenant",
        "tenant-admin",
        Some("tenant-a"),
    )
    .await;
    let _plain = user(
        app,
        "plain@a.example",
        "Pat Plain",
        "user",
        Some("tenant-a"),
    )
    .await;

    let ada = user(app, "ada@a.example", "Ada", "user", Some("tenant-a")).await;
    let ada_iphone = session(app, &ada, (2, 0, 60), UA_IPHONE, "203.0.113.10").await;
    let ada_windows = session(app, &ada, (5, 1, 60), UA_WINDOWS, "203.0.113.11").await;
    session(app, &ada, (12, 3, 60), UA_MAC_FIREFOX, "203.0.113.12").await;
    session(app, &ada, (44, 40, 60), UA_LINUX_FIREFOX, "203.0.113.13").await;

    let bob = user(app, "bob@a.example", "Bob", "user", Some("tenant-a")).await;
    session(app, &bob, (1, 0, 60), UA_ANDROID, "203.0.113.20").await;
    session(app, &bob, (6, 6, 1), UA_WINDOWS, "203.0.113.21").await;

    let cy = user(app, "cy@b.example", "Cy", "user", Some("tenant-b")).await;
    let cy_safari = session(app, &cy, (3, 0, 60), UA_MAC_SAFARI, "198.51.100.30").await;
    session(app, &cy, (8, 2, 60), UA_IPHONE, "198.51.100.31").await;
    session(app, &cy, (4, 4, 1), UA_ANDROID, "198.51.100.32").await;

    // Twelve active sessions against a limit of ten: one user over the limit, two in excess.
    let dee = user(app, "dee@b.example", "Dee", "user", Some("tenant-b")).await;
    let mut dee_sessions = Vec::new();
    for i in 0..12 {
        let ip = format!("198.51.100.{}", 40 + i);
        let ua = if i % 3 == 0 { UA_ANDROID } else { UA_WINDOWS };
        dee_sessions.push(session(app, &dee, (i * 2 + 1, i, 60), ua, &ip).await);
    }

    let eve = user(app, "eve@example.com", "Eve", "user", None).await;
    session(app, &eve, (15, 15, 60), UA_CURL, "192.0.2.50").await;
    session(app, &eve, (38, 35, 60), UA_LINUX_FIREFOX, "192.0.2.51").await;

    // Enough sessions for a second page of 25.
    let gus = user(app, "gus@example.com", "Gus", "user", None).await;
    for (i, ua) in [UA_MAC_SAFARI, UA_WINDOWS, UA_IPHONE, UA_MAC_FIREFOX]
        .iter()
        .enumerate()
    {
        let i = i as i64;
        session(
            app,
            &gus,
            (i * 7 + 9, i, 60),
            ua,
            &format!("192.0.2.{}", 60 + i),
        )
        .await;
    }

    json!({
        "password": PASSWORD,
        "admin": "admin@example.com",
        "tenantAdmin": "tenant-admin@a.example",
        "plain": "plain@a.example",
        "tenantA": "tenant-a",
        "tenantB": "tenant-b",
        "seeded": {"total": 27, "expired": 2, "inactive": 2, "usersOverLimit": 1,
                   "tenantA": 6, "tenantB": 15, "noTenant": 6},
        "revokeOne": {"id": cy_safari, "userId": cy, "email": "cy@b.example"},
        "revokeSelected": {"ids": [ada_iphone, ada_windows], "userId": ada},
        "revokeUser": {"userId": bob, "email": "bob@a.example"},
        "staleRevoke": {"id": dee_sessions[0], "userId": dee},
        "iphoneIp": "203.0.113.10",
    })
}

both_stores!(
    dashboard_works_in_a_real_browser,
    Settings::new()
        // The browser's origin is the random loopback port, not BASE_URL.
        .set("BETTER_AUTH_TRUSTED_ORIGINS", "http://127.0.0.1:*")
        .set("SESSION_EXPIRES_IN", &(60 * 24 * 3600).to_string())
        .set("SESSION_INACTIVITY_TIMEOUT_DAYS", "30")
        .set("MAX_SESSIONS_PER_USER", "10"),
    |app| async move {
        let Some(dir) = browser_setup() else { return };
        let fixture = seed(&app).await;
        // The seed is what the test believes: check it through the API before the browser runs.
        let token = app
            .sign_in("admin@example.com")
            .await
            .session_cookie()
            .unwrap();
        let stats = app.get("/api/admin/sessions/stats", Some(&token)).await;
        assert_eq!(stats.status, 200, "{:?}", stats.body);
        assert_eq!(stats.body["expiredSessions"], 2);
        assert_eq!(stats.body["inactiveSessions"], 2);
        assert_eq!(stats.body["usersOverLimit"], 1);
        // The admin session just made is the 28th.
        assert_eq!(stats.body["totalSessions"], 28);
        app.post("/api/auth/sign-out", Some(&token), json!({}))
            .await;

        let label = match app.store().backend() {
            sessionkeeper::store::Backend::Sqlite => "sqlite",
            sessionkeeper::store::Backend::Postgres => "postgres",
        };
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg(dir.join("dashboard.test.mjs"))
            .arg(&app.url)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("E2E_FIXTURE", fixture.to_string())
            .env("E2E_LABEL", label)
            .kill_on_drop(true);
        let out = tokio::time::timeout(StdDuration::from_secs(300), cmd.output())
            .await
            .expect("the browser test finishes within 5 minutes")
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "browser test failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("last line is the summary ({e}):\n{stdout}"));
        assert_eq!(last["ok"], true, "{stdout}");
        println!("{stdout}");
        assert!(last["checks"].as_u64().unwrap() >= 40, "{stdout}");
    }
);
