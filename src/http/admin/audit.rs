//! `GET /api/admin/audit`: the record of admin actions.

use super::caller::AdminCaller;
use super::params::Params;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::State;

/// Admin actions newest first; tenant admins see their tenant's.
#[utoipa::path(
    get, path = "/api/admin/audit", tag = "audit",
    params(PageParams),
    responses(
        (status = 200, body = AuditList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<AuditList>> {
    Ok(Json(state.keeper.admin().list_audit(&actor, p).await?))
}
