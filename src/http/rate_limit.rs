//! The rate limit in front of every `/api/auth` route, before the origin check and the route
//! itself, as Better Auth's router runs it in `onRequest`.

use super::AppState;
use crate::domain::{ip, rate_limit};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

const BASE: &str = "/api/auth";

pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = state.keeper.core().rate_limiter();
    let path = req.uri().path();
    let under_base = path
        .strip_prefix(BASE)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if !under_base {
        return next.run(req).await;
    }
    let path = rate_limit::relative_path(path, BASE);
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let trusted = &state.keeper.core().config().session.trusted_proxies;
        ip::format_for_storage(ip::client_ip(c.0.ip(), forwarded, trusted))
    });
    match limiter.check(client.as_deref(), path).await {
        None => next.run(req).await,
        Some(retry_after) => too_many(retry_after),
    }
}

/// Better Auth's 429: its message and `X-Retry-After` in seconds; `code` is ours, as on every
/// error we send.
fn too_many(retry_after: u64) -> Response {
    let body = axum::Json(serde_json::json!({
        "message": "Too many requests. Please try again later.",
        "code": "TOO_MANY_REQUESTS",
    }));
    let mut res = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    res.headers_mut()
        .insert("x-retry-after", HeaderValue::from(retry_after));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
