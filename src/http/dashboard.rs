//! The admin dashboard: static HTML, CSS and JavaScript modules from `dashboard/`, embedded in
//! the binary and served at `/admin`. It holds no data and no secret: everything it shows comes
//! from the admin API with the signed-in user's cookie, so the API's access rules are its rules.

use super::AppState;
use super::error::ApiError;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;

#[derive(rust_embed::RustEmbed)]
#[folder = "dashboard/"]
struct Files;

/// Only our own scripts, styles and API: no inline code, no third party, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/", get(index))
        .route("/admin/assets/{*path}", get(asset))
        .layer(CompressionLayer::new())
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{path}"), &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Files::get(path) else {
        return ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found").into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut res = if etag_matches(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let content_type = match mime.type_() {
            mime_guess::mime::TEXT => format!("{mime}; charset=utf-8"),
            _ if mime.subtype() == mime_guess::mime::JAVASCRIPT => format!("{mime}; charset=utf-8"),
            _ => mime.to_string(),
        };
        let mut res = file.data.into_owned().into_response();
        insert(&mut res, header::CONTENT_TYPE, &content_type);
        res
    };
    insert(&mut res, header::ETAG, &etag);
    // File names carry no version, so every use revalidates (a cheap 304) and an upgrade of the
    // binary is seen at once.
    insert(&mut res, header::CACHE_CONTROL, "no-cache");
    insert(&mut res, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if path.ends_with(".html") {
        insert(
            &mut res,
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        );
        insert(&mut res, header::X_FRAME_OPTIONS, "DENY");
        // `same-origin`, not `no-referrer`: the origin check falls back to the Referer.
        insert(&mut res, header::REFERRER_POLICY, "same-origin");
    }
    res
}

fn insert(res: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().insert(name, v);
    }
}

fn etag_matches(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_is_local_only() {
        // Nothing may be fetched from the internet at run time: no absolute URL in any file
        // except XML namespaces, which browsers never fetch.
        let mut seen = 0;
        for name in Files::iter() {
            let file = Files::get(&name).expect("listed file exists");
            let text = String::from_utf8_lossy(&file.data);
            let outside = text
                .lines()
                .find(|l| l.replace("http://www.w3.org/", "").contains("://"));
            assert!(
                outside.is_none(),
                "{name} refers to an outside URL: {outside:?}"
            );
            seen += 1;
        }
        assert!(seen >= 3, "the dashboard files are embedded");
    }

    #[test]
    fn etags_match_lists_and_weak_forms() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(etag_matches(&h, "\"b\""));
        assert!(!etag_matches(&h, "\"c\""));
        assert!(!etag_matches(&HeaderMap::new(), "\"b\""));
    }
}
