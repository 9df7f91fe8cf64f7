//! The real binary as a child process: its own metrics registry (the in-process test servers
//! share one), real signals, real start-up. It logs JSON lines; the "listening" line gives
//! the addresses it bound (port 0).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    pub child: Child,
    pub metrics_addr: Option<SocketAddr>,
    pub url: String,
    /// Every stderr line so far.
    pub log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `sessionkeeper serve` with these environment variables (on top of a test
    /// secret, port 0, JSON logs) and waits for its listening line.
    pub fn start(db_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_limited(db_url, env, None)
    }

    /// [`Self::start`] with the child's `RLIMIT_NOFILE` (soft and hard) set to `nofile`, as
    /// `prlimit --nofile=N:N` would.
    pub fn start_limited(db_url: &str, env: &[(&str, &str)], nofile: Option<u64>) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"));
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec only setrlimit runs, which is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: n as libc::rlim_t,
                        rlim_max: n as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BETTER_AUTH_SECRET", super::helpers::SECRET)
            .env("BASE_URL", super::helpers::BASE_URL)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", db_url)
            .env("LOG_FORMAT", "json")
            .env("AUTOMATIC_SESSION_CLEANUP", "false")
            // As in helpers.rs: the limiter is off unless a test is about it (these send
            // bursts of sign-ins from one address).
            .env("RATE_LIMIT_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the sessionkeeper binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<Value>();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == "sessionkeeper listening"
                {
                    let _ = tx.send(v);
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        // With a fixed LISTEN_ADDR, a connection that succeeds also says the server is up
        // (the "listening" line was seen missing from the log of a server that was serving,
        // on PostgreSQL, with main's binary too; see the issue 19 report).
        let fixed: Option<SocketAddr> = env
            .iter()
            .find(|(k, _)| *k == "LISTEN_ADDR")
            .and_then(|(_, v)| v.parse().ok())
            .filter(|a: &SocketAddr| a.port() != 0);
        let started = Instant::now();
        let (addr, metrics_addr) = loop {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                let addr: SocketAddr = line["fields"]["addr"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .expect("the listening line names the address");
                let metrics = line["fields"]["metrics_addr"]
                    .as_str()
                    .and_then(|a| a.parse().ok());
                break (addr, metrics);
            }
            if let Some(a) = fixed
                && std::net::TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok()
            {
                break (a, None);
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let log = log.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
                panic!("the server did not start within 60 s; its log:\n{log}");
            }
        };
        ServerProcess {
            child,
            url: format!("http://{addr}"),
            metrics_addr,
            log,
            reader: Some(reader),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process dies where it stands.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as systemd stops a service.
    pub fn terminate(&self) {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) with a pid of our own child and a valid signal number.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM delivered");
    }

    /// Waits for the process to exit, at most `limit`; its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Every stderr line; after the process exited, all of them (the reader has drained
    /// the pipe).
    pub fn log_lines(&mut self) -> Vec<String> {
        if let Ok(Some(_)) = self.child.try_wait()
            && let Some(reader) = self.reader.take()
        {
            let _ = reader.join();
        }
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Prometheus text exposition parsed into `(name, labels) -> value`, labels sorted.
pub type Samples = std::collections::BTreeMap<(String, Vec<(String, String)>), f64>;

pub fn parse_metrics(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
        let value: f64 = value.parse().expect("a sample value is a number");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), Vec::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = Vec::new();
                for pair in split_labels(body) {
                    let (k, v) = pair.split_once('=').expect("label is k=v");
                    labels.push((k.to_owned(), v.trim_matches('"').to_owned()));
                }
                labels.sort();
                (name.to_owned(), labels)
            }
        };
        out.insert((name, labels), value);
    }
    out
}

/// Splits `a="x",b="y,z"` at the commas outside quotes.
fn split_labels(body: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < body.len() {
        parts.push(&body[start..]);
    }
    parts
}

/// The value of one series, 0 when absent.
pub fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut key: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    key.sort();
    samples.get(&(name.to_owned(), key)).copied().unwrap_or(0.0)
}
