//! `/api/admin/sessions/cleanup`: the cleanup service's status, its run history, manual runs.

use super::caller::AdminCaller;
use super::params::Params;
use crate::cleanup::CleanupStatus;
use crate::domain::run::CleanupRun;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::OptionalJson;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::State;

/// The live status: schedule, policy in force, the run in progress, the last run, totals, and
/// the limits a manual run's policy must keep.
#[utoipa::path(
    get, path = "/api/admin/sessions/cleanup/status", tag = "cleanup",
    responses((status = 200, body = CleanupStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
) -> ApiResult<Json<CleanupStatus>> {
    Ok(Json(state.keeper.admin().cleanup_status(&actor).await?))
}

/// Recorded runs, newest first (tenant admins: their tenant's manual runs only).
#[utoipa::path(
    get, path = "/api/admin/sessions/cleanup/runs", tag = "cleanup",
    params(PageParams),
    responses(
        (status = 200, body = CleanupRunList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn runs(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<CleanupRunList>> {
    Ok(Json(state.keeper.admin().cleanup_runs(&actor, p).await?))
}

/// Runs a cleanup now (tenant admins: of their tenant's sessions only).
#[utoipa::path(
    post, path = "/api/admin/sessions/cleanup", tag = "cleanup",
    request_body = CleanupRequest,
    responses(
        (status = 200, body = CleanupRun),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = CleanupConflict), (status = 413, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn run(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    OptionalJson(body): OptionalJson<CleanupRequest>,
) -> ApiResult<Json<CleanupRun>> {
    Ok(Json(state.keeper.admin().run_cleanup(&actor, body).await?))
}
