//! The HTTP edge: Better Auth's routes under `/api/auth`, health, and the router that merges
//! them. Handlers are thin: extract, call [`SessionKeeper`]'s auth or admin service, map the
//! result. With only the `axum` feature, just the error mapping and the extractors are here
//! (the [`guard`](crate::guard) module uses them); the routes need `server`.

#[cfg(feature = "server")]
pub mod account;
#[cfg(feature = "server")]
pub mod admin;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod auth_schema;
#[cfg(feature = "server")]
pub mod dashboard;
pub mod error;
pub mod extract;
#[cfg(feature = "server")]
pub mod health;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod observe;
#[cfg(feature = "server")]
pub mod origin;
#[cfg(feature = "server")]
pub mod rate_limit;
#[cfg(feature = "server")]
pub mod serve;

#[cfg(feature = "server")]
use {
    crate::service::SessionKeeper, axum::Router, axum::extract::DefaultBodyLimit,
    axum::http::StatusCode, axum::response::IntoResponse, error::ApiError, std::sync::Arc,
    std::time::Duration, tokio_util::sync::CancellationToken,
    tower_http::catch_panic::CatchPanicLayer, tower_http::timeout::RequestBodyTimeoutLayer,
    tower_http::trace::TraceLayer,
};

#[cfg(feature = "server")]
/// Larger bodies get 413: no endpoint takes more than a few KiB of JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[cfg(feature = "server")]
/// What every handler and middleware reads. One `Arc`, so the per-request clones that axum's
/// `State` makes (one per middleware and handler) cost one atomic increment each.
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

#[cfg(feature = "server")]
pub struct StateInner {
    pub keeper: Arc<SessionKeeper>,
    trusted_origins: Vec<String>,
    /// Cancelled when shutdown begins. Cloning a `CancellationToken` takes a mutex shared by
    /// every clone, so it is never cloned per request (that cost get-session a fifth of its
    /// throughput at 64 connections).
    draining: CancellationToken,
}

#[cfg(feature = "server")]
impl std::ops::Deref for AppState {
    type Target = StateInner;
    fn deref(&self) -> &StateInner {
        &self.0
    }
}

#[cfg(feature = "server")]
impl AppState {
    pub fn new(keeper: Arc<SessionKeeper>) -> Self {
        Self::with_draining(keeper, CancellationToken::new())
    }

    /// The state with `draining`, cancelled when the server starts shutting down: from then on
    /// every response says `Connection: close`.
    pub fn with_draining(keeper: Arc<SessionKeeper>, draining: CancellationToken) -> Self {
        let config = keeper.core().config();
        let mut trusted = vec![config.base_origin()];
        trusted.extend(config.session.trusted_origins.iter().cloned());
        Self(Arc::new(StateInner {
            keeper,
            trusted_origins: trusted,
            draining,
        }))
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    pub fn is_trusted_origin(&self, origin: &str) -> bool {
        self.trusted_origins
            .iter()
            .any(|p| origin::origin_matches(p, origin))
    }
}

#[cfg(feature = "server")]
/// The whole application. Embedders can `merge` it into their own router. `/metrics` is on it
/// unless `METRICS_LISTEN_ADDR` moves it to a listener of its own ([`metrics::router`]).
pub fn router(state: AppState) -> Router {
    crate::metrics::handle();
    let separate_metrics = state.keeper.core().config().ops.metrics_listen.is_some();
    let mut api = Router::new()
        .nest("/api/auth", auth::router())
        .merge(admin::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::check,
        ));
    // The limiter's switch is fixed at start-up: when it is off, no layer at all.
    if state.keeper.core().rate_limiter().enabled() {
        api = api.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ));
    }
    let mut app = Router::new()
        .merge(api)
        .merge(health::router())
        .merge(dashboard::router());
    if !separate_metrics {
        app = app.merge(metrics::router());
    }
    let ops = &state.keeper.core().config().ops;
    let body_timeout = Duration::from_secs(ops.body_timeout_seconds);
    app.fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline,
        ))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::track,
        ))
        // The span records method and path only: never headers, which hold tokens.
        .layer(TraceLayer::new_for_http().make_span_with(crate::telemetry::request_span))
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

#[cfg(feature = "server")]
/// `REQUEST_TIMEOUT_SECONDS`: a request not answered by then gets 503 `REQUEST_TIMEOUT`, and
/// the work behind it (a statement on a database that stopped answering) is dropped.
async fn deadline(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let limit = state.keeper.core().config().ops.request_timeout_seconds;
    match tokio::time::timeout(Duration::from_secs(limit), next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "REQUEST_TIMEOUT",
            format!("The request was not answered within {limit} s"),
        )
        .into_response(),
    }
}

#[cfg(feature = "server")]
async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found")
}
