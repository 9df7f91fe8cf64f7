//! `/api/admin/tenants/{tenantId}/policy`: a tenant's own session policy.

use super::caller::AdminCaller;
use crate::domain::tenant_policy::TenantPolicy;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::JsonBody;
use crate::service::admin::types::*;
use axum::Json;
use axum::extract::{Path, State};

/// A tenant's policy, with the values in force for its sessions (global admins; a tenant
/// admin their own tenant's).
#[utoipa::path(
    get, path = "/api/admin/tenants/{tenantId}/policy", tag = "tenants",
    params(("tenantId" = String, Path, description = "The tenant")),
    responses(
        (status = 200, body = TenantPolicyView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<TenantPolicyView>> {
    Ok(Json(
        state.keeper.admin().tenant_policy(&actor, &tenant).await?,
    ))
}

/// Sets a tenant's policy, replacing the one it had: an absent or `null` field falls back to
/// the global setting; a set one replaces it for the tenant's sessions at sign-in, at every
/// check and in the cleanup, whether looser or stricter (only its bounds are checked). Global
/// admins; audited.
#[utoipa::path(
    put, path = "/api/admin/tenants/{tenantId}/policy", tag = "tenants",
    params(("tenantId" = String, Path, description = "The tenant")),
    request_body = TenantPolicy,
    responses(
        (status = 200, body = TenantPolicyView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Path(tenant): Path<String>,
    body: Result<JsonBody<TenantPolicy>, ApiError>,
) -> ApiResult<Json<TenantPolicyView>> {
    let JsonBody(policy) = body?;
    Ok(Json(
        state
            .keeper
            .admin()
            .put_tenant_policy(&actor, &tenant, policy)
            .await?,
    ))
}

/// Removes a tenant's policy: its sessions fall back to the global policy (global admins;
/// audited).
#[utoipa::path(
    delete, path = "/api/admin/tenants/{tenantId}/policy", tag = "tenants",
    params(("tenantId" = String, Path, description = "The tenant")),
    responses(
        (status = 200, body = DeletedBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("session" = []), ("serviceToken" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    AdminCaller(actor): AdminCaller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<DeletedBody>> {
    Ok(Json(
        state
            .keeper
            .admin()
            .delete_tenant_policy(&actor, &tenant)
            .await?,
    ))
}
