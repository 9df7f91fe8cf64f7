//! The get-session load the cleanup runs under: a closed loop (each client sends its next
//! request when the last one is answered, so it takes whatever the machine can give) or an open
//! loop at a fixed rate (requests leave on a schedule whatever happens to the ones before, so a
//! stall of the server is charged to every request that arrives during it). Open-loop
//! latencies count from the moment the request was sent; how late the sender itself was
//! against its schedule (tokio's timer has a 1 ms tick) is reported on its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every closed-loop client stops after this many requests, whatever the phase length.
const MAX_REQUESTS_PER_WORKER: usize = 200_000;
/// Connections the open loop opens before it starts, so that a stall is not also charged
/// with TCP set-up for the connections it makes the client open.
const OPEN_LOOP_CONNECTIONS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Closed,
    /// Requests per second.
    Open(u32),
}

impl Mode {
    pub fn describe(self, clients: usize) -> String {
        match self {
            Mode::Closed => format!("closed loop, {clients} clients back to back"),
            Mode::Open(rate) => format!("open loop, {rate} requests/s on a fixed schedule"),
        }
    }
}

pub struct Load {
    latencies: Vec<Duration>,
    /// Open loop: how late each request left against its schedule.
    lateness: Vec<Duration>,
    elapsed: Duration,
    /// Share of the machine's CPU time (all cores) that was busy during the phase.
    pub cpu_busy: f64,
}

impl Load {
    /// Latency percentile `p` (0 to 1), in ms.
    pub fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies, p)
    }

    /// Open loop: the sender's lateness percentile, in ms (NaN for a closed loop).
    pub fn late_pct(&self, p: f64) -> f64 {
        percentile(&self.lateness, p)
    }

    pub fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Pools another repetition of the same phase into this one.
    pub fn merge(&mut self, other: Load) {
        let (a, b) = (self.elapsed.as_secs_f64(), other.elapsed.as_secs_f64());
        self.cpu_busy = (self.cpu_busy * a + other.cpu_busy * b) / (a + b);
        self.latencies.extend(other.latencies);
        self.lateness.extend(other.lateness);
        self.elapsed += other.elapsed;
    }
}

fn percentile(v: &[Duration], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort();
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

/// What one load thread measured: latencies, sender lateness (open loop), wall time.
type Measured = (Vec<Duration>, Vec<Duration>, Duration);

/// A running load; `finish` stops it and returns what it measured.
pub struct Running {
    stop: Arc<AtomicBool>,
    cpu_at_start: CpuTimes,
    thread: std::thread::JoinHandle<Measured>,
}

impl Running {
    pub fn finish(self) -> Load {
        self.stop.store(true, Ordering::Relaxed);
        let cpu = CpuTimes::read().since(self.cpu_at_start);
        let (latencies, lateness, elapsed) = self.thread.join().expect("load thread");
        Load {
            latencies,
            lateness,
            elapsed,
            cpu_busy: cpu,
        }
    }
}

/// Starts the load on a thread and runtime of its own, so that its timing does not wait on
/// the server's runtime (they still share the machine's cores).
pub fn start(mode: Mode, base: &str, cookies: &[String]) -> Running {
    let url = format!("{base}/api/auth/get-session");
    let cookies = cookies.to_vec();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("load runtime");
        rt.block_on(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(OPEN_LOOP_CONNECTIONS)
                .build()
                .expect("client");
            if matches!(mode, Mode::Open(_)) {
                warm_up(&http, &url, &cookies).await;
            }
            let _ = ready_tx.send(());
            let start = Instant::now();
            let (latencies, lateness) = match mode {
                Mode::Closed => (closed(&http, &url, &cookies, &flag).await, Vec::new()),
                Mode::Open(rate) => open(&http, &url, &cookies, rate, &flag).await,
            };
            (latencies, lateness, start.elapsed())
        })
    });
    let _ = ready_rx.recv();
    Running {
        stop,
        cpu_at_start: CpuTimes::read(),
        thread,
    }
}

async fn get_session(http: &reqwest::Client, url: &str, cookie: &str) {
    let res = http.get(url).header("cookie", cookie).send().await;
    let ok = match res {
        Ok(r) => r.status().is_success() && r.text().await.is_ok_and(|b| b.contains("\"user\"")),
        Err(_) => false,
    };
    assert!(ok, "get-session failed under load");
}

async fn warm_up(http: &reqwest::Client, url: &str, cookies: &[String]) {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..OPEN_LOOP_CONNECTIONS {
        let (http, url, cookie) = (
            http.clone(),
            url.to_owned(),
            cookies[i % cookies.len()].clone(),
        );
        set.spawn(async move { get_session(&http, &url, &cookie).await });
    }
    set.join_all().await;
}

async fn closed(
    http: &reqwest::Client,
    url: &str,
    cookies: &[String],
    stop: &AtomicBool,
) -> Vec<Duration> {
    let clients = cookies.iter().map(|cookie| async move {
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) && out.len() < MAX_REQUESTS_PER_WORKER {
            let t = Instant::now();
            get_session(http, url, cookie).await;
            out.push(t.elapsed());
        }
        out
    });
    futures::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn open(
    http: &reqwest::Client,
    url: &str,
    cookies: &[String],
    rate: u32,
    stop: &AtomicBool,
) -> (Vec<Duration>, Vec<Duration>) {
    let period = Duration::from_secs(1) / rate.max(1);
    let mut due = tokio::time::Instant::now();
    let mut requests = Vec::new();
    let mut lateness = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        // Everything due by now leaves now: a late wake-up sends a burst, as real clients
        // that do not wait for each other would.
        let now = tokio::time::Instant::now();
        while due <= now {
            let (http, url) = (http.clone(), url.to_owned());
            let cookie = cookies[requests.len() % cookies.len()].clone();
            lateness.push(now - due);
            requests.push(tokio::spawn(async move {
                let sent = Instant::now();
                get_session(&http, &url, &cookie).await;
                sent.elapsed()
            }));
            due += period;
        }
        tokio::time::sleep_until(due).await;
    }
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        out.push(r.await.expect("request task"));
    }
    (out, lateness)
}

/// Machine-wide CPU time from /proc/stat (Linux), in clock ticks.
#[derive(Clone, Copy, Default)]
struct CpuTimes {
    busy: u64,
    total: u64,
}

impl CpuTimes {
    fn read() -> Self {
        let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
            return Self::default();
        };
        let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
            return Self::default();
        };
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: u64 = v.iter().take(8).sum();
        // idle and iowait
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        Self {
            busy: total - idle,
            total,
        }
    }

    fn since(self, start: Self) -> f64 {
        let total = self.total.saturating_sub(start.total);
        if total == 0 {
            return f64::NAN;
        }
        self.busy.saturating_sub(start.busy) as f64 / total as f64
    }
}
