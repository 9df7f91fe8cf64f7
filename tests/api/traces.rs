//! Traces: a sign-in's request span and its statement spans reach a local OTLP/HTTP receiver
//! (feature `otel`; `cargo test --features otel --test api traces`), as children of the
//! caller's W3C `traceparent`, and so do the cleanup's batch spans; and the trace id is in the
//! JSON log lines (any build).

use crate::helpers::{BASE_URL, Db, PASSWORD, TestDb};
use crate::process::ServerProcess;
use serde_json::json;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-01")
}

async fn sign_up_and_in(url: &str) {
    let http = reqwest::Client::new();
    for path in ["sign-up/email", "sign-in/email"] {
        let res = http
            .post(format!("{url}/api/auth/{path}"))
            .header("origin", BASE_URL)
            .header("traceparent", traceparent())
            .json(&json!({"name": "T", "email": "trace@example.com", "password": PASSWORD}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_callers_trace_id_is_in_the_json_log_lines() {
    let db = TestDb::new(Db::Sqlite).await.expect("SQLite");
    let mut server = ServerProcess::start(&db.url, &[("RUST_LOG", "info,tower_http=debug")]);
    sign_up_and_in(&server.url).await;
    server.terminate();
    assert_eq!(server.wait(std::time::Duration::from_secs(20)), Some(0));
    let lines = server.log_lines();
    let traced: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("finished processing request"))
        .collect();
    assert!(traced.len() >= 2, "{lines:#?}");
    for line in traced {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["span"]["trace_id"], TRACE_ID, "{line}");
    }
}

#[cfg(feature = "otel")]
mod otlp {
    use super::*;
    use axum::Router;
    use axum::body::Bytes;
    use axum::routing::post;
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    /// A collector's OTLP/HTTP endpoint in miniature: keeps every span it is sent.
    async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = spans.clone();
        let app = Router::new().route(
            "/v1/traces",
            post(move |body: Bytes| {
                let sink = sink.clone();
                async move {
                    let v: Value = serde_json::from_slice(&body).expect("OTLP JSON");
                    let mut got = sink.lock().unwrap();
                    for rs in v["resourceSpans"].as_array().into_iter().flatten() {
                        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                            got.extend(ss["spans"].as_array().into_iter().flatten().cloned());
                        }
                    }
                    "{}"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), spans)
    }

    fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
        span["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| &a["value"])
    }

    // Multi-threaded: the receiver must keep answering while this thread waits for the server
    // to exit (its last export happens during shutdown).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sign_in_exports_its_request_and_statement_spans() {
        let (endpoint, spans) = receiver().await;
        let db = TestDb::new(Db::Sqlite).await.expect("SQLite");
        let mut server = ServerProcess::start(
            &db.url,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                // The start-up cleanup run: its batches are spans too.
                ("AUTOMATIC_SESSION_CLEANUP", "true"),
                ("CLEANUP_ON_STARTUP", "true"),
            ],
        );
        sign_up_and_in(&server.url).await;
        // Shutdown flushes the spans still buffered.
        server.terminate();
        assert_eq!(server.wait(std::time::Duration::from_secs(20)), Some(0));

        let spans = spans.lock().unwrap().clone();
        let request = spans
            .iter()
            .find(|s| s["name"] == "POST /api/auth/sign-in/email")
            .unwrap_or_else(|| panic!("no sign-in request span in {spans:#?}"));
        assert_eq!(
            request["traceId"]
                .as_str()
                .map(str::to_lowercase)
                .as_deref(),
            Some(TRACE_ID)
        );
        assert_eq!(
            request["parentSpanId"]
                .as_str()
                .map(str::to_lowercase)
                .as_deref(),
            Some(PARENT_ID),
            "the caller's span is the parent"
        );
        let route = attr(request, "http.route").expect("http.route");
        assert_eq!(route["stringValue"], "/api/auth/sign-in/email");
        let status = attr(request, "http.response.status_code").expect("status");
        // tracing-opentelemetry exports an unsigned field as a string.
        let code = status.get("intValue").or_else(|| status.get("stringValue"));
        assert_eq!(
            code.map(|c| c.to_string().replace('"', "")).as_deref(),
            Some("200")
        );

        let request_id = request["spanId"].as_str().expect("span id");
        let statements: Vec<&Value> = spans
            .iter()
            .filter(|s| s["parentSpanId"] == request_id)
            .filter(|s| attr(s, "db.query.text").is_some())
            .collect();
        let names: Vec<&str> = statements
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        // The user by e-mail, and the new session.
        assert!(
            names.contains(&"SELECT") && names.contains(&"INSERT"),
            "{names:?}"
        );
        for s in &statements {
            let text = attr(s, "db.query.text").unwrap().to_string();
            assert!(
                !text.contains("trace@example.com"),
                "parameters leak: {text}"
            );
        }
        let batch = spans
            .iter()
            .find(|s| s["name"] == "cleanup.batch")
            .expect("a cleanup batch span");
        assert!(attr(batch, "layer").is_some() && attr(batch, "deleted").is_some());
        let all = serde_json::to_string(&spans).unwrap();
        assert!(!all.contains(PASSWORD) && !all.contains("trace@example.com"));
    }
}
