//! The OpenAPI 3.1 document of the admin API, generated from the handlers' `#[utoipa::path]`
//! attributes and the types' `ToSchema`, so it cannot drift from the code.

use super::{audit, better_auth, cleanup, sessions, whoami};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sessionkeeper admin API",
        description = "Session statistics, listing, cleanup control, bulk deletion and Better Auth's admin plugin routes. \
                       Callers: users with the `admin` role (every tenant), users with the tenant-admin role (their tenant only), \
                       or `Authorization: Bearer <ADMIN_API_TOKEN>`."
    ),
    paths(
        whoami::whoami,
        sessions::stats,
        sessions::list,
        sessions::bulk_delete,
        sessions::revoke,
        cleanup::status,
        cleanup::runs,
        cleanup::run,
        audit::list,
        better_auth::list_users,
        better_auth::list_user_sessions,
        better_auth::revoke_user_session,
        better_auth::revoke_user_sessions,
        better_auth::ban_user,
        better_auth::unban_user,
        better_auth::set_role,
        serve,
    ),
    modifiers(&Security)
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document. Public: it describes the API and holds nothing secret.
#[utoipa::path(get, path = "/api/admin/openapi.json", tag = "admin", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
