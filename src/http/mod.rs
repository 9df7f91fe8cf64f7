//! The HTTP edge: Better Auth's routes under `/api/auth`, health, and the router that merges
//! them. Handlers are thin: extract, call [`SessionKeeper`]'s auth or admin service, map the
//! result.

pub mod account;
pub mod admin;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod origin;
pub mod rate_limit;

use crate::service::SessionKeeper;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use error::ApiError;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Larger bodies get 413: no endpoint takes more than a few KiB of JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub keeper: Arc<SessionKeeper>,
    trusted_origins: Arc<Vec<String>>,
}

impl AppState {
    pub fn new(keeper: Arc<SessionKeeper>) -> Self {
        let config = keeper.core().config();
        let mut trusted = vec![config.base_origin()];
        trusted.extend(config.session.trusted_origins.iter().cloned());
        Self {
            keeper,
            trusted_origins: Arc::new(trusted),
        }
    }

    pub fn is_trusted_origin(&self, origin: &str) -> bool {
        self.trusted_origins
            .iter()
            .any(|p| origin::origin_matches(p, origin))
    }
}

/// The whole application. Embedders can `merge` it into their own router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .nest("/api/auth", auth::router())
        .merge(admin::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ));
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(metrics::router())
        .merge(dashboard::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // The default span records method and path only: never headers, which hold tokens.
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "Internal server error",
            )
            .into_response()
        }))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found")
}
