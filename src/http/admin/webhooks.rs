//! `/api/admin/webhooks/failed`: webhook events that exhausted their attempts, and re-sending
//! one.

use super::caller::AdminCaller;
use super::params::{Params, PathId};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::State;

/// Failed events newest first; tenant admins see their tenant's.
#[utoipa::path(
    get, path = "/api/admin/webhooks/failed", tag = "webhooks",
    params(PageParams),
    responses(
        (status = 200, body = FailedEventList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn failed(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<FailedEventList>> {
    Ok(Json(
        state.keeper.admin().list_failed_events(&actor, p).await?,
    ))
}

/// Queues a failed event again, due now, with a fresh count of attempts.
#[utoipa::path(
    post, path = "/api/admin/webhooks/failed/{id}/resend", tag = "webhooks",
    params(("id" = String, Path, description = "The failed event's id")),
    responses(
        (status = 200, body = ResendResult),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn resend(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    PathId(id): PathId,
) -> ApiResult<Json<ResendResult>> {
    Ok(Json(state.keeper.admin().resend_event(&actor, &id).await?))
}
