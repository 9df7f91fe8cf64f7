//! Memory storage is bounded: 10,000 distinct client addresses (through a trusted proxy's
//! `X-Forwarded-For`) against the real binary, its resident memory read from /proc.

use crate::helpers::SECRET;
use futures::StreamExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &std::path::Path, max_keys: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("AUTOMATIC_SESSION_CLEANUP", "false")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/rl-{max_keys}.db", dir.display()),
        )
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .env("RATE_LIMIT_MEMORY_MAX_KEYS", max_keys)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/healthz", server.url))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// get-session from `n` addresses 10.x.y.z starting at `from`, 32 at a time.
async fn flood(url: &str, from: u32, n: u32) {
    let http = reqwest::Client::new();
    futures::stream::iter(from..from + n)
        .map(|i| {
            let req = http.get(format!("{url}/api/auth/get-session")).header(
                "x-forwarded-for",
                format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
            );
            async move { req.send().await.map(|r| r.status().as_u16()) }
        })
        .buffer_unordered(32)
        .for_each(|r| async move { assert_eq!(r.unwrap(), 200) })
        .await;
}

async fn keys(url: &str) -> u64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("sessionkeeper_rate_limit_memory_keys "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Returns (keys held, RSS growth in KiB) after 10,000 new addresses.
async fn measure(dir: &std::path::Path, max_keys: &str) -> (u64, u64) {
    let server = start(dir, max_keys).await;
    let pid = server.child.id();
    // Warm up the allocator, the connection pool and the tokio workers with as many requests.
    flood(&server.url, 1_000_000, 5_000).await;
    let before = rss_kib(pid);
    flood(&server.url, 0, 10_000).await;
    let after = rss_kib(pid);
    (keys(&server.url).await, after.saturating_sub(before))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_addresses_stay_within_the_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    // Default bound (100,000 keys): every address is held.
    let (held, grown) = measure(dir.path(), "100000").await;
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "rate limit memory: 100000-key bound: {held} keys held, RSS +{grown} KiB for 10,000 new addresses"
    );
    assert!((10_000..=15_001).contains(&held), "{held}");
    assert!(grown < 16 * 1024, "RSS grew {grown} KiB for 10,000 keys");
    // A bound of 1,000: new addresses evict old ones; the map never holds more.
    let (held, grown) = measure(dir.path(), "1000").await;
    let _ = writeln!(
        std::io::stderr(),
        "rate limit memory: 1000-key bound: {held} keys held, RSS +{grown} KiB for 10,000 new addresses"
    );
    assert!(held <= 1_008, "{held}");
    assert!(
        grown < 4 * 1024,
        "RSS grew {grown} KiB with a 1,000-key bound"
    );
}
