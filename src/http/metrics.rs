//! `GET /metrics`: Prometheus text format, optionally behind `METRICS_TOKEN`. The pool gauges
//! are read from the store at scrape time.

use super::AppState;
use crate::metrics as m;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.keeper.core().config();
    if let Some(token) = &config.ops.metrics_token
        && !bearer_matches(&headers, token.expose())
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized\n",
        )
            .into_response();
    }
    for p in state.keeper.core().store().pool_stats() {
        let in_use = p.open.saturating_sub(p.idle);
        metrics::gauge!(m::POOL_CONNECTIONS, "pool" => p.pool, "state" => "idle")
            .set(f64::from(p.idle));
        metrics::gauge!(m::POOL_CONNECTIONS, "pool" => p.pool, "state" => "in_use")
            .set(f64::from(in_use));
        metrics::gauge!(m::POOL_MAX, "pool" => p.pool).set(f64::from(p.max));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m::render(),
    )
        .into_response()
}

/// `Authorization: Bearer <token>`, compared in constant time (as digests, so that not even
/// the length is told by timing).
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    else {
        return false;
    };
    Sha256::digest(given.trim().as_bytes())
        .ct_eq(&Sha256::digest(token.as_bytes()))
        .into()
}
