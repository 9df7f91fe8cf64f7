//! The OpenAPI 3.1 document of the admin API, generated from the handlers' `#[utoipa::path]`
//! attributes and the types' `ToSchema`, so it cannot drift from the code.

use super::{audit, better_auth, cleanup, ended, locks, sessions, tenant_policy, webhooks, whoami};
use crate::domain::limits::{self, PageSize, Range};
use crate::domain::tenant_policy::{MAX_SESSIONS_PER_TENANT, TIMEOUT_SECONDS};
use axum::Json;
use utoipa::openapi::schema::{Object, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sessionkeeper API",
        description = "Better Auth's e-mail-and-password and session routes under `/api/auth` (tag `better-auth`), and the admin API: session statistics, listing, cleanup control, bulk deletion and Better Auth's admin plugin routes. \
                       Callers: users with the `admin` role (every tenant), users with the tenant-admin role (their tenant only), \
                       or `Authorization: Bearer <ADMIN_API_TOKEN>`."
    ),
    paths(
        whoami::whoami,
        sessions::stats,
        sessions::list,
        ended::list,
        sessions::bulk_delete,
        sessions::revoke,
        cleanup::status,
        cleanup::runs,
        cleanup::run,
        audit::list,
        webhooks::failed,
        webhooks::resend,
        locks::list,
        locks::clear,
        tenant_policy::get,
        tenant_policy::put,
        tenant_policy::delete,
        better_auth::list_users,
        better_auth::list_user_sessions,
        better_auth::revoke_user_session,
        better_auth::revoke_user_sessions,
        better_auth::ban_user,
        better_auth::unban_user,
        better_auth::set_role,
        better_auth::set_user_password,
        serve,
        crate::http::auth::sign_up,
        crate::http::auth::sign_in,
        crate::http::auth::sign_out,
        crate::http::auth::get_session,
        crate::http::auth::get_session_post,
        crate::http::auth::list_sessions,
        crate::http::auth::session_history,
        crate::http::auth::revoke_session,
        crate::http::auth::revoke_sessions,
        crate::http::auth::revoke_other_sessions,
        crate::http::auth::update_user,
        crate::http::auth::ok,
        crate::http::account::change_password,
        crate::http::account::delete_user,
    ),
    modifiers(&Security, &Bounds)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(
                "A signed-in admin's session: the `better-auth.session_token` cookie or its bearer token",
            )).build()),
        );
        components.add_security_scheme(
            "serviceToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("ADMIN_API_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// Writes the bounds of [`limits`] into the document as `minimum`, `maximum` and `default`, so
/// that it states them from the same definition the server enforces.
struct Bounds;

impl Modify for Bounds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = doc.components.as_mut() {
            for (schema, field, range) in [
                ("CleanupRequest", "inactivityDays", limits::INACTIVITY_DAYS),
                (
                    "CleanupRequest",
                    "maxSessionsPerUser",
                    limits::MAX_SESSIONS_PER_USER,
                ),
                (
                    "TenantPolicy",
                    "maxSessionsPerUser",
                    limits::MAX_SESSIONS_PER_USER,
                ),
                ("TenantPolicy", "inactivityTimeoutSeconds", TIMEOUT_SECONDS),
                ("TenantPolicy", "absoluteTimeoutSeconds", TIMEOUT_SECONDS),
                (
                    "TenantPolicy",
                    "maxSessionsPerTenant",
                    MAX_SESSIONS_PER_TENANT,
                ),
                (
                    "BulkDeleteRequest",
                    "olderThanDays",
                    limits::BULK_DELETE_DAYS,
                ),
                (
                    "BulkDeleteRequest",
                    "inactiveDays",
                    limits::BULK_DELETE_DAYS,
                ),
            ] {
                if let Some(o) = property(components, schema, field) {
                    bound(o, range, None);
                }
            }
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let size = if path == "/api/auth/admin/list-users" {
                limits::USERS_PAGE
            } else {
                limits::PAGE
            };
            let operations = [&mut item.get, &mut item.post, &mut item.delete];
            for op in operations.into_iter().flatten() {
                for param in op.parameters.iter_mut().flatten() {
                    if let RefOr::T(p) = param
                        && p.name == "limit"
                        && let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut()
                    {
                        page_bound(o, size);
                    }
                }
            }
        }
    }
}

fn property<'a>(
    components: &'a mut Components,
    schema: &str,
    field: &str,
) -> Option<&'a mut Object> {
    let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(schema) else {
        return None;
    };
    match o.properties.get_mut(field) {
        Some(RefOr::T(Schema::Object(p))) => Some(p),
        _ => None,
    }
}

fn bound(o: &mut Object, range: Range, default: Option<u32>) {
    o.minimum = Some(range.min.into());
    o.maximum = Some(range.max.into());
    if let Some(d) = default {
        o.default = Some(d.into());
    }
}

fn page_bound(o: &mut Object, size: PageSize) {
    bound(o, Range::new(1, size.max), Some(size.default));
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document. Public: it describes the API and holds nothing secret.
#[utoipa::path(get, path = "/api/admin/openapi.json", tag = "admin", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
