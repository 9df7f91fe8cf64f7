//! Rate limiting compared with the real Better Auth 1.7.25 (compat/node/ba-server.mjs with
//! `BA_RATE_LIMIT`): the same request sequence, from the same client addresses (sent as
//! `X-Forwarded-For`; we trust it from 127.0.0.1 through `TRUSTED_PROXIES`), must get the
//! same statuses and `X-Retry-After` within a second, with memory and with database storage.

use crate::both_stores;
use crate::compat::{BaServer, compat_dir};
use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

enum Step {
    Send {
        post: bool,
        path: &'static str,
        ip: &'static str,
        body: Value,
    },
    Sleep(u64),
}

fn sign_in(ip: &'static str, n: usize) -> Vec<Step> {
    (0..n)
        .map(|_| Step::Send {
            post: true,
            path: "/api/auth/sign-in/email",
            ip,
            // Refused before any password hashing on both servers (400), so the two
            // servers' timings stay close on a busy machine: the counting is the same.
            body: json!({"email": "not-an-email", "password": "wrong-password-1"}),
        })
        .collect()
}

fn get(ip: &'static str, path: &'static str, n: usize) -> Vec<Step> {
    (0..n)
        .map(|_| Step::Send {
            post: false,
            path,
            ip,
            body: Value::Null,
        })
        .collect()
}

/// The sequence: the special sign-in rule per address, IPv6 grouped by /64, an IPv4-mapped
/// IPv6 address counted as its IPv4, sign-up, get-session under the global rule, paths
/// counted apart, a refusal's retry time after a pause, and the counter's reset.
fn sequence() -> Vec<Step> {
    let mut s = Vec::new();
    s.extend(sign_in("203.0.113.10", 5));
    s.extend(sign_in("203.0.113.11", 2));
    s.extend(sign_in("2001:db8:1:2::1", 2));
    s.extend(sign_in("2001:db8:1:2:ffff::99", 2));
    s.extend(sign_in("2001:db8:1:3::1", 1));
    s.extend(sign_in("::ffff:203.0.113.11", 2));
    for _ in 0..4 {
        s.push(Step::Send {
            post: true,
            path: "/api/auth/sign-up/email",
            ip: "198.51.100.9",
            body: json!({"name": "N", "email": "new@example.com", "password": "short"}),
        });
    }
    s.extend(get("198.51.100.7", "/api/auth/get-session", 101));
    s.extend(get("198.51.100.7", "/api/auth/ok", 1));
    s.extend(get("198.51.100.8", "/api/auth/get-session", 1));
    s.push(Step::Sleep(3000));
    s.extend(sign_in("203.0.113.10", 1));
    s.push(Step::Sleep(8000));
    // More than 10 s after 203.0.113.10's last allowed request: counted afresh.
    s.extend(sign_in("203.0.113.10", 1));
    s
}

type Seen = (u16, Option<u64>);

async fn send(http: &reqwest::Client, base: &str, step: &Step) -> Option<Seen> {
    let Step::Send {
        post,
        path,
        ip,
        body,
    } = step
    else {
        return None;
    };
    let url = format!("{base}{path}");
    let req = if *post {
        http.post(url).json(body).header("origin", base)
    } else {
        http.get(url)
    };
    let res = req.header("x-forwarded-for", *ip).send().await.unwrap();
    let retry = res
        .headers()
        .get("x-retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Some((res.status().as_u16(), retry))
}

/// `(status, X-Retry-After)` of every request, ours and theirs. Each request goes to both
/// servers at once, so both see the same timeline even when one answers slower.
async fn run(ours: &str, theirs: &str) -> (Vec<Seen>, Vec<Seen>) {
    let http = reqwest::Client::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for step in sequence() {
        if let Step::Sleep(ms) = step {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            continue;
        }
        let (x, y) = tokio::join!(send(&http, ours, &step), send(&http, theirs, &step));
        a.extend(x);
        b.extend(y);
    }
    (a, b)
}

fn assert_same(ours: &[(u16, Option<u64>)], theirs: &[(u16, Option<u64>)]) {
    assert_eq!(ours.len(), theirs.len());
    for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(
            o.0, t.0,
            "request {i}: status ours {o:?} theirs {t:?}\nours {ours:?}\ntheirs {theirs:?}"
        );
        match (o.1, t.1) {
            (None, None) => {}
            (Some(a), Some(b)) => assert!(
                a.abs_diff(b) <= 1,
                "request {i}: X-Retry-After ours {a} theirs {b}"
            ),
            _ => panic!("request {i}: X-Retry-After ours {:?} theirs {:?}", o.1, t.1),
        }
    }
    // The sequence does exercise the limiter: refusals with their retry times.
    assert!(ours.iter().filter(|r| r.0 == 429).count() >= 7, "{ours:?}");
}

