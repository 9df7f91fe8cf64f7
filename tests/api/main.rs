//! One integration-test binary (one link step). Every test runs the real server on a random
//! loopback port against a real SQLite file and, where a PostgreSQL is configured, a fresh
//! PostgreSQL database.

mod helpers;
mod hung_database;

mod account_compat;
mod admin;
mod auth;
mod axum_service;
mod cleanup;
mod cleanup_absolute;
mod cleanup_cli;
mod cleanup_crash;
mod cleanup_fault;
mod cleanup_gentle;
mod cleanup_multi;
mod cleanup_prop;
mod cleanup_seed;
mod cleanup_walk;
mod compat;
mod config_check;
mod config_errors;
mod dashboard;
mod last_active;
mod limits;
mod lookups;
mod observability;
mod operations;
mod packaging;
mod policy;
mod pooler;
mod process;
mod rate_limit;
mod rate_limit_compat;
mod rate_limit_memory;
mod schema;
mod secondary_alone;
mod secondary_node;
mod secondary_owned;
mod session_history;
mod shared;
mod shared_cleanup;
mod shared_node;
mod shutdown;
mod sign_in_timing;
mod slow_clients;
mod tenant_cleanup;
mod tenant_policy;
mod traces;
mod verifications;
mod webhooks;
