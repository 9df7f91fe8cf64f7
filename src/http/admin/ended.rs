//! `GET /api/admin/sessions/ended`: termination records, why and by whom each session ended.

use super::caller::AdminCaller;
use super::params::Params;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::State;

/// Ended sessions newest first (keyset pages); tenant admins see their tenant's.
#[utoipa::path(
    get, path = "/api/admin/sessions/ended", tag = "sessions",
    params(EndedParams),
    responses(
        (status = 200, body = EndedList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Params(p): Params<EndedParams>,
) -> ApiResult<Json<EndedList>> {
    Ok(Json(state.keeper.admin().list_ended(&actor, p).await?))
}
