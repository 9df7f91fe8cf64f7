//! Request parts every route needs: JSON bodies with our error shape, the client's address and
//! user agent, and the presented session token (read in `service/presented.rs`, which the
//! library's validator shares).

use super::error::ApiError;
use crate::domain::ip;
use crate::service::{ClientInfo, Core};
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, Request, rejection::JsonRejection,
};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

pub use crate::service::presented::{cookie, dont_remember, session_token};

/// `Json<T>` whose rejections (bad JSON, wrong types, missing fields, too large, wrong content
/// type) become `{message, code}` errors.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Like [`JsonBody`], but an empty body reads as `T::default()` (sign-out, revoke-sessions and
/// friends are often posted with no body).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| too_large_or(e.status(), e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| ApiError::validation(format!("Invalid request body: {e}")))
    }
}

fn too_large_or(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "PAYLOAD_TOO_LARGE", "Request body is too large")
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", text)
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => {
            ApiError::validation(format!("Invalid request body: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::validation(format!("Malformed JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Expected Content-Type: application/json",
        ),
        other => too_large_or(other.status(), other.body_text()),
    }
}

/// The socket peer, when the server was started with connect info (an embedder's router
/// driven without a socket has none).
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The address and user agent recorded on a new session.
pub fn client_info(core: &Core, headers: &HeaderMap, peer: &Peer) -> ClientInfo {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip_address = peer
        .0
        .map(|addr| {
            let ip = ip::client_ip(addr.ip(), forwarded, &core.config().session.trusted_proxies);
            ip::format_for_storage(ip)
        })
        .unwrap_or_default();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ClientInfo {
        ip_address,
        user_agent,
    }
}
