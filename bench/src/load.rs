//! The load generator: N keep-alive HTTP/1.1 connections to one loopback server, each sending
//! its next request as soon as the previous answer is read (closed loop), until the deadline
//! or the request budget runs out. Every response body is checked, so a fast error never
//! counts as a fast success.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// A request that never answers within this is an error (and its connection is replaced).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One prepared request and what its answer must contain.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub path: &'static str,
    pub cookie: Option<HeaderValue>,
    pub body: Option<Bytes>,
    /// The answer is good when the status is 200 and the body starts with `prefix` and
    /// contains `needle`.
    pub prefix: &'static [u8],
    pub needle: Vec<u8>,
}

impl Call {
    /// get-session with a signed cookie; a good answer is the session of `token`.
    pub fn get_session(cookie_name: &str, signed: &str, token: &str) -> Self {
        let cookie = HeaderValue::from_str(&format!("{cookie_name}={signed}")).ok();
        Self {
            method: Method::GET,
            path: "/api/auth/get-session",
            cookie,
            body: None,
            prefix: b"{\"session\":{",
            needle: format!("\"token\":\"{token}\"").into_bytes(),
        }
    }

    /// `examples/axum_service.rs`'s `GET /me` with the same cookie; a good answer is the
    /// session's user.
    pub fn me(cookie_name: &str, signed: &str, email: &str) -> Self {
        let cookie = HeaderValue::from_str(&format!("{cookie_name}={signed}")).ok();
        Self {
            method: Method::GET,
            path: "/me",
            cookie,
            body: None,
            prefix: b"{\"id\":",
            needle: format!("\"email\":\"{email}\"").into_bytes(),
        }
    }

    /// Better Auth's `/ok`: ready before any session exists.
    pub fn ok() -> Self {
        Self {
            method: Method::GET,
            path: "/api/auth/ok",
            cookie: None,
            body: None,
            prefix: b"{\"ok\":true",
            needle: Vec::new(),
        }
    }

    /// sign-in/email; a good answer carries a new token and the user's e-mail.
    pub fn sign_in(email: &str, password: &str) -> Self {
        Self {
            method: Method::POST,
            path: "/api/auth/sign-in/email",
            cookie: None,
            body: Some(Bytes::from(format!(
                "{{\"email\":\"{email}\",\"password\":\"{password}\"}}"
            ))),
            prefix: b"{",
            needle: format!("\"email\":\"{email}\"").into_bytes(),
        }
    }

    fn request(&self, host: &HeaderValue) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone().unwrap_or_default()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = hyper::Uri::from_static(self.path);
        let h = req.headers_mut();
        h.insert(HOST, host.clone());
        if let Some(c) = &self.cookie {
            h.insert(COOKIE, c.clone());
        }
        if self.body.is_some() {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        req
    }

    fn accepts(&self, status: u16, body: &[u8]) -> bool {
        status == 200
            && body.starts_with(self.prefix)
            && memchr::memmem::find(body, &self.needle).is_some()
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies of the good answers, microseconds, sorted.
    latencies_us: Vec<u32>,
    /// A sample of what went wrong, for the log.
    pub first_error: Option<String>,
}

impl Stats {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    pub fn p50(&self) -> f64 {
        self.quantile_ms(0.50)
    }

    pub fn p99(&self) -> f64 {
        self.quantile_ms(0.99)
    }

    pub fn max_ms(&self) -> f64 {
        self.quantile_ms(1.0)
    }
}

/// A run: `conns` connections rotating over `calls` for `duration`, at most `max_requests`.
pub struct Plan {
    pub addr: SocketAddr,
    pub calls: Arc<Vec<Call>>,
    pub conns: usize,
    pub duration: Duration,
    pub max_requests: u64,
}

pub async fn run(plan: Plan) -> Stats {
    let host = HeaderValue::from_str(&plan.addr.to_string())
        .unwrap_or(HeaderValue::from_static("127.0.0.1"));
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + plan.duration;
    let mut tasks = Vec::with_capacity(plan.conns);
    for _ in 0..plan.conns {
        let calls = plan.calls.clone();
        let next = next.clone();
        let host = host.clone();
        let (addr, budget) = (plan.addr, plan.max_requests);
        tasks.push(tokio::spawn(async move {
            connection(addr, host, &calls, &next, budget, deadline).await
        }));
    }
    let mut total = Stats::default();
    for t in tasks {
        if let Ok(s) = t.await {
            total.ok += s.ok;
            total.errors += s.errors;
            total.latencies_us.extend(s.latencies_us);
            if total.first_error.is_none() {
                total.first_error = s.first_error;
            }
        }
    }
    total.elapsed = start.elapsed();
    total.latencies_us.sort_unstable();
    total
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn connection(
    addr: SocketAddr,
    host: HeaderValue,
    calls: &[Call],
    next: &AtomicU64,
    budget: u64,
    deadline: Instant,
) -> Stats {
    let mut stats = Stats::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= budget || Instant::now() >= deadline {
            break;
        }
        let call = &calls[(n % calls.len() as u64) as usize];
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    stats.fail(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let t0 = Instant::now();
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange(s, call.request(&host))).await {
            Ok(Ok((status, body))) if call.accepts(status, &body) => {
                stats.ok += 1;
                stats
                    .latencies_us
                    .push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            }
            Ok(Ok((status, body))) => {
                let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                stats.fail(format!("status {status}, body {shown}"));
            }
            Ok(Err(e)) => {
                stats.fail(e);
                sender = None;
            }
            Err(_) => {
                stats.fail("timed out".into());
                sender = None;
            }
        }
    }
    stats
}

impl Stats {
    fn fail(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

async fn exchange(
    s: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<(u16, Bytes), String> {
    s.ready().await.map_err(|e| format!("connection: {e}"))?;
    let res = s
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// One request on a fresh connection: for start-up polling and sanity checks.
pub async fn once(addr: SocketAddr, call: &Call) -> Result<(), String> {
    let host = HeaderValue::from_str(&addr.to_string()).map_err(|e| e.to_string())?;
    let mut s = connect(addr).await?;
    let (status, body) =
        tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut s, call.request(&host)))
            .await
            .map_err(|_| "timed out".to_owned())??;
    if call.accepts(status, &body) {
        Ok(())
    } else {
        Err(format!(
            "status {status}, body {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    }
}
