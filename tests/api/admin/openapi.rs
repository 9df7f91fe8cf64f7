//! The OpenAPI document covers every admin route, and real responses match it.

use super::support::*;
use crate::all_stores;
use serde_json::{Value, json};

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let found = &doc["components"]["schemas"][name];
            assert!(!found.is_null(), "dangling $ref {r}");
            resolve(doc, found)
        }
        None => schema,
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => true,
    }
}

/// A small structural check: types, and for objects that every key is documented and every
/// required key present, recursively. Returns the problems found.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let ok = alts.iter().any(|alt| {
                let mut sub = Vec::new();
                check(doc, alt, v, at, &mut sub);
                sub.is_empty()
            });
            if !ok {
                out.push(format!("{at}: matches none of {key}"));
            }
            return;
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, v, at, out);
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(t, v) => {
            out.push(format!("{at}: expected {t}, got {v}"))
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_matches(t.as_str().unwrap_or(""), v)) => {
            out.push(format!("{at}: expected one of {ts:?}, got {v}"))
        }
        _ => {}
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) {
        for (k, val) in obj {
            match props.get(k) {
                Some(p) => check(doc, p, val, &format!("{at}.{k}"), out),
                None => out.push(format!("{at}: undocumented key {k}")),
            }
        }
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                out.push(format!("{at}: required key {r} missing"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"), out);
        }
    }
}

/// The documented response schema of `method path` for `status`.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} documents no JSON body for {status}"
    );
    schema
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc = serde_json::to_value(sessionkeeper::http::admin::openapi::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut routes: Vec<(&str, String)> = sessionkeeper::http::admin::routes()
        .into_iter()
        .map(|(m, p, _)| (m, p.to_string()))
        .collect();
    routes.extend(
        sessionkeeper::http::auth::routes()
            .into_iter()
            .map(|(m, p, _)| (m, format!("/api/auth{p}"))),
    );
    for (method, path) in &routes {
        assert!(
            doc["paths"][path.as_str()][*method].is_object(),
            "{method} {path} missing from the document"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "the document has operations the router does not serve"
    );
}

all_stores!(
    real_responses_match_the_document,
    with_token(),
    |app| async move {
        let served = get(&app, "/api/admin/openapi.json", &Auth::None).await;
        assert_eq!(served.status, 200);
        let doc = served.body.clone();
        let svc = Auth::Bearer(SERVICE_TOKEN.into());
        let (_, root) = signed_in(&app, "root@example.com", "admin", None).await;
        let root = Auth::Cookie(root);
        let u = user(&app, "u@example.com", "user", Some("A")).await;
        let (s1, _) = session(&app, &u, S::fresh(&app)).await;
        let (s2, _) = session(&app, &u, S::fresh(&app)).await;
        let (plain, plain_cookie) = signed_in(&app, "plain@example.com", "user", None).await;
        let _ = plain;
        let plain_auth = Auth::Cookie(plain_cookie);
        let calls: Vec<(&str, String, &Auth, Option<Value>)> = vec![
            ("get", "/api/admin/whoami".into(), &root, None),
            ("get", "/api/admin/whoami".into(), &svc, None),
            ("get", "/api/admin/sessions/stats".into(), &svc, None),
            ("get", "/api/admin/sessions?limit=1".into(), &svc, None),
            (
                "delete",
                "/api/admin/sessions".into(),
                &svc,
                Some(json!({"userId": u.id, "dryRun": true})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                &svc,
                Some(json!({"sessionIds": [s1.id]})),
            ),
            (
                "delete",
                "/api/admin/sessions".into(),
                &svc,
                Some(json!({})),
            ),
            (
                "delete",
                format!("/api/admin/sessions/{}", s2.id),
                &svc,
                None,
            ),
            ("delete", "/api/admin/sessions/missing".into(), &svc, None),
            ("get", "/api/admin/audit?limit=1".into(), &svc, None),
            (
                "get",
                "/api/admin/sessions/cleanup/status".into(),
                &svc,
                None,
            ),
            (
                "post",
                "/api/admin/sessions/cleanup".into(),
                &svc,
                Some(json!({"dryRun": true})),
            ),
            ("post", "/api/admin/sessions/cleanup".into(), &svc, None),
            (
                "post",
                "/api/admin/sessions/cleanup".into(),
                &svc,
                Some(json!({"inactivityDays": 0})),
            ),
            (
                "get",
                "/api/admin/sessions/cleanup/runs?limit=5".into(),
                &svc,
                None,
            ),
            (
                "get",
                "/api/admin/sessions/cleanup/status".into(),
                &svc,
                None,
            ),
            ("get", "/api/admin/audit?cursor=bad".into(), &svc, None),
            (
                "get",
                "/api/auth/admin/list-users?limit=2&offset=0".into(),
                &svc,
                None,
            ),
            (
                "post",
                "/api/auth/admin/list-user-sessions".into(),
                &svc,
                Some(json!({"userId": u.id})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-session".into(),
                &svc,
                Some(json!({"sessionToken": "ref_x"})),
            ),
            (
                "post",
                "/api/auth/admin/revoke-user-sessions".into(),
                &svc,
                Some(json!({"userId": u.id})),
            ),
            (
                "post",
                "/api/auth/admin/ban-user".into(),
                &svc,
                Some(json!({"userId": u.id, "banReason": "spam"})),
            ),
            (
                "post",
                "/api/auth/admin/unban-user".into(),
                &svc,
                Some(json!({"userId": u.id})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                &svc,
                Some(json!({"userId": u.id, "role": ["user"]})),
            ),
            (
                "post",
                "/api/auth/admin/set-role".into(),
                &plain_auth,
                Some(json!({"userId": u.id, "role": "user"})),
            ),
            ("get", "/api/admin/sessions/stats".into(), &Auth::None, None),
        ];
        let mut problems = Vec::new();
        for (method, path, auth, body) in calls {
            let res = call(&app, method, &path, auth, body).await;
            let bare = path.split('?').next().unwrap().to_string();
            let template = if doc["paths"][bare.as_str()].is_object() {
                bare
            } else {
                "/api/admin/sessions/{id}".to_string()
            };
            let schema = response_schema(&doc, method, &template, res.status);
            check(
                &doc,
                schema,
                &res.body,
                &format!("{method} {path} {}", res.status),
                &mut problems,
            );
        }
        assert!(
            problems.is_empty(),
            "responses disagree with the document:\n{}",
            problems.join("\n")
        );
        // The checker itself catches a wrong body.
        let mut caught = Vec::new();
        check(
            &doc,
            response_schema(&doc, "get", "/api/admin/whoami", 200),
            &json!({"kind": 1, "extra": true}),
            "probe",
            &mut caught,
        );
        assert!(
            caught.iter().any(|p| p.contains("undocumented key extra")),
            "{caught:?}"
        );
        assert!(
            caught
                .iter()
                .any(|p| p.contains("probe.kind: expected string")),
            "{caught:?}"
        );
    }
);
