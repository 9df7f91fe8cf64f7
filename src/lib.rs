//! sessionkeeper: a Better Auth–compatible session authority with cleanup, limits and an
//! admin view of sessions, and a library that lets any Rust service trust a Better Auth
//! app's sessions in place.
//!
//! Layers, inner to outer: [`domain`] (pure rules), [`store`] (SQLite and PostgreSQL behind one
//! trait), [`service`] (the core API, and the [`Validator`]), then its clients: `http` and
//! `cli` (the server, feature `server`), and [`guard`] (axum extractors, feature `axum`).
//!
//! # Features
//! - `server` (default): the `sessionkeeper` binary, its HTTP API, CLI and dashboard.
//! - `axum`: the [`Validator`] and the [`guard`] extractors only, for your own axum service:
//!   `sessionkeeper = { version = "0.1", default-features = false, features = ["axum"] }`.
//!   Without either feature the [`Validator`] alone is there, for any framework.
//!
//! # Trusting a Better Auth session from axum
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use sessionkeeper::guard::{Admin, Role, Session};
//!
//! async fn me(Session(s): Session) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "id": s.user.id, "email": s.user.email }))
//! }
//!
//! async fn admin(_: Role<Admin>) -> &'static str {
//!     "welcome"
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = sessionkeeper::Validator::from_env().await?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(admin))
//!     .with_state(validator);
//! # Ok(()) }
//! ```

#[cfg(feature = "server")]
pub mod app;
pub mod cleanup;
#[cfg(feature = "server")]
pub mod cli;
pub mod config;
pub mod domain;
#[cfg(feature = "axum")]
pub mod guard;
#[cfg(feature = "axum")]
pub mod http;
pub mod metrics;
pub mod secondary;
pub mod service;
pub mod spans;
pub mod store;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "server")]
pub mod webhooks;

pub use service::{Validated, Validator, ValidatorError, ValidatorOptions};

/// The git commit this binary was built from (`build.rs`), or `unknown`.
pub const GIT_COMMIT: &str = env!("SESSIONKEEPER_GIT_COMMIT");

/// `sessionkeeper --version`: the crate version and the git commit.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SESSIONKEEPER_GIT_COMMIT"),
    ")"
);
