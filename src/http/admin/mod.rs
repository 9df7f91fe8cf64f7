//! The admin API under `/api/admin` and Better Auth's admin plugin routes under
//! `/api/auth/admin`: one file per resource, [`caller::AdminCaller`] deciding who may call.

pub mod audit;
pub mod better_auth;
pub mod caller;
pub mod cleanup;
pub mod ended;
pub mod locks;
pub mod openapi;
pub mod params;
pub mod sessions;
pub mod tenant_policy;
pub mod webhooks;
pub mod whoami;

use super::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, post, put};

/// Every admin route as `(method, path, handler)`: the router is built from this table and the
/// contract test checks each entry against the OpenAPI document.
pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("get", "/api/admin/whoami", get(whoami::whoami)),
        ("get", "/api/admin/sessions/stats", get(sessions::stats)),
        ("get", "/api/admin/sessions", get(sessions::list)),
        ("get", "/api/admin/sessions/ended", get(ended::list)),
        (
            "delete",
            "/api/admin/sessions",
            delete(sessions::bulk_delete),
        ),
        (
            "delete",
            "/api/admin/sessions/{id}",
            delete(sessions::revoke),
        ),
        (
            "get",
            "/api/admin/sessions/cleanup/status",
            get(cleanup::status),
        ),
        (
            "get",
            "/api/admin/sessions/cleanup/runs",
            get(cleanup::runs),
        ),
        ("post", "/api/admin/sessions/cleanup", post(cleanup::run)),
        ("get", "/api/admin/audit", get(audit::list)),
        ("get", "/api/admin/webhooks/failed", get(webhooks::failed)),
        (
            "post",
            "/api/admin/webhooks/failed/{id}/resend",
            post(webhooks::resend),
        ),
        ("get", "/api/admin/sign-in-locks", get(locks::list)),
        (
            "delete",
            "/api/admin/sign-in-locks/{email}",
            delete(locks::clear),
        ),
        (
            "get",
            "/api/admin/tenants/{tenantId}/policy",
            get(tenant_policy::get),
        ),
        (
            "put",
            "/api/admin/tenants/{tenantId}/policy",
            put(tenant_policy::put),
        ),
        (
            "delete",
            "/api/admin/tenants/{tenantId}/policy",
            delete(tenant_policy::delete),
        ),
        ("get", "/api/admin/openapi.json", get(openapi::serve)),
        (
            "get",
            "/api/auth/admin/list-users",
            get(better_auth::list_users),
        ),
        (
            "post",
            "/api/auth/admin/list-user-sessions",
            post(better_auth::list_user_sessions),
        ),
        (
            "post",
            "/api/auth/admin/revoke-user-session",
            post(better_auth::revoke_user_session),
        ),
        (
            "post",
            "/api/auth/admin/revoke-user-sessions",
            post(better_auth::revoke_user_sessions),
        ),
        (
            "post",
            "/api/auth/admin/ban-user",
            post(better_auth::ban_user),
        ),
        (
            "post",
            "/api/auth/admin/unban-user",
            post(better_auth::unban_user),
        ),
        (
            "post",
            "/api/auth/admin/set-role",
            post(better_auth::set_role),
        ),
        (
            "post",
            "/api/auth/admin/set-user-password",
            post(better_auth::set_user_password),
        ),
    ]
}

/// Every admin route, each answer marked `Cache-Control: no-store`: they carry e-mails, IP
/// addresses and user agents, which no browser or proxy cache should keep.
pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .route_layer(axum::middleware::map_response(no_store))
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
