//! The process-wide Prometheus registry behind `GET /metrics`.
//!
//! The `metrics` facade has one global recorder per process. It is installed on first use; when
//! an embedding application installed its own first, ours still renders (empty) and a warning
//! says why. Tests start many apps in one process, so they share this registry.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const DELETED: &str = "sessionkeeper_cleanup_sessions_deleted_total";
pub const RUNS: &str = "sessionkeeper_cleanup_runs_total";
pub const RUN_DURATION: &str = "sessionkeeper_cleanup_run_duration_seconds";
pub const SESSIONS: &str = "sessionkeeper_sessions";

const DURATION_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0];

pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(RUN_DURATION.into()), DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder is installed in this process; /metrics will not show \
                 sessionkeeper's metrics"
            );
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(DELETED, "Sessions deleted by cleanup runs, by layer.");
    metrics::describe_counter!(RUNS, "Cleanup runs, by outcome and trigger.");
    metrics::describe_histogram!(
        RUN_DURATION,
        metrics::Unit::Seconds,
        "Duration of cleanup runs."
    );
    metrics::describe_gauge!(
        SESSIONS,
        "Sessions by status (active, expired, inactive), as of the last cleanup run."
    );
}

/// The text exposition of every metric.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}
