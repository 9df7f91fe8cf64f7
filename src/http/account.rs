//! Better Auth's `/change-password` and `/delete-user` (docs/better-auth-compat.md §4.1).

use super::AppState;
use super::auth::{Cookies, require_session};
use super::auth_schema::{ChangePasswordResponse, DeleteUserResponse};
use super::error::ApiResult;
use super::extract::{JsonBody, Peer, client_info};
use crate::service::PasswordChange;
use crate::service::admin::types::ErrorBody;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordBody {
    new_password: String,
    current_password: String,
    revoke_other_sessions: Option<bool>,
}

/// `{token, user}`: `token` is the new session's when the other sessions were ended (all of
/// them, the caller's too, as Better Auth does; the caller gets a new cookie), else `null`.
#[utoipa::path(
    post, path = "/api/auth/change-password", tag = "better-auth",
    request_body = ChangePasswordBody,
    responses((status = 200, body = ChangePasswordResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Peer,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    let change = PasswordChange {
        current_password: body.current_password,
        new_password: body.new_password,
        revoke_other_sessions: body.revoke_other_sessions.unwrap_or(false),
    };
    let client = client_info(keeper.core(), &headers, &peer);
    let changed = keeper
        .auth()
        .change_password(&authed.data, change, client)
        .await?;
    Ok(match changed.issued {
        Some(issued) => Cookies::session(keeper.core(), &issued.token, true).with(
            StatusCode::OK,
            json!({ "token": issued.token, "user": changed.user }),
        ),
        None => authed.cookies.with(
            StatusCode::OK,
            json!({ "token": null, "user": changed.user }),
        ),
    })
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteUserBody {
    password: Option<String>,
    token: Option<String>,
    #[allow(dead_code)]
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// Deletes the caller's user, its accounts and sessions.
#[utoipa::path(
    post, path = "/api/auth/delete-user", tag = "better-auth",
    request_body = DeleteUserBody,
    responses((status = 200, body = DeleteUserResponse), (status = 404, body = ErrorBody, description = "INVALID_TOKEN: deletion by e-mailed token is not offered"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DeleteUserBody>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    keeper
        .auth()
        .delete_user(&authed.data, body.password, body.token)
        .await?;
    Ok(Cookies::cleared(keeper.core()).with(
        StatusCode::OK,
        json!({ "success": true, "message": "User deleted" }),
    ))
}
