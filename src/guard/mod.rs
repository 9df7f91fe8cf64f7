//! axum extractors and a tower layer that trust a Better Auth session, via a [`Validator`] in
//! the router's state (anything the validator can be taken from with [`FromRef`]).
//!
//! - [`Session`]: the caller's session and user; 401 `{message, code}` without one.
//! - [`OptionalSession`]: the same, or `None`; never rejects for a missing session.
//! - [`Role<R>`]: a session whose user has role `R` ([`Admin`], or one named with
//!   [`role!`](crate::role)); 401 without a session, 403 without the role.
//! - [`RequireSessionLayer`]: for routes that only need "signed in" (optionally a role); the
//!   extractors behind it reuse its answer instead of checking again.
//!
//! A database that cannot answer gives 503 `DATABASE_UNAVAILABLE`, never a 401: a client
//! that is signed in should retry, not sign in again.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use sessionkeeper::guard::{OptionalSession, RequireSessionLayer, Role, Session};
//!
//! sessionkeeper::role!(Editor = "editor");
//!
//! async fn me(Session(s): Session) -> String {
//!     s.user.email
//! }
//! async fn home(OptionalSession(s): OptionalSession) -> String {
//!     s.map_or("hello, guest".into(), |s| format!("hello, {}", s.user.name))
//! }
//! async fn edit(Role(s, ..): Role<Editor>) -> String {
//!     format!("{} may edit", s.user.email)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = sessionkeeper::Validator::from_env().await?;
//! let members = Router::new()
//!     .route("/feed", get(|| async { "members only" }))
//!     .layer(RequireSessionLayer::new(validator.clone()));
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/", get(home))
//!     .route("/edit", get(edit))
//!     .merge(members)
//!     .with_state(validator);
//! # Ok(()) }
//! ```

mod layer;

pub use layer::{RequireSession, RequireSessionLayer};

use crate::Validator;
use crate::domain::SessionWithUser;
use crate::http::error::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use std::marker::PhantomData;

/// The caller's session and user. Rejects with 401 when the request has no valid session.
#[derive(Debug, Clone)]
pub struct Session(pub SessionWithUser);

/// The caller's session and user, if any.
#[derive(Debug, Clone)]
pub struct OptionalSession(pub Option<SessionWithUser>);

/// A role name for [`Role`]. Declare one with [`role!`](crate::role).
pub trait RoleName: Send + Sync + 'static {
    const NAME: &'static str;
}

/// The admin plugin's `admin` role.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl RoleName for Admin {
    const NAME: &'static str = "admin";
}

/// Declares a [`RoleName`]: `sessionkeeper::role!(Editor = "editor");` then `Role<Editor>`.
#[macro_export]
macro_rules! role {
    ($vis:vis $name:ident = $role:literal) => {
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::guard::RoleName for $name {
            const NAME: &'static str = $role;
        }
    };
}

/// A session whose user has role `R` among the admin plugin's comma-joined roles. Rejects with
/// 401 without a session and 403 `FORBIDDEN` without the role.
#[derive(Debug, Clone)]
pub struct Role<R: RoleName>(pub SessionWithUser, pub PhantomData<R>);

/// What a [`RequireSessionLayer`] found, for the extractors behind it.
#[derive(Clone)]
pub(crate) struct Checked(pub(crate) SessionWithUser);

/// 403 for a signed-in user without the role.
pub(crate) fn forbidden(role: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        format!("This requires the {role} role"),
    )
}

async fn lookup<S>(parts: &Parts, state: &S) -> Result<Option<SessionWithUser>, ApiError>
where
    Validator: FromRef<S>,
{
    if let Some(Checked(found)) = parts.extensions.get::<Checked>() {
        return Ok(Some(found.clone()));
    }
    let validator = Validator::from_ref(state);
    Ok(validator.validate(&parts.headers).await?)
}

impl<S: Send + Sync> FromRequestParts<S> for OptionalSession
where
    Validator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        lookup(parts, state).await.map(OptionalSession)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session
where
    Validator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        lookup(parts, state)
            .await?
            .map(Session)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl<S: Send + Sync, R: RoleName> FromRequestParts<S> for Role<R>
where
    Validator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Session(found) = Session::from_request_parts(parts, state).await?;
        if found.user.has_role(R::NAME) {
            Ok(Role(found, PhantomData))
        } else {
            Err(forbidden(R::NAME))
        }
    }
}
