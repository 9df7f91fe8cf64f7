//! Every request, measured: a count by route template, method and status, a latency
//! histogram, and the number in flight. Once shutdown has begun, responses carry
//! `Connection: close`, so a client does not send its next request on a connection the server
//! is about to close.

use crate::metrics as m;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Requests that matched no route share this label: raw paths would be unbounded.
const UNMATCHED: &str = "unmatched";

pub async fn track(
    State(draining): State<CancellationToken>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let in_flight = InFlight::enter();
    let mut res = next.run(req).await;
    drop(in_flight);
    tracing::Span::current().record("http.response.status_code", res.status().as_u16());
    metrics::histogram!(m::HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        m::HTTP_REQUESTS,
        "route" => route,
        "method" => method,
        "status" => status_label(res.status().as_u16()),
    )
    .increment(1);
    if draining.is_cancelled() {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Counts a request in flight until dropped, also when the handler panics or the client goes
/// away mid-request (the future is then dropped).
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter() -> Self {
        let gauge = metrics::gauge!(m::HTTP_IN_FLIGHT);
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
