//! The one place where errors become HTTP responses: a status and a `{message, code}` body.

use crate::service::Error;
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    code: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    detail: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized")
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code) = match &e {
            Error::Validation(_) => (S::BAD_REQUEST, "VALIDATION_ERROR"),
            Error::InvalidEmail => (S::BAD_REQUEST, "INVALID_EMAIL"),
            Error::PasswordTooShort => (S::BAD_REQUEST, "PASSWORD_TOO_SHORT"),
            Error::PasswordTooLong => (S::BAD_REQUEST, "PASSWORD_TOO_LONG"),
            Error::UserExists => (
                S::UNPROCESSABLE_ENTITY,
                "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
            ),
            Error::InvalidCredentials => (S::UNAUTHORIZED, "INVALID_EMAIL_OR_PASSWORD"),
            Error::Banned => (S::FORBIDDEN, "BANNED_USER"),
            Error::Unauthorized => (S::UNAUTHORIZED, "UNAUTHORIZED"),
            Error::SessionNotFresh => (S::FORBIDDEN, "SESSION_NOT_FRESH"),
            Error::FailedToGetSession => (S::UNAUTHORIZED, "FAILED_TO_GET_SESSION"),
            Error::EmailCannotBeUpdated => (S::BAD_REQUEST, "EMAIL_CAN_NOT_BE_UPDATED"),
            Error::BadRequest { code, .. } => (S::BAD_REQUEST, *code),
            Error::Forbidden { code, .. } => (S::FORBIDDEN, *code),
            Error::NotFound { code, .. } => (S::NOT_FOUND, *code),
            Error::Conflict { code, detail, .. } => {
                return Self {
                    status: S::CONFLICT,
                    code,
                    message,
                    detail: detail.clone(),
                };
            }
            Error::Store(StoreError::Duplicate(_)) => (S::CONFLICT, "CONFLICT"),
            Error::Store(inner) => {
                // Details stay in the log; the client learns only that the store failed.
                tracing::error!(error = %inner, "store error");
                return Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "DATABASE_UNAVAILABLE",
                    "The database is unavailable; try again",
                );
            }
            Error::Secondary(inner) => {
                tracing::error!(error = %inner, "secondary storage error");
                return Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "SECONDARY_STORAGE_UNAVAILABLE",
                    "Redis is unavailable: the database change was made, but the sessions in Redis are removed only when it answers again (the next cleanup run does it); try again",
                );
            }
            Error::Internal(inner) => {
                tracing::error!(error = %inner, "internal error");
                return Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "Internal server error",
                );
            }
        };
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            message: &self.message,
            code: self.code,
            detail: self.detail.as_ref(),
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
