//! Better Auth's origin check (docs/better-auth-compat.md §4.5): a state-changing request that
//! carries a cookie (or, on sign-in and sign-up, any browser origin hint) must come from a
//! trusted origin.

use super::AppState;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let path = req.uri().path();
    let is_credential_form = path.ends_with("/sign-in/email") || path.ends_with("/sign-up/email");
    let browser_hint = [
        "origin",
        "referer",
        "sec-fetch-site",
        "sec-fetch-mode",
        "sec-fetch-dest",
    ]
    .iter()
    .any(|h| headers.contains_key(*h));
    // A bearer-only call carries no ambient credential, so there is nothing to forge.
    if !(headers.contains_key(header::COOKIE) || (is_credential_form && browser_hint)) {
        return next.run(req).await;
    }
    match request_origin(headers) {
        None => ApiError::new(
            StatusCode::FORBIDDEN,
            "MISSING_OR_NULL_ORIGIN",
            "Missing or null Origin",
        )
        .into_response(),
        Some(origin) if state.is_trusted_origin(&origin) => next.run(req).await,
        Some(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "INVALID_ORIGIN", "Invalid origin").into_response()
        }
    }
}

/// The `Origin` header, else the origin of the `Referer`; `None` when absent or `"null"`.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(o) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return (o != "null" && !o.is_empty()).then(|| o.trim_end_matches('/').to_owned());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    Some(url.origin().ascii_serialization())
}

/// Matches an origin against a trusted entry, where `*` stands for any run of characters
/// (`https://*.example.com`).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if !pattern.contains('*') {
        return pattern.eq_ignore_ascii_case(origin);
    }
    let mut rest = origin;
    let parts: Vec<&str> = pattern.split('*').collect();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_subdomains_only() {
        assert!(origin_matches(
            "https://*.example.com",
            "https://app.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.org"
        ));
        assert!(origin_matches(
            "http://localhost:3001/",
            "http://localhost:3001"
        ));
        assert!(!origin_matches(
            "http://localhost:3001",
            "http://localhost:3002"
        ));
    }
}
