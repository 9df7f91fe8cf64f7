use super::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::future::Future;
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
}

/// The longest `/readyz` waits for the database (and for Redis): a load balancer's probe must
/// get an answer (503) from a server whose database hangs, well within its own timeout.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `Ok` when `ping` answers within [`READY_TIMEOUT`], else why not.
async fn answers<E: std::fmt::Display>(
    ping: impl Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            READY_TIMEOUT.as_secs_f64()
        )),
    }
}

/// Ready when the database answers `SELECT 1`, and Redis `PING` when the app keeps sessions
/// there (`"redis"` is reported only then), each within [`READY_TIMEOUT`].
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let core = state.keeper.core();
    let (database, redis) = match core.secondary() {
        Some(r) => {
            let (d, r) = tokio::join!(answers(core.store().ping()), answers(r.ping()));
            (d, Some(r))
        }
        None => (answers(core.store().ping()).await, None),
    };
    if let Err(error) = &database {
        tracing::warn!(error = %error, "readiness check failed: database");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"message": "database unreachable", "code": "DATABASE_UNAVAILABLE"})),
        );
    }
    match redis {
        None => (
            StatusCode::OK,
            Json(json!({"status": "ready", "database": "ok"})),
        ),
        Some(Ok(())) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "database": "ok", "redis": "ok"})),
        ),
        Some(Err(error)) => {
            tracing::warn!(error = %error, "readiness check failed: Redis");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "message": "Redis unreachable",
                    "code": "SECONDARY_STORAGE_UNAVAILABLE",
                    "database": "ok",
                    "redis": "unreachable"
                })),
            )
        }
    }
}
