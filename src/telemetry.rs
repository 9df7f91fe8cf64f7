//! Logs and traces. Logs go to stderr, human-readable by default or JSON lines; `RUST_LOG`
//! filters them. With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go to an
//! OTLP/HTTP collector as well: one per request, per database statement and per cleanup batch.
//!
//! The span of a request carries a `trace_id` field, so every log line written within it
//! (JSON lines included) names its trace: the exported trace's id with `otel`, otherwise the
//! trace id of the caller's W3C `traceparent` when it sent one.

use crate::config::{Config, LogFormat};
use axum::extract::MatchedPath;
use axum::http::Request;
use std::io::IsTerminal;
use tracing::Span;
use tracing::field::Empty;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[cfg(feature = "otel")]
mod otel;

/// Flushes buffered spans when the process ends ([`Telemetry::shutdown`]).
#[must_use = "call shutdown() at exit to flush buffered spans"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider {
            otel::shutdown(provider);
        }
    }
}

/// Installs the global subscriber (once per process; later calls keep the first).
pub fn init(config: &Config) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // Colours only for a person at a terminal: redirected to a file, a pipe or a log
    // collector, escape codes would garble every line.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let fmt = if config.log_format == LogFormat::Json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let registry = tracing_subscriber::registry().with(fmt.with_filter(filter));
    #[cfg(feature = "otel")]
    {
        let (layer, provider) = match &config.ops.otlp_endpoint {
            Some(endpoint) => match otel::layer(endpoint) {
                Ok((layer, provider)) => (Some(layer), Some(provider)),
                Err(e) => {
                    eprintln!("sessionkeeper: traces are off: {e}");
                    (None, None)
                }
            },
            None => (None, None),
        };
        let _ = registry.with(layer).try_init();
        Telemetry { provider }
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = registry.try_init();
        if config.ops.otlp_endpoint.is_some() {
            tracing::warn!(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but this build has no `otel` feature: no traces are exported"
            );
        }
        Telemetry {}
    }
}

/// The span of one request: method, route template (never the raw path), status, trace id.
/// Its parent is the caller's `traceparent` when it sent one.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    // The log layer formats a span's fields when the span is made, for every request: the
    // exporter's naming fields only where there is an exporter.
    #[cfg(feature = "otel")]
    let span = tracing::info_span!(
        target: "sessionkeeper::http",
        "request",
        otel.name = %format_args!("{} {route}", req.method()),
        otel.kind = "server",
        http.request.method = %req.method(),
        http.route = route,
        http.response.status_code = Empty,
        trace_id = Empty,
    );
    #[cfg(not(feature = "otel"))]
    let span = tracing::info_span!(
        target: "sessionkeeper::http",
        "request",
        http.request.method = %req.method(),
        http.route = route,
        http.response.status_code = Empty,
        trace_id = Empty,
    );
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    #[cfg(feature = "otel")]
    otel::adopt(&span, traceparent);
    #[cfg(not(feature = "otel"))]
    if let Some(id) = traceparent.and_then(traceparent_trace_id) {
        span.record("trace_id", id);
    }
    span
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if well formed
/// and not all zeros.
pub fn traceparent_trace_id(value: &str) -> Option<&str> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && hex(flags, 2);
    ok.then_some(trace)
}

#[cfg(test)]
mod tests {
    use super::traceparent_trace_id;

    #[test]
    fn traceparent_is_parsed_strictly() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            traceparent_trace_id(good),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert_eq!(traceparent_trace_id(bad), None, "{bad}");
        }
    }
}
