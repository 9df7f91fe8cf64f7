//! Slow and half-sent clients against the real binary (issue 19, finding 1): with its file
//! limit at 1024, 2,000 half-sent requests never take the server's last descriptor (its
//! connection cap sits below the limit, with a warning), each is closed within the header
//! timeout, and `/healthz` answers within a second right after. SIGTERM with idle and
//! half-sent connections open exits at once, and with half-sent bodies within the shutdown
//! timeout.

use crate::helpers::{Db, TestDb};
use crate::process::ServerProcess;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HALF_HEADER: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: sessionkeeper\r\nX-Slow: ";
/// A sign-in whose body stops after a few bytes (from a trusted origin, so that the handler
/// waits for the rest).
fn half_body() -> Vec<u8> {
    format!(
        "POST /api/auth/sign-in/email HTTP/1.1\r\nHost: sessionkeeper\r\nOrigin: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"email\":",
        crate::helpers::BASE_URL
    )
    .into_bytes()
}

fn addr(server: &ServerProcess) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends `prefix` (nothing for an idle one).
async fn open(addr: &str, prefix: &[u8]) -> Option<(TcpStream, Instant)> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    let at = Instant::now();
    if !prefix.is_empty() {
        s.write_all(prefix).await.ok()?;
    }
    Some((s, at))
}

/// When the server closed `s` (EOF or reset), at most `limit` after `opened`.
async fn closed_at(mut s: TcpStream, opened: Instant, limit: Duration) -> Option<Instant> {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::from_std(opened + limit);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(Instant::now()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_half_sent_requests_with_1024_descriptors() {
    const HEADER_TIMEOUT: u64 = 5;
    let db = TestDb::new(Db::Sqlite).await.expect("SQLite");
    let mut server = ServerProcess::start_limited(
        &db.url,
        &[("HEADER_TIMEOUT_SECONDS", "5"), ("RUST_LOG", "info")],
        Some(1024),
    );
    let pid = server.pid();
    let addr = addr(&server);

    // Watch the server's descriptors while the flood lasts.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watch = {
        let watching = watching.clone();
        tokio::spawn(async move {
            let mut most = 0;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(open_descriptors(pid));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            most
        })
    };

    let started = Instant::now();
    let mut opened = Vec::new();
    let mut failed_connects = 0;
    for chunk in 0..20 {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let addr = addr.clone();
                tokio::spawn(async move { open(&addr, HALF_HEADER).await })
            })
            .collect();
        for t in tasks {
            match t.await.expect("connect task") {
                Some(c) => opened.push(c),
                None => failed_connects += 1,
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "connecting stalled at chunk {chunk}"
        );
    }
    // The server closes them at the header timeout; the margin is this test's own lag in
    // noticing 2,000 closes on two threads of a loaded machine (7.3 s seen in a full run).
    let limit = Duration::from_secs(HEADER_TIMEOUT + 5);
    let waits: Vec<_> = opened
        .into_iter()
        .map(|(s, at)| tokio::spawn(async move { (closed_at(s, at, limit).await, at) }))
        .collect();
    let mut held_open = 0;
    let mut longest = Duration::ZERO;
    for w in waits {
        match w.await.expect("wait task") {
            (Some(closed), at) => longest = longest.max(closed - at),
            (None, _) => held_open += 1,
        }
    }
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let most_descriptors = watch.await.expect("watch task");
    assert_eq!(
        held_open,
        0,
        "half-sent connections still open {} s after they were opened",
        limit.as_secs()
    );

    // Right after: the server answers at once.
    let t = Instant::now();
    let res = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("/healthz answers within a second");
    assert_eq!(res.status(), 200);
    let healthz = t.elapsed();

    let log = server.log_lines();
    let joined = log.join("\n");
    assert!(
        !joined.contains("Too many open files") && !joined.contains("accept failed"),
        "the server ran out of descriptors:\n{joined}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("file-descriptor limit") && l.contains("\"WARN\"")),
        "no warning about the connection cap:\n{joined}"
    );
    assert!(
        most_descriptors < 1024,
        "the server held {most_descriptors} descriptors"
    );
    eprintln!(
        "slow clients: 2000 half-sent ({failed_connects} refused at connect), all closed within {longest:?} \
         (header timeout {HEADER_TIMEOUT} s), at most {most_descriptors} descriptors, /healthz in {healthz:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_idle_and_half_sent_connections_exits_at_once() {
    let db = TestDb::new(Db::Sqlite).await.expect("SQLite");
    let mut server = ServerProcess::start(&db.url, &[]);
    let addr = addr(&server);
    let mut held = Vec::new();
    for prefix in [&b""[..], HALF_HEADER] {
        for _ in 0..10 {
            held.push(open(&addr, prefix).await.expect("connect"));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    server.terminate();
    let code = server.wait(Duration::from_secs(10));
    let took = t.elapsed();
    assert_eq!(code, Some(0), "exit code after SIGTERM");
    // No request is in progress on any of them: nothing to wait for (the old server waited
    // for each to time out, about 24 s with five).
    assert!(took < Duration::from_secs(2), "exited after {took:?}");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_half_sent_bodies_exits_within_the_shutdown_timeout() {
    let db = TestDb::new(Db::Sqlite).await.expect("SQLite");
    let mut server = ServerProcess::start(
        &db.url,
        &[
            ("SHUTDOWN_TIMEOUT_SECONDS", "2"),
            ("BODY_TIMEOUT_SECONDS", "60"),
            ("REQUEST_TIMEOUT_SECONDS", "60"),
        ],
    );
    let addr = addr(&server);
    let mut held = Vec::new();
    let body = half_body();
    for prefix in [&b""[..], HALF_HEADER, &body[..]] {
        for _ in 0..5 {
            held.push(open(&addr, prefix).await.expect("connect"));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    server.terminate();
    let code = server.wait(Duration::from_secs(20));
    let took = t.elapsed();
    assert_eq!(code, Some(0), "exit code after SIGTERM");
    assert!(
        took < Duration::from_millis(3500),
        "exited after {took:?}, beyond SHUTDOWN_TIMEOUT_SECONDS=2"
    );
    drop(held);
}
