//! `/api/admin/sign-in-locks`: e-mails locked by failed sign-ins, and clearing one.

use super::caller::AdminCaller;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::{Path, State};

/// E-mails locked now by `SIGN_IN_MAX_FAILURES_PER_ACCOUNT` failed sign-ins (global admins).
#[utoipa::path(
    get, path = "/api/admin/sign-in-locks", tag = "security",
    responses(
        (status = 200, body = SignInLockList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
) -> ApiResult<Json<SignInLockList>> {
    Ok(Json(state.keeper.admin().list_sign_in_locks(&actor).await?))
}

/// Forgets the failed sign-ins of one e-mail, unlocking it (global admins).
#[utoipa::path(
    delete, path = "/api/admin/sign-in-locks/{email}", tag = "security",
    params(("email" = String, Path, description = "The locked e-mail")),
    responses(
        (status = 200, body = ClearedBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn clear(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Path(email): Path<String>,
) -> ApiResult<Json<ClearedBody>> {
    Ok(Json(
        state
            .keeper
            .admin()
            .clear_sign_in_lock(&actor, &email)
            .await?,
    ))
}
