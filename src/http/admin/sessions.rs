//! `/api/admin/sessions`: statistics, the listing, bulk deletion and single revocation.

use super::caller::AdminCaller;
use super::params::{Params, PathId};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::OptionalJson;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::State;

/// Session statistics, for every tenant or one.
#[utoipa::path(
    get, path = "/api/admin/sessions/stats", tag = "sessions",
    params(StatsParams),
    responses(
        (status = 200, body = SessionStats),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn stats(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Params(p): Params<StatsParams>,
) -> ApiResult<Json<SessionStats>> {
    Ok(Json(state.keeper.admin().session_stats(&actor, p).await?))
}

/// Sessions newest first (createdAt, then id), filtered, one keyset page at a time. With
/// `SESSION_STORAGE=secondary` (sessions in Redis only) the order is the `SCAN` walk's, each
/// user's sessions newest first, and a page may be short before the end: follow `nextCursor`
/// until it is null.
#[utoipa::path(
    get, path = "/api/admin/sessions", tag = "sessions",
    params(ListParams),
    responses(
        (status = 200, body = SessionList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(state.keeper.admin().list_sessions(&actor, p).await?))
}

/// Deletes the sessions matching every given criterion (or counts them, on a dry run).
#[utoipa::path(
    delete, path = "/api/admin/sessions", tag = "sessions",
    request_body = BulkDeleteRequest,
    responses(
        (status = 200, body = BulkDeleteResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn bulk_delete(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    OptionalJson(body): OptionalJson<BulkDeleteRequest>,
) -> ApiResult<Json<BulkDeleteResult>> {
    Ok(Json(state.keeper.admin().bulk_delete(&actor, body).await?))
}

/// Revokes one session.
#[utoipa::path(
    delete, path = "/api/admin/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = RevokeResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    PathId(id): PathId,
) -> ApiResult<Json<RevokeResult>> {
    Ok(Json(
        state.keeper.admin().revoke_session(&actor, &id).await?,
    ))
}
