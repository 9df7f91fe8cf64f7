use super::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
}

/// The longest `/readyz` waits for the database: a load balancer's probe must get an answer
/// (503) from a server whose database hangs, well within its own timeout.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Ready when the database answers `SELECT 1` within [`READY_TIMEOUT`].
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ping = tokio::time::timeout(READY_TIMEOUT, state.keeper.core().store().ping()).await;
    let error = match ping {
        Ok(Ok(())) => {
            return (
                StatusCode::OK,
                Json(json!({"status": "ready", "database": "ok"})),
            );
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", READY_TIMEOUT.as_secs_f64()),
    };
    tracing::warn!(error = %error, "readiness check failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"message": "database unreachable", "code": "DATABASE_UNAVAILABLE"})),
    )
}
