use crate::store::StoreError;

/// Everything the core API can refuse, named as Better Auth names it. The HTTP layer maps each
/// variant to a status and a `{message, code}` body in one place (`http/error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("Invalid email")]
    InvalidEmail,
    #[error("Password too short")]
    PasswordTooShort,
    #[error("Password too long")]
    PasswordTooLong,
    #[error("User already exists. Use another email.")]
    UserExists,
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error(
        "You have been banned from this application. Please contact support if you believe this is an error."
    )]
    Banned,
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Session is not fresh")]
    SessionNotFresh,
    #[error("Failed to get session")]
    FailedToGetSession,
    #[error("Email can not be updated")]
    EmailCannotBeUpdated,
    /// A 400 with its own code (e.g. `INVALID_CURSOR`, `YOU_CANNOT_BAN_YOURSELF`).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        /// Extra machine-readable context (e.g. the running cleanup's id).
        detail: Option<serde_json::Value>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis failed after the database change was made (see `crate::secondary`).
    #[error("{0}")]
    Secondary(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
