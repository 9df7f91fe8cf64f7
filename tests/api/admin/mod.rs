//! The admin API (issue 4) over real HTTP on both stores. Users and sessions are seeded through
//! the store (no scrypt), then every call goes through the server.

pub(crate) mod support;

mod access;
mod audit;
mod bad_input;
mod better_auth;
mod bulk_delete;
mod cleanup;
mod hardening;
mod listing;
mod openapi;
mod stats;
mod stats_snapshot;
