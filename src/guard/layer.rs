//! A tower layer for routes that only need "signed in" (or a role): 401 or 403 before the
//! handler runs, the session in the request's extensions after.

use super::{Checked, forbidden};
use crate::Validator;
use crate::http::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Lets a request through only with a valid session (and, with [`role`](Self::role), a role).
/// With [`ValidatorOptions::sliding`](crate::ValidatorOptions::sliding) on, it also re-sends
/// the session cookie when the check slid the session (extractors alone cannot).
#[derive(Debug, Clone)]
pub struct RequireSessionLayer {
    validator: Validator,
    role: Option<Arc<str>>,
}

impl RequireSessionLayer {
    pub fn new(validator: Validator) -> Self {
        Self {
            validator,
            role: None,
        }
    }

    /// Also requires this role (403 without it).
    pub fn role(mut self, role: &str) -> Self {
        self.role = Some(role.into());
        self
    }
}

impl<S> Layer<S> for RequireSessionLayer {
    type Service = RequireSession<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireSession {
            inner,
            validator: self.validator.clone(),
            role: self.role.clone(),
        }
    }
}

/// The service [`RequireSessionLayer`] wraps around a route.
#[derive(Debug, Clone)]
pub struct RequireSession<S> {
    inner: S,
    validator: Validator,
    role: Option<Arc<str>>,
}

impl<S> Service<Request> for RequireSession<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let role = self.role.clone();
        Box::pin(async move {
            let found = match validator.check(req.headers()).await {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(ApiError::unauthorized().into_response()),
                Err(e) => return Ok(ApiError::from(e).into_response()),
            };
            if let Some(role) = role
                && !found.data.user.has_role(&role)
            {
                return Ok(forbidden(&role).into_response());
            }
            req.extensions_mut().insert(Checked(found.data));
            let mut res = inner.call(req).await?;
            if let Some(cookie) = found.set_cookie
                && let Ok(value) = HeaderValue::from_str(&cookie)
            {
                res.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(res)
        })
    }
}
