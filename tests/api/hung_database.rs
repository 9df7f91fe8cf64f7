//! A database that stops answering with its connections open (issue 19, finding 7), through
//! a TCP proxy in front of PostgreSQL that stops forwarding: `/readyz` says 503 within its
//! bound instead of hanging, admin reads fail with 503 within the statement timeout, session
//! checks within the request timeout, `/healthz` keeps answering, and once the proxy forwards
//! again the server recovers on its own.

use crate::helpers::{Db, Settings, TestDb, spawn_on};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Forwards bytes both ways while `frozen` is false; while it is true, holds them.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while frozen.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A proxy to `upstream` on a free local port; returns the port.
async fn proxy(upstream: String, frozen: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let frozen = frozen.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, frozen.clone()));
                pump(sr, cw, frozen).await;
            });
        }
    });
    port
}

/// `url` with its host and port replaced by the proxy's.
fn through(url: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_host(Some("127.0.0.1")).unwrap();
    u.set_port(Some(port)).unwrap();
    u.to_string()
}

/// The status of `GET path` and how long it took; a request with no answer within 15 s
/// counts as status 0 (the server must never leave one hanging that long).
async fn timed(app: &crate::helpers::TestApp, path: &str, cookie: Option<&str>) -> (u16, Duration) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut req = client.get(format!("{}{path}", app.url));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let t = Instant::now();
    let status = req.send().await.map_or(0, |r| r.status().as_u16());
    (status, t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_database_gets_503s_within_the_bounds_and_recovers() {
    let Some(mut db) = TestDb::new(Db::Postgres).await else {
        return;
    };
    let upstream = {
        let u = url::Url::parse(&db.url).unwrap();
        format!(
            "{}:{}",
            u.host_str().unwrap_or("127.0.0.1"),
            u.port().unwrap_or(5432)
        )
    };
    let frozen = Arc::new(AtomicBool::new(false));
    let port = proxy(upstream, frozen.clone()).await;
    db.url = through(&db.url, port);
    let settings = Settings::new()
        .set("DATABASE_STATEMENT_TIMEOUT_SECONDS", "2")
        .set("REQUEST_TIMEOUT_SECONDS", "4")
        .set("ADMIN_API_TOKEN", "service-token-0123456789abcdef");
    let app = spawn_on(db, settings).await.expect("app starts");
    let cookie = app.user_cookie("hung@example.com").await;
    assert_eq!(app.get("/readyz", None).await.status, 200);

    frozen.store(true, Ordering::Relaxed);
    let (status, took) = timed(&app, "/readyz", None).await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(3), "/readyz took {took:?}");

    let t = Instant::now();
    let status = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .get(format!("{}/api/admin/sessions", app.url))
        .bearer_auth("service-token-0123456789abcdef")
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    let took = t.elapsed();
    assert_eq!(status, 503, "admin listing after {took:?}");
    assert!(took < Duration::from_secs(5), "admin listing took {took:?}");

    let (status, took) = timed(&app, "/api/auth/get-session", Some(&cookie)).await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(6), "get-session took {took:?}");

    let (status, took) = timed(&app, "/healthz", None).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");

    frozen.store(false, Ordering::Relaxed);
    let t = Instant::now();
    loop {
        if app.get("/readyz", None).await.status == 200
            && app.get("/api/auth/get-session", Some(&cookie)).await.status == 200
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no recovery 30 s after the database answered again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
