//! The spans the library opens itself (database statements, cleanup batches). They are plain
//! `tracing` spans, so they exist without the server's subscriber; `telemetry` exports them.

use tracing::Span;
use tracing::field::Empty;

/// The span of one database statement: its SQL text, never its parameters. Debug level, so
/// it costs a disabled callsite's check unless the trace exporter (or `RUST_LOG`) wants it.
pub fn statement_span(sql: &'static str) -> Span {
    let op = sql.split_whitespace().next().unwrap_or("SQL");
    tracing::debug_span!(
        target: "sessionkeeper::db",
        "db.statement",
        otel.name = op,
        otel.kind = "client",
        db.query.text = sql,
    )
}

/// The span of one cleanup batch (one delete statement and its own transaction).
pub fn cleanup_batch_span(layer: &'static str) -> Span {
    tracing::debug_span!(
        target: "sessionkeeper::cleanup",
        "cleanup.batch",
        layer,
        deleted = Empty,
    )
}
