use super::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
}

/// Ready when the database answers, and Redis too when the app keeps sessions there
/// (`"redis"` is reported only then).
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let core = state.keeper.core();
    let redis = match core.secondary() {
        Some(r) => Some(r.ping().await),
        None => None,
    };
    match core.store().ping().await {
        Ok(()) => match redis {
            None => (
                StatusCode::OK,
                Json(json!({"status": "ready", "database": "ok"})),
            ),
            Some(Ok(())) => (
                StatusCode::OK,
                Json(json!({"status": "ready", "database": "ok", "redis": "ok"})),
            ),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "readiness check failed");
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
        },
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"message": "database unreachable", "code": "DATABASE_UNAVAILABLE"})),
            )
        }
    }
}
