//! Response shapes of Better Auth's `/api/auth` routes, for the OpenAPI document only: the
//! handlers build these bodies with `json!` around `domain::User` and `SessionJson`, and the
//! contract test and `scripts/fuzz-api` check real answers against them
//! (docs/better-auth-compat.md §4.1).

use crate::service::admin::types::{BaSession, BaUser};
use serde::Serialize;
use utoipa::ToSchema;

/// `POST /sign-up/email`.
#[derive(Serialize, ToSchema)]
pub struct SignUpResponse {
    /// The new session's token (also in the cookie and `set-auth-token`).
    pub token: String,
    pub user: BaUser,
}

/// `POST /sign-in/email`.
#[derive(Serialize, ToSchema)]
pub struct SignInResponse {
    /// Always `false`: no redirect for e-mail sign-in.
    pub redirect: bool,
    pub token: String,
    pub user: BaUser,
}

/// `GET /get-session` with a live session. The session's `token` is the caller's own.
#[derive(Serialize, ToSchema)]
pub struct SessionPair {
    pub session: BaSession,
    pub user: BaUser,
}

/// `POST /change-password`: `token` is the new session's when the other sessions were ended,
/// else `null`.
#[derive(Serialize, ToSchema)]
pub struct ChangePasswordResponse {
    pub token: Option<String>,
    pub user: BaUser,
}

/// `POST /delete-user`.
#[derive(Serialize, ToSchema)]
pub struct DeleteUserResponse {
    pub success: bool,
    /// `User deleted`.
    pub message: String,
}

/// `GET /ok`.
#[derive(Serialize, ToSchema)]
pub struct OkBody {
    pub ok: bool,
}
