//! `/metrics` of a real server process (its own registry, so every count is exact): traffic
//! of each kind moves each metric family as it should, label values stay bounded, the token
//! and the separate listener work. On SQLite and PostgreSQL.

use crate::helpers::{BASE_URL, Db, PASSWORD, Settings, TestDb, test_config};
use crate::process::{Samples, ServerProcess, parse_metrics, sample};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const METRICS_TOKEN: &str = "metrics-token-0123456789";
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

#[tokio::test]
async fn metrics_move_with_traffic_sqlite() {
    metrics_move_with_traffic(Db::Sqlite).await;
}

#[tokio::test]
async fn metrics_move_with_traffic_postgres() {
    metrics_move_with_traffic(Db::Postgres).await;
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("origin", BASE_URL)
            .json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.expect("request")
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.expect("request")
    }

    async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let body = json!({"email": email, "password": password});
        self.post("/api/auth/sign-in/email", None, body).await
    }
}

fn cookie_of(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("better-auth.session_token=") && !c.contains("=;"))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

async fn session_id(c: &Client, cookie: &str) -> String {
    let body: Value = c
        .get("/api/auth/get-session", Some(cookie))
        .await
        .json()
        .await
        .expect("json");
    body["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned()
}

async fn scrape(url: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("scrape");
    (res.status(), res.text().await.expect("text"))
}

async fn metrics_move_with_traffic(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let server = ServerProcess::start(
        &db.url,
        &[
            ("METRICS_TOKEN", METRICS_TOKEN),
            ("METRICS_LISTEN_ADDR", "127.0.0.1:0"),
            ("ADMIN_API_TOKEN", ADMIN_TOKEN),
            ("MAX_SESSIONS_PER_USER", "3"),
            // One general connection: concurrent requests must wait for it.
            ("DATABASE_MAX_CONNECTIONS", "2"),
        ],
    );
    let metrics_url = format!("http://{}", server.metrics_addr.expect("metrics listener"));
    let c = Client {
        http: reqwest::Client::new(),
        url: server.url.clone(),
    };
    let store = sessionkeeper::app::open_store(&test_config(&db.url, &Settings::new()))
        .await
        .expect("store");

    // The token guards the separate listener; the main one has no /metrics.
    assert_eq!(scrape(&metrics_url, None).await.0, StatusCode::UNAUTHORIZED);
    let wrong = Some("metrics-token-0123456780");
    assert_eq!(
        scrape(&metrics_url, wrong).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, before) = scrape(&metrics_url, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let before = parse_metrics(&before);
    assert_eq!(
        scrape(&server.url, Some(METRICS_TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );

    let ids = drive_traffic(&c, &*store).await;
    let (_, after) = scrape(&metrics_url, Some(METRICS_TOKEN)).await;
    let after = parse_metrics(&after);
    assert_families_moved(&before, &after);
    let mut forbidden: Vec<&str> = ids.iter().map(String::as_str).collect();
    forbidden.extend(["4711", "@"]);
    assert_labels_bounded(&after, &forbidden);
    dashboard_and_alerts_name_live_metrics(&metrics_url).await;
}

/// Traffic of every kind; the ids of the sessions it made, which no label may hold.
async fn drive_traffic(c: &Client, store: &dyn sessionkeeper::store::Store) -> Vec<String> {
    // Sign-ups: two new, one taken, one invalid.
    for email in [
        "ada@example.com",
        "bob@example.com",
        "ada@example.com",
        "not-an-email",
    ] {
        let body = json!({"name": "T", "email": email, "password": PASSWORD});
        c.post("/api/auth/sign-up/email", None, body).await;
    }
    // Sign-ins: three good (the third evicts ada's sign-up session: a limit of 3), one bad.
    let mut cookies = Vec::new();
    for _ in 0..3 {
        let res = c.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(res.status(), 200);
        cookies.push(cookie_of(&res));
    }
    assert_eq!(
        c.sign_in("ada@example.com", "wrong-password-123")
            .await
            .status(),
        401
    );
    let bob = cookie_of(&c.sign_in("bob@example.com", PASSWORD).await);

    // get-session: valid, missing (no token, unknown token), refused (forged), expired.
    let ada = cookies[2].clone();
    c.get("/api/auth/get-session", Some(&ada)).await;
    c.get("/api/auth/get-session", None).await;
    c.get(
        "/api/auth/get-session",
        Some("better-auth.session_token=forged.c2lnbmF0dXJl"),
    )
    .await;
    let expired_id = session_id(c, &bob).await;
    let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    store
        .touch_session(&expired_id, past, past)
        .await
        .expect("touch");
    c.get("/api/auth/get-session", Some(&bob)).await;

    // Concurrent requests on the one general connection.
    let lists = (0..16).map(|_| c.get("/api/auth/list-sessions", Some(&ada)));
    futures::future::join_all(lists).await;

    // Sessions ended: admin delete, revoke, sign-out; a cleanup run deletes an expired one.
    let carol = cookie_of(&c.sign_in("ada@example.com", PASSWORD).await);
    let carol_id = session_id(c, &carol).await;
    let res = c
        .http
        .delete(format!("{}/api/admin/sessions/{carol_id}", c.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin delete");
    assert_eq!(res.status(), 200);
    let dave = cookie_of(&c.sign_in("bob@example.com", PASSWORD).await);
    let dave_id = session_id(c, &dave).await;
    store
        .touch_session(&dave_id, past, past)
        .await
        .expect("touch");
    let res = c
        .http
        .post(format!("{}/api/admin/sessions/cleanup", c.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .expect("cleanup");
    assert_eq!(res.status(), 200);
    let eve = cookie_of(&c.sign_in("bob@example.com", PASSWORD).await);
    c.sign_in("bob@example.com", PASSWORD).await;
    // Ends bob's sign-up session and the sign-in just made.
    c.post("/api/auth/revoke-other-sessions", Some(&eve), json!({}))
        .await;
    c.post("/api/auth/sign-out", Some(&eve), json!({})).await;
    c.get("/no/such/page/4711", None).await;

    vec![carol_id, dave_id, expired_id]
}

/// Each family moved by exactly what [`drive_traffic`] did.
fn assert_families_moved(before: &Samples, after: &Samples) {
    let d = |name: &str, labels: &[(&str, &str)]| {
        sample(after, name, labels) - sample(before, name, labels)
    };

    let ups = "sessionkeeper_sign_ups_total";
    assert_eq!(d(ups, &[("outcome", "success")]), 2.0);
    assert_eq!(d(ups, &[("outcome", "user_exists")]), 1.0);
    let ins = "sessionkeeper_sign_ins_total";
    assert_eq!(d(ins, &[("outcome", "success")]), 8.0);
    assert_eq!(d(ins, &[("outcome", "invalid_credentials")]), 1.0);
    assert_eq!(d("sessionkeeper_sessions_created_total", &[]), 10.0);

    let ended = "sessionkeeper_sessions_ended_total";
    // ada's sign-up session at her third sign-in, her first sign-in's at the fourth.
    assert_eq!(d(ended, &[("reason", "evicted")]), 2.0);
    assert_eq!(
        d("sessionkeeper_sessions_evicted_at_sign_in_total", &[]),
        2.0
    );
    assert_eq!(d(ended, &[("reason", "expired")]), 1.0);
    assert_eq!(d(ended, &[("reason", "admin")]), 1.0);
    assert_eq!(d(ended, &[("reason", "cleanup")]), 1.0);
    assert_eq!(d(ended, &[("reason", "revoked")]), 2.0);
    assert_eq!(d(ended, &[("reason", "sign_out")]), 1.0);

    let gs = "sessionkeeper_get_session_total";
    assert_eq!(d(gs, &[("result", "valid")]), 4.0);
    assert_eq!(d(gs, &[("result", "missing")]), 1.0);
    assert_eq!(d(gs, &[("result", "refused")]), 1.0);
    assert_eq!(d(gs, &[("result", "expired")]), 1.0);

    let http = "sessionkeeper_http_requests_total";
    let sign_in = [("route", "/api/auth/sign-in/email"), ("method", "POST")];
    assert_eq!(d(http, &[sign_in[0], sign_in[1], ("status", "200")]), 8.0);
    assert_eq!(d(http, &[sign_in[0], sign_in[1], ("status", "401")]), 1.0);
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    // /no/such/page/4711 and /metrics on the main listener.
    assert_eq!(d(http, &unmatched), 2.0);
    let admin_delete = [
        ("route", "/api/admin/sessions/{id}"),
        ("method", "DELETE"),
        ("status", "200"),
    ];
    assert_eq!(d(http, &admin_delete), 1.0);
    let latency = "sessionkeeper_http_request_duration_seconds_count";
    let get_session = [("route", "/api/auth/get-session"), ("method", "GET")];
    assert_eq!(d(latency, &get_session), 7.0);
    let le = [get_session[0], get_session[1], ("le", "+Inf")];
    assert_eq!(
        d("sessionkeeper_http_request_duration_seconds_bucket", &le),
        d(latency, &get_session)
    );

    for pool in ["general", "lookup"] {
        let max = sample(
            after,
            "sessionkeeper_db_pool_max_connections",
            &[("pool", pool)],
        );
        assert_eq!(max, 1.0, "{pool} pool max");
        let idle = [("pool", pool), ("state", "idle")];
        assert!(after.contains_key(&key("sessionkeeper_db_pool_connections", &idle)));
    }
    let waits = "sessionkeeper_db_pool_waits_total";
    assert!(
        d(waits, &[("pool", "general")]) >= 1.0,
        "concurrent requests waited"
    );
    assert!(d("sessionkeeper_session_lookup_batch_size_count", &[]) >= 7.0);
    let runs = [("outcome", "ok"), ("trigger", "manual")];
    assert_eq!(d("sessionkeeper_cleanup_runs_total", &runs), 1.0);
    assert!(
        d(
            "sessionkeeper_cleanup_batches_total",
            &[("layer", "expired")]
        ) >= 1.0
    );
    assert_eq!(
        sample(
            after,
            "sessionkeeper_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("commit", commit_of(after).as_str())
            ]
        ),
        1.0
    );
}

/// Every metric the Grafana dashboard and the alert rules query is on the live `/metrics`
/// (after the traffic above; the session gauges are refreshed just after the cleanup run, so
/// this waits a little for them).
async fn dashboard_and_alerts_name_live_metrics(metrics_url: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/deploy/grafana/sessionkeeper.json"))
            .expect("dashboard"),
    )
    .expect("dashboard is JSON");
    let mut queries: Vec<String> = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().expect("targets") {
            queries.push(t["expr"].as_str().expect("expr").to_owned());
        }
    }
    let alerts =
        std::fs::read_to_string(format!("{root}/deploy/prometheus/alerts.yml")).expect("alerts");
    queries.extend(alert_exprs(&alerts));
    let mut wanted = BTreeSet::new();
    for q in &queries {
        wanted.extend(metric_names(q));
    }
    assert!(
        wanted.len() >= 15,
        "the dashboard and alerts query {wanted:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, text) = scrape(metrics_url, Some(METRICS_TOKEN)).await;
        let live: BTreeSet<String> = parse_metrics(&text).into_keys().map(|(n, _)| n).collect();
        let missing: Vec<&String> = wanted.iter().filter(|n| !live.contains(*n)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "queried but not exported: {missing:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The `expr:` values of a rules file (a one-line value, or a `|` block up to the next key).
fn alert_exprs(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in yaml.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("expr:") {
            if let Some(done) = current.take() {
                out.push(done);
            }
            current = Some(rest.trim().trim_start_matches('|').to_owned());
        } else if t.starts_with("for:") || t.starts_with("labels:") || t.starts_with('-') {
            if let Some(done) = current.take() {
                out.push(done);
            }
        } else if let Some(c) = current.as_mut() {
            c.push(' ');
            c.push_str(t);
        }
    }
    out.extend(current);
    assert!(out.len() >= 5, "alert expressions: {out:?}");
    out
}

/// The `sessionkeeper_*` metric names a PromQL expression reads.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("sessionkeeper_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

fn key(name: &str, labels: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let mut l: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    l.sort();
    (name.to_owned(), l)
}

fn commit_of(samples: &Samples) -> String {
    samples
        .keys()
        .find(|(n, _)| n == "sessionkeeper_build_info")
        .and_then(|(_, l)| l.iter().find(|(k, _)| k == "commit"))
        .map(|(_, v)| v.clone())
        .expect("build info has a commit")
}

/// Every label value of every series is from a fixed vocabulary: route templates, methods,
/// codes, outcome words. Never an id, an address, an e-mail or a raw path.
fn assert_labels_bounded(samples: &Samples, forbidden: &[&str]) {
    let mut routes = BTreeSet::new();
    for (name, labels) in samples.keys() {
        assert!(
            name.starts_with("sessionkeeper_"),
            "unexpected family {name}"
        );
        for (k, v) in labels {
            for bad in forbidden {
                assert!(!v.contains(bad), "{name}{{{k}={v}}} holds {bad}");
            }
            if k == "route" {
                routes.insert(v.clone());
            }
            if k == "status" && name.starts_with("sessionkeeper_http_") {
                assert!(v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()), "{v}");
            }
        }
    }
    for r in &routes {
        assert!(
            r == "unmatched" || r.starts_with("/api/"),
            "route label {r}"
        );
    }
}
