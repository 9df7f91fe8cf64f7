//! sessionkeeper: a Better Auth–compatible session authority with cleanup, limits and an
//! admin view of sessions.
//!
//! Layers, inner to outer: [`domain`] (pure rules), [`store`] (SQLite and PostgreSQL behind one
//! trait), [`service`] (the core API), then its clients: [`http`], [`cli`].

pub mod app;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod service;
pub mod store;
pub mod telemetry;

/// The git commit this binary was built from (`build.rs`), or `unknown`.
pub const GIT_COMMIT: &str = env!("SESSIONKEEPER_GIT_COMMIT");

/// `sessionkeeper --version`: the crate version and the git commit.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SESSIONKEEPER_GIT_COMMIT"),
    ")"
);
