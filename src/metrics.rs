//! The process-wide Prometheus registry behind `GET /metrics`, and the names of every metric.
//!
//! The `metrics` facade has one global recorder per process. It is installed on first use; when
//! an embedding application installed its own first, ours still renders (empty) and a warning
//! says why. Tests start many apps in one process, so they share this registry.
//!
//! Label values are bounded: route templates (never raw paths), methods, status codes, and
//! the fixed outcome/reason/result words below. Never ids, addresses or tokens.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const DELETED: &str = "sessionkeeper_cleanup_sessions_deleted_total";
/// Expired `verification` rows deleted by cleanup runs (not sessions).
pub const VERIFICATIONS_DELETED: &str = "sessionkeeper_cleanup_verifications_deleted_total";
pub const RUNS: &str = "sessionkeeper_cleanup_runs_total";
pub const RUN_DURATION: &str = "sessionkeeper_cleanup_run_duration_seconds";
pub const CLEANUP_BATCHES: &str = "sessionkeeper_cleanup_batches_total";
pub const LAST_SUCCESS: &str = "sessionkeeper_cleanup_last_success_timestamp_seconds";
pub const SESSIONS: &str = "sessionkeeper_sessions";
pub const STATS_RECOUNT_DURATION: &str = "sessionkeeper_stats_recount_duration_seconds";

pub const HTTP_REQUESTS: &str = "sessionkeeper_http_requests_total";
pub const HTTP_DURATION: &str = "sessionkeeper_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "sessionkeeper_http_requests_in_flight";

pub const SIGN_INS: &str = "sessionkeeper_sign_ins_total";
pub const SIGN_UPS: &str = "sessionkeeper_sign_ups_total";
pub const SESSIONS_CREATED: &str = "sessionkeeper_sessions_created_total";
pub const SESSIONS_ENDED: &str = "sessionkeeper_sessions_ended_total";
/// Statements and rows written by the session activity flush.
pub const ACTIVITY_FLUSH_STATEMENTS: &str = "sessionkeeper_activity_flush_statements_total";
pub const ACTIVITY_FLUSH_ROWS: &str = "sessionkeeper_activity_flush_rows_total";
pub const GET_SESSION: &str = "sessionkeeper_get_session_total";
pub const EVICTED_AT_SIGN_IN: &str = "sessionkeeper_sessions_evicted_at_sign_in_total";

pub const POOL_CONNECTIONS: &str = "sessionkeeper_db_pool_connections";
pub const POOL_MAX: &str = "sessionkeeper_db_pool_max_connections";
pub const POOL_WAITS: &str = "sessionkeeper_db_pool_waits_total";
pub const LOOKUP_BATCH: &str = "sessionkeeper_session_lookup_batch_size";

pub const BUILD_INFO: &str = "sessionkeeper_build_info";

pub const WEBHOOK_DELIVERIES: &str = "sessionkeeper_webhook_deliveries_total";
pub const WEBHOOK_QUEUED: &str = "sessionkeeper_webhook_events_queued";
pub const WEBHOOK_OLDEST_AGE: &str = "sessionkeeper_webhook_oldest_undelivered_age_seconds";

const DURATION_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0];
/// From a cached get-session (well under a millisecond) to a slow sign-in under load.
const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Tokens per lookup statement: 1 up to `lookup_batch::MAX_BATCH` (64).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// Why a session ended (the `reason` label of [`SESSIONS_ENDED`]).
#[derive(Debug, Clone, Copy)]
pub enum EndReason {
    SignOut,
    /// Found expired by a session check, and deleted.
    Expired,
    /// The user revoked it (revoke-session(s)).
    Revoked,
    /// Evicted at sign-in by the per-user limit.
    Evicted,
    /// Deleted by an admin (revoke, bulk delete, ban).
    Admin,
    /// Deleted by a cleanup run.
    Cleanup,
    /// Refused and deleted by a session check: idle past the inactivity timeout.
    Inactive,
    /// Refused and deleted by a session check: past the absolute timeout.
    AbsoluteTimeout,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            EndReason::SignOut => "sign_out",
            EndReason::Expired => "expired",
            EndReason::Revoked => "revoked",
            EndReason::Evicted => "evicted",
            EndReason::Admin => "admin",
            EndReason::Cleanup => "cleanup",
            EndReason::Inactive => "inactive",
            EndReason::AbsoluteTimeout => "absolute_timeout",
        }
    }
}

pub fn sessions_ended(reason: EndReason, n: u64) {
    if n > 0 {
        metrics::counter!(SESSIONS_ENDED, "reason" => reason.as_str()).increment(n);
    }
}

