//! The OTLP/HTTP trace exporter (feature `otel`): spans as OTLP JSON to
//! `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`, sent in batches from the SDK's own thread.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use tracing::Span;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// The exporter's layer, with its own filter: every sessionkeeper span (the debug-level
/// statement and batch spans too), whatever `RUST_LOG` lets through to the logs.
pub(super) fn layer<S>(
    endpoint: &url::Url,
) -> Result<(Box<dyn Layer<S> + Send + Sync>, SdkTracerProvider), String>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let url = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(url)
        .build()
        .map_err(|e| e.to_string())?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "sessionkeeper".into());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service)
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build();
    let tracer = provider.tracer("sessionkeeper");
    let filter = Targets::new()
        .with_target("sessionkeeper", LevelFilter::DEBUG)
        .with_default(LevelFilter::OFF);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter)
        .boxed();
    Ok((layer, provider))
}

/// Makes the caller's `traceparent` the request span's parent, and records the trace id the
/// span ends up in (the caller's, or a new one) for the log lines.
pub(super) fn adopt(span: &Span, traceparent: Option<&str>) {
    if let Some(value) = traceparent {
        let carrier = HashMap::from([("traceparent".to_owned(), value.to_owned())]);
        let parent = TraceContextPropagator::new().extract(&carrier);
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    let context = span.context();
    let trace_id = context.span().span_context().trace_id();
    if trace_id != opentelemetry::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    } else if let Some(id) = traceparent.and_then(super::traceparent_trace_id) {
        span.record("trace_id", id);
    }
}

pub(super) fn shutdown(provider: SdkTracerProvider) {
    if let Err(e) = provider.shutdown() {
        eprintln!("sessionkeeper: flushing traces failed: {e}");
    }
}
