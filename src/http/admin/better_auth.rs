//! Better Auth's admin plugin routes under `/api/auth/admin`, with its shapes and codes
//! (docs/better-auth-compat.md §4.2). The caller is authorised before the input is looked at, so an anonymous bad
//! request gets 401, not 400. Sessions are shown with a `ref_<id>` handle in `token`, never a token.

use super::caller::{AdminCaller, with_permission};
use super::params::Params;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::JsonBody;
use crate::service::admin::types::*;
use crate::service::admin::users::{
    BAN, LIST_SESSIONS, LIST_USERS, REVOKE_SESSIONS, SET_PASSWORD, SET_ROLE,
};
use axum::Json;
use axum::extract::State;

type Caller = Result<AdminCaller, ApiError>;

/// Users, searched, filtered, sorted and paged (`limit`/`offset` echoed when given).
#[utoipa::path(
    get, path = "/api/auth/admin/list-users", tag = "better-auth-admin",
    params(ListUsersParams),
    responses(
        (status = 200, body = UserList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    p: Result<Params<ListUsersParams>, ApiError>,
) -> ApiResult<Json<UserList>> {
    let actor = with_permission(caller, LIST_USERS)?;
    let Params(p) = p?;
    Ok(Json(state.keeper.admin().list_users(&actor, p).await?))
}

/// A user's sessions, expired ones included (at most 100).
#[utoipa::path(
    post, path = "/api/auth/admin/list-user-sessions", tag = "better-auth-admin",
    request_body = UserIdBody,
    responses(
        (status = 200, body = SessionsEnvelope),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn list_user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<UserIdBody>, ApiError>,
) -> ApiResult<Json<SessionsEnvelope>> {
    let actor = with_permission(caller, LIST_SESSIONS)?;
    let JsonBody(body) = body?;
    Ok(Json(
        state
            .keeper
            .admin()
            .list_user_sessions(&actor, &body.user_id)
            .await?,
    ))
}

/// Revokes the session named by a `ref_<id>` handle (or, in shared mode, its token).
#[utoipa::path(
    post, path = "/api/auth/admin/revoke-user-session", tag = "better-auth-admin",
    request_body = SessionTokenBody,
    responses(
        (status = 200, body = SuccessBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn revoke_user_session(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<SessionTokenBody>, ApiError>,
) -> ApiResult<Json<SuccessBody>> {
    let actor = with_permission(caller, REVOKE_SESSIONS)?;
    let JsonBody(body) = body?;
    Ok(Json(
        state
            .keeper
            .admin()
            .revoke_user_session(&actor, &body.session_token)
            .await?,
    ))
}

/// Revokes all of a user's sessions.
#[utoipa::path(
    post, path = "/api/auth/admin/revoke-user-sessions", tag = "better-auth-admin",
    request_body = UserIdBody,
    responses(
        (status = 200, body = SuccessBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn revoke_user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<UserIdBody>, ApiError>,
) -> ApiResult<Json<SuccessBody>> {
    let actor = with_permission(caller, REVOKE_SESSIONS)?;
    let JsonBody(body) = body?;
    Ok(Json(
        state
            .keeper
            .admin()
            .revoke_user_sessions(&actor, &body.user_id)
            .await?,
    ))
}

/// Bans a user and deletes all of their sessions.
#[utoipa::path(
    post, path = "/api/auth/admin/ban-user", tag = "better-auth-admin",
    request_body = BanBody,
    responses(
        (status = 200, body = UserEnvelope),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn ban_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<BanBody>, ApiError>,
) -> ApiResult<Json<UserEnvelope>> {
    let actor = with_permission(caller, BAN)?;
    let JsonBody(body) = body?;
    Ok(Json(state.keeper.admin().ban_user(&actor, body).await?))
}

/// Lifts a ban.
#[utoipa::path(
    post, path = "/api/auth/admin/unban-user", tag = "better-auth-admin",
    request_body = UserIdBody,
    responses(
        (status = 200, body = UserEnvelope),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn unban_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<UserIdBody>, ApiError>,
) -> ApiResult<Json<UserEnvelope>> {
    let actor = with_permission(caller, BAN)?;
    let JsonBody(body) = body?;
    Ok(Json(
        state
            .keeper
            .admin()
            .unban_user(&actor, &body.user_id)
            .await?,
    ))
}

/// Sets a user's role (a list is stored comma-joined).
#[utoipa::path(
    post, path = "/api/auth/admin/set-role", tag = "better-auth-admin",
    request_body = SetRoleBody,
    responses(
        (status = 200, body = UserEnvelope),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<SetRoleBody>, ApiError>,
) -> ApiResult<Json<UserEnvelope>> {
    let actor = with_permission(caller, SET_ROLE)?;
    let JsonBody(body) = body?;
    Ok(Json(state.keeper.admin().set_role(&actor, body).await?))
}

/// Sets a user's password (creating the credential account when missing) and ends every
/// session of that user.
#[utoipa::path(
    post, path = "/api/auth/admin/set-user-password", tag = "better-auth-admin",
    request_body = SetUserPasswordBody,
    responses(
        (status = 200, body = StatusBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn set_user_password(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<SetUserPasswordBody>, ApiError>,
) -> ApiResult<Json<StatusBody>> {
    let actor = with_permission(caller, SET_PASSWORD)?;
    let JsonBody(body) = body?;
    Ok(Json(
        state.keeper.admin().set_user_password(&actor, body).await?,
    ))
}
