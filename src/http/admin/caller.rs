//! Who is calling the admin API, decided in one place for every admin route (and the
//! dashboard): the service token, or a session whose user holds an admin role.

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::session_token;
use crate::service::SessionCheck;
use crate::service::admin::users::Permission;
use crate::service::admin::{Actor, Denied};
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An authorised admin caller: 401 without a session, 403 with one that is not an admin's.
pub struct AdminCaller(pub Actor);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let keeper = &state.keeper;
        if let Some(expected) = &keeper.core().config().admin.api_token
            && bearer(&parts.headers).is_some_and(|given| same_secret(given, expected.expose()))
        {
            return Ok(AdminCaller(Actor::service()));
        }
        let token =
            session_token(keeper.core(), &parts.headers).ok_or_else(ApiError::unauthorized)?;
        // Admin calls never slide the caller's session: no cookie has to travel back.
        match keeper.auth().check_session(&token, false).await? {
            SessionCheck::Valid { data, .. } => keeper
                .admin()
                .actor(data)
                .map(AdminCaller)
                .map_err(|d| match d {
                    Denied::Unauthenticated => ApiError::unauthorized(),
                    Denied::Forbidden => forbidden(),
                }),
            SessionCheck::Missing | SessionCheck::Expired => Err(ApiError::unauthorized()),
        }
    }
}

pub fn forbidden() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "Admin access required")
}

/// For Better Auth's admin plugin routes: the same check, but a 403 carries the route's own
/// `YOU_ARE_NOT_ALLOWED_TO_*` code.
pub fn with_permission(
    caller: Result<AdminCaller, ApiError>,
    perm: Permission,
) -> Result<Actor, ApiError> {
    match caller {
        Ok(AdminCaller(actor)) => Ok(actor),
        Err(e) if e.status == StatusCode::FORBIDDEN => Err(perm.denied().into()),
        Err(e) => Err(e),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Constant time in the contents and, by comparing digests, in the length too.
fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("a-long-service-token", "a-long-service-token"));
        assert!(!same_secret("a-long-service-tokeN", "a-long-service-token"));
        assert!(!same_secret("", "a-long-service-token"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bEaReR  tok ".parse().unwrap());
        assert_eq!(bearer(&h), Some("tok"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