/// get-session's answers by result. Each handle is looked up once: the recorder's own lookup
/// allocates and hashes the label set on every call, a measurable share of a check.
pub fn get_session_result(result: &'static str) {
    const RESULTS: [&str; 5] = ["valid", "missing", "expired", "refused", "error"];
    static HANDLES: [OnceLock<metrics::Counter>; 5] = [const { OnceLock::new() }; 5];
    let i = RESULTS.iter().position(|r| *r == result).unwrap_or(4);
    HANDLES[i]
        .get_or_init(|| metrics::counter!(GET_SESSION, "result" => RESULTS[i]))
        .increment(1);
}

/// Tokens per lookup statement (one handle, looked up once).
pub fn lookup_batch(tokens: usize) {
    static HANDLE: OnceLock<metrics::Histogram> = OnceLock::new();
    HANDLE
        .get_or_init(|| metrics::histogram!(LOOKUP_BATCH))
        .record(tokens as f64);
}

pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [
            (RUN_DURATION, DURATION_BUCKETS),
            (STATS_RECOUNT_DURATION, DURATION_BUCKETS),
            (HTTP_DURATION, HTTP_BUCKETS),
            (LOOKUP_BATCH, BATCH_BUCKETS),
        ];
        let mut builder = PrometheusBuilder::new();
        for (name, values) in buckets {
            // Only an empty bucket list is refused, and none of ours is empty.
            builder = match builder.set_buckets_for_metric(Matcher::Full(name.into()), values) {
                Ok(b) => b,
                Err(_) => unreachable!("{name} has buckets"),
            };
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder is installed in this process; /metrics will not show \
                 sessionkeeper's metrics"
            );
        }
        describe();
        // Nothing queued until a webhook worker says otherwise (and never without receivers),
        // so the backlog alert has a series to read on every instance.
        webhook_backlog(0, 0.0);
        // Histogram samples are buffered until upkeep folds them in; rendering does that, but
        // a server nobody scrapes would buffer every request's latency forever.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("no metrics upkeep thread ({e}); histograms fold in at each scrape");
        }
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(DELETED, "Sessions deleted by cleanup runs, by layer.");
    describe_counter!(
        VERIFICATIONS_DELETED,
        "Expired verification rows deleted by cleanup runs."
    );
    describe_counter!(RUNS, "Cleanup runs, by outcome and trigger.");
    describe_histogram!(RUN_DURATION, Unit::Seconds, "Duration of cleanup runs.");
    describe_counter!(
        CLEANUP_BATCHES,
        "Delete statements run by cleanup, by layer."
    );
    describe_gauge!(
        LAST_SUCCESS,
        Unit::Seconds,
        "Unix time of the last cleanup run (not a dry run) that completed on this instance."
    );
    describe_gauge!(
        SESSIONS,
        "Sessions by status (active, expired, inactive), as of the last cleanup run."
    );
    describe_histogram!(
        STATS_RECOUNT_DURATION,
        Unit::Seconds,
        "Duration of the admin statistics' recounts, by trigger: refresh (the background refresh), stale (a request found no snapshot young enough), fresh (?fresh=true)."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to the response head, by route template and method."
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being handled now.");
    describe_counter!(SIGN_INS, "Email sign-ins by outcome.");
    describe_counter!(SIGN_UPS, "Email sign-ups by outcome.");
    describe_counter!(SESSIONS_CREATED, "Sessions created (sign-in and sign-up).");
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), failed (attempts exhausted)."
    );
    describe_gauge!(
        WEBHOOK_QUEUED,
        "Webhook events not yet delivered nor failed (one per event and receiver)."
    );
    describe_gauge!(
        WEBHOOK_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest undelivered webhook event; 0 when none."
    );
    describe_counter!(SESSIONS_ENDED, "Sessions deleted, by reason.");
    describe_counter!(GET_SESSION, "get-session answers by result.");
    describe_counter!(
        EVICTED_AT_SIGN_IN,
        "Sessions evicted at sign-in by the per-user limit."
    );
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database connections by pool (general, lookup) and state (idle, in_use), at scrape time."
    );
    describe_gauge!(POOL_MAX, "Most connections each database pool opens.");
    describe_counter!(
        POOL_WAITS,
        "Connection requests that found every connection of the pool in use and had to wait."
    );
    describe_histogram!(LOOKUP_BATCH, "Session tokens per lookup statement.");
    describe_gauge!(
        BUILD_INFO,
        "Always 1; labels carry the version and git commit."
    );
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "commit" => crate::GIT_COMMIT)
        .set(1.0);
}

/// The text exposition of every metric.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

/// One settled webhook delivery: `delivered`, `retry` or `failed`.
pub fn webhook_delivery(outcome: &'static str) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}

/// The outbox backlog, read by the webhook worker after each round.
pub fn webhook_backlog(pending: u64, oldest_age_seconds: f64) {
    metrics::gauge!(WEBHOOK_QUEUED).set(pending as f64);
    metrics::gauge!(WEBHOOK_OLDEST_AGE).set(oldest_age_seconds);
}
