//! Every request, measured: a count by route template, method and status, a latency
//! histogram, and the number in flight. Once shutdown has begun, responses carry
//! `Connection: close`, so a client does not send its next request on a connection the server
//! is about to close.

use crate::metrics as m;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

/// Requests that matched no route share this label: raw paths would be unbounded.
const UNMATCHED: &str = "unmatched";

pub async fn track(State(state): State<super::AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let started = Instant::now();
    let in_flight = InFlight::enter();
    let mut res = next.run(req).await;
    drop(in_flight);
    let status = res.status().as_u16();
    tracing::Span::current().record("http.response.status_code", status);
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let (requests, duration) = handles(route, method, status);
    duration.record(started.elapsed().as_secs_f64());
    requests.increment(1);
    if state.is_draining() {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

type Handles = (metrics::Counter, metrics::Histogram);
/// Route template → the handles of each (method, status) seen on it.
type HandleCache = RwLock<HashMap<String, Vec<(&'static str, u16, Handles)>>>;

/// The request counter and latency histogram of one route, method and status. The recorder's
/// own lookup hashes and allocates the whole label set on every call (about 4 µs a request at
/// 64 connections, a tenth of get-session's CPU); the set is bounded (route templates), so the
/// handles are looked up once and kept.
fn handles(route: &str, method: &'static str, status: u16) -> Handles {
    static CACHE: OnceLock<HandleCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let find = |list: &Vec<(&'static str, u16, Handles)>| {
        list.iter()
            .find(|(m, s, _)| *m == method && *s == status)
            .map(|(_, _, h)| h.clone())
    };
    if let Ok(map) = cache.read()
        && let Some(found) = map.get(route).and_then(find)
    {
        return found;
    }
    let made: Handles = (
        metrics::counter!(
            m::HTTP_REQUESTS,
            "route" => route.to_owned(),
            "method" => method,
            "status" => status_label(status),
        ),
        metrics::histogram!(m::HTTP_DURATION, "route" => route.to_owned(), "method" => method),
    );
    if let Ok(mut map) = cache.write() {
        let list = map.entry(route.to_owned()).or_default();
        if find(list).is_none() {
            list.push((method, status, made.clone()));
        }
    }
    made
}

/// Counts a request in flight until dropped, also when the handler panics or the client goes
/// away mid-request (the future is then dropped).
struct InFlight(&'static metrics::Gauge);

impl InFlight {
    fn enter() -> Self {
        static GAUGE: OnceLock<metrics::Gauge> = OnceLock::new();
        let gauge = GAUGE.get_or_init(|| metrics::gauge!(m::HTTP_IN_FLIGHT));
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The standard methods by name; anything else (bounded by nothing) as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A status code as text, without an allocation for the common ones.
fn status_label(code: u16) -> metrics::SharedString {
    match code {
        200 => "200".into(),
        204 => "204".into(),
        304 => "304".into(),
        400 => "400".into(),
        401 => "401".into(),
        403 => "403".into(),
        404 => "404".into(),
        413 => "413".into(),
        422 => "422".into(),
        429 => "429".into(),
        500 => "500".into(),
        503 => "503".into(),
        other => other.to_string().into(),
    }
}
