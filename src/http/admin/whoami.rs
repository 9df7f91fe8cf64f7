//! `GET /api/admin/whoami`: what the caller may do (the dashboard's first call).

use super::caller::AdminCaller;
use crate::http::AppState;
use crate::service::admin::types::{ErrorBody, WhoAmI};
use axum::Json;
use axum::extract::State;

/// The caller's kind, user and tenant.
#[utoipa::path(
    get, path = "/api/admin/whoami", tag = "admin",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn whoami(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
) -> Json<WhoAmI> {
    Json(state.keeper.admin().whoami(&actor))
}