fn settings(storage: &str) -> Settings {
    Settings::new()
        .set("RATE_LIMIT_ENABLED", "true")
        .set("RATE_LIMIT_STORAGE", storage)
        .set("TRUSTED_PROXIES", "127.0.0.1")
        .set("BETTER_AUTH_TRUSTED_ORIGINS", "http://127.0.0.1:*")
}

async fn compare(db: Db, storage: &str) {
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let app = spawn_on_clock(test_db, settings(storage), true)
        .await
        .unwrap();
    let ba_db = tempfile::tempdir().unwrap();
    let path = ba_db.path().join("ba.db");
    let server = BaServer::start(
        &dir,
        &[
            ("SQLITE_PATH", path.to_str().unwrap()),
            ("BA_RATE_LIMIT", storage),
        ],
    );
    let (ours, theirs) = run(&app.url, &server.url).await;
    assert_same(&ours, &theirs);
    if storage == "database" {
        let key = "203.0.113.10|/sign-in/email";
        let row = app.store().read_rate_limit(key).await.unwrap();
        assert!(row.is_some_and(|c| c.count == 1), "{row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_statuses_and_retry_times_as_better_auth_in_memory() {
    compare(Db::Sqlite, "memory").await;
}

mod database_storage {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        compare(Db::Sqlite, "database").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        compare(Db::Postgres, "database").await;
    }
}

async fn try_sign_in(app: &TestApp) -> Res {
    let req = app
        .http
        .post(format!("{}/api/auth/sign-in/email", app.url))
        .header("origin", BASE_URL)
        .header("x-forwarded-for", "192.0.2.44")
        .json(&json!({"email": "x@example.com", "password": "wrong-password-1"}));
    app.send(req).await
}

both_stores!(
    two_instances_on_one_database_share_the_counters,
    |first| async move {
        // `first` runs with the limiter off; two more servers share its database.
        let a = spawn_on_clock(first.db.share(), settings("database"), false)
            .await
            .unwrap();
        let b = spawn_on_clock(first.db.share(), settings("database"), false)
            .await
            .unwrap();
        assert_eq!(try_sign_in(&a).await.status, 401);
        assert_eq!(try_sign_in(&b).await.status, 401);
        assert_eq!(try_sign_in(&a).await.status, 401);
        let refused = try_sign_in(&b).await;
        assert_eq!(refused.status, 429, "{:?}", refused.body);
        assert_eq!(
            refused.body["message"],
            "Too many requests. Please try again later."
        );
        assert_eq!(refused.headers["x-retry-after"], "10");
        assert_eq!(try_sign_in(&a).await.status, 429);
        // The other address is unaffected on either instance.
        let other = a
            .send(
                a.http
                    .get(format!("{}/api/auth/get-session", a.url))
                    .header("x-forwarded-for", "192.0.2.45"),
            )
            .await;
        assert_eq!(other.status, 200);
    }
);

/// Shared mode: the Node app (Better Auth with `rateLimit.storage: "database"`, which made the
/// `rateLimit` table) and sessionkeeper on its database count one client together.
async fn node_and_we_share_counters(db: Db) {
    use crate::shared_node::{ba_env, start_node};
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let env = ba_env(&test_db, false);
    let server = start_node(&dir, &env, &[("BA_RATE_LIMIT", "database")]);
    let settings = settings("database")
        .set("SESSIONKEEPER_MODE", "shared")
        .set("TENANT_SOURCE", "organization");
    let app = spawn_on_clock(test_db, settings, true).await.unwrap();
    let http = reqwest::Client::new();
    let step = Step::Send {
        post: true,
        path: "/api/auth/sign-in/email",
        ip: "192.0.2.77",
        body: json!({"email": "not-an-email", "password": "wrong-password-1"}),
    };
    let mut seen = Vec::new();
    for base in [&server.url, &app.url, &server.url, &app.url, &server.url] {
        seen.push(send(&http, base, &step).await.unwrap());
    }
    let statuses: Vec<u16> = seen.iter().map(|s| s.0).collect();
    assert_eq!(statuses, [400, 400, 400, 429, 429], "{seen:?}");
    for (_, retry) in &seen[3..] {
        assert!(retry.is_some_and(|r| (9..=10).contains(&r)), "{seen:?}");
    }
    // The Node app goes before its database is dropped.
    drop(server);
    drop(app);
}

mod shared_with_node {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        node_and_we_share_counters(Db::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        node_and_we_share_counters(Db::Postgres).await;
    }
}
