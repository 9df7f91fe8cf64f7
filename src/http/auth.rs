//! Better Auth's email-and-password and session routes (docs/better-auth-compat.md §4.1), with
//! the bearer plugin's `set-auth-token` header (§2.5).

use super::AppState;
use super::auth_schema::*;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, OptionalJson, Peer, client_info, dont_remember, session_token};
use crate::domain::model::{NewUser, SessionJson, SessionWithUser, User};
use crate::service::admin::types::{BaSession, ErrorBody, StatusBody, SuccessBody};
use crate::service::{Core, Issued, SessionCheck, SessionKeeper, SignUp};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Every route below `/api/auth` except the admin plugin's, as `(method, path, handler)`: the
/// router is built from this table and the contract test checks each entry against the OpenAPI
/// document.
pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("post", "/sign-up/email", post(sign_up)),
        ("post", "/sign-in/email", post(sign_in)),
        ("post", "/sign-out", post(sign_out)),
        ("get", "/get-session", get(get_session)),
        ("post", "/get-session", post(get_session_post)),
        ("get", "/list-sessions", get(list_sessions)),
        ("get", "/session-history", get(session_history)),
        ("post", "/revoke-session", post(revoke_session)),
        ("post", "/revoke-sessions", post(revoke_sessions)),
        (
            "post",
            "/revoke-other-sessions",
            post(revoke_other_sessions),
        ),
        ("post", "/update-user", post(update_user)),
        ("get", "/ok", get(ok)),
        (
            "post",
            "/change-password",
            post(super::account::change_password),
        ),
        ("post", "/delete-user", post(super::account::delete_user)),
    ]
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
}

/// Whether the server answers.
#[utoipa::path(
    get, path = "/api/auth/ok", tag = "better-auth",
    responses((status = 200, body = OkBody), (status = 429, body = ErrorBody)),
)]
pub async fn ok() -> axum::Json<Value> {
    axum::Json(json!({"ok": true}))
}

/// Response headers that travel with a JSON body: cookies and the bearer token.
#[derive(Default)]
pub struct Cookies(pub(super) Vec<(HeaderName, HeaderValue)>);

impl Cookies {
    fn push(&mut self, name: HeaderName, value: String) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            self.0.push((name, v));
        }
    }

    /// A live session cookie, plus `set-auth-token` as the bearer plugin adds it.
    pub(super) fn session(core: &Core, token: &str, remember_me: bool) -> Self {
        let n = core.cookies();
        let signer = core.signer();
        let mut out = Cookies::default();
        let max_age = remember_me.then_some(core.config().session.expires_in);
        out.push(
            header::SET_COOKIE,
            n.set(&n.session_token, &signer.sign_for_cookie(token), max_age),
        );
        if !remember_me {
            out.push(
                header::SET_COOKIE,
                n.set(&n.dont_remember, &signer.sign_for_cookie("true"), None),
            );
        }
        out.push(
            HeaderName::from_static("set-auth-token"),
            signer.sign(token),
        );
        out.push(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "set-auth-token".into(),
        );
        out
    }

    pub(super) fn cleared(core: &Core) -> Self {
        let mut out = Cookies::default();
        for c in core.cookies().expire_all() {
            out.push(header::SET_COOKIE, c);
        }
        out
    }

    /// The JSON response, serialised straight from `body` into one buffer sized for a
    /// session and its user (no `Value` tree, no regrowth on the get-session path).
    pub(super) fn with(self, status: StatusCode, body: impl Serialize) -> Response {
        let mut buf = Vec::with_capacity(1024);
        if let Err(e) = serde_json::to_writer(&mut buf, &body) {
            return ApiError::from(crate::service::Error::Internal(e.to_string())).into_response();
        }
        let mut res = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response();
        for (k, v) in self.0 {
            res.headers_mut().append(k, v);
        }
        res
    }
}

/// A request made with a live session.
pub struct Authed {
    pub data: SessionWithUser,
    pub token: String,
    /// Cookies to send when the check slid the session.
    pub cookies: Cookies,
}

/// The caller's session, refreshed by the updateAge rule as on every Better Auth route.
pub async fn require_session(keeper: &SessionKeeper, headers: &HeaderMap) -> ApiResult<Authed> {
    let core = keeper.core();
    let token = session_token(core, headers).ok_or_else(ApiError::unauthorized)?;
    let allow_refresh = !dont_remember(core, headers);
    match keeper.auth().check_session(&token, allow_refresh).await? {
        SessionCheck::Valid { data, refreshed } => {
            let cookies = if refreshed {
                Cookies::session(core, &token, true)
            } else {
                Cookies::default()
            };
            Ok(Authed {
                data,
                token,
                cookies,
            })
        }
        SessionCheck::Missing | SessionCheck::Expired => Err(ApiError::unauthorized()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpBody {
    name: String,
    email: String,
    password: String,
    image: Option<String>,
    remember_me: Option<bool>,
}

/// Creates a user with an e-mail and password and signs them in.
#[utoipa::path(
    post, path = "/api/auth/sign-up/email", tag = "better-auth",
    request_body = SignUpBody,
    responses((status = 200, body = SignUpResponse), (status = 422, body = ErrorBody, description = "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
)]
pub async fn sign_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Peer,
    JsonBody(body): JsonBody<SignUpBody>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let input = SignUp {
        user: NewUser {
            name: body.name,
            email: body.email,
            image: body.image,
            role: None,
            tenant_id: None,
        },
        password: body.password,
        remember_me: body.remember_me.unwrap_or(true),
    };
    let issued = keeper
        .auth()
        .sign_up(input, client_info(keeper.core(), &headers, &peer))
        .await?;
    Ok(issued_response(
        keeper.core(),
        &issued,
        json!({ "token": issued.token, "user": issued.user }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInBody {
    email: String,
    password: String,
    remember_me: Option<bool>,
}

/// Signs in with an e-mail and password.
#[utoipa::path(
    post, path = "/api/auth/sign-in/email", tag = "better-auth",
    request_body = SignInBody,
    responses((status = 200, body = SignInResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
)]
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Peer,
    JsonBody(body): JsonBody<SignInBody>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let client = client_info(keeper.core(), &headers, &peer);
    let issued = keeper
        .auth()
        .sign_in(
            &body.email,
            body.password,
            body.remember_me.unwrap_or(true),
            client,
        )
        .await?;
    Ok(issued_response(
        keeper.core(),
        &issued,
        json!({ "redirect": false, "token": issued.token, "user": issued.user }),
    ))
}

fn issued_response(core: &Core, issued: &Issued, body: Value) -> Response {
    Cookies::session(core, &issued.token, issued.remember_me).with(StatusCode::OK, body)
}

/// Ends the caller's session and clears the cookies.
#[utoipa::path(
    post, path = "/api/auth/sign-out", tag = "better-auth",
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let Some(token) = session_token(keeper.core(), &headers) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "FAILED_TO_GET_SESSION",
            "Failed to get session",
        ));
    };
    keeper.auth().sign_out(&token).await?;
    Ok(Cookies::cleared(keeper.core()).with(StatusCode::OK, json!({ "success": true })))
}

/// get-session's `{session, user}`.
#[derive(Serialize)]
struct SessionBody<'a> {
    session: SessionJson<'a>,
    user: &'a User,
}

/// `?disableRefresh=` is parsed with `z.coerce.boolean()`: any non-empty value is true.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct GetSessionQuery {
    disable_refresh: Option<String>,
}

/// The caller's session and user, or `null` without a live session.
#[utoipa::path(
    get, path = "/api/auth/get-session", tag = "better-auth",
    params(GetSessionQuery),
    responses((status = 200, body = Option<SessionPair>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security((), ("session" = []))
)]
pub async fn get_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<GetSessionQuery>,
) -> ApiResult<Response> {
    let (core, auth) = (state.keeper.core(), state.keeper.auth());
    let disable_refresh = query.disable_refresh.is_some_and(|v| !v.is_empty());
    let mut result = "missing";
    let mut res = match session_token(core, &headers) {
        None => {
            if presents_credentials(core, &headers) {
                result = "refused";
            }
            Cookies::default().with(StatusCode::OK, Value::Null)
        }
        Some(token) => {
            let allow_refresh = !disable_refresh && !dont_remember(core, &headers);
            let checked = auth.check_session(&token, allow_refresh).await;
            result = check_result(&checked);
            match checked {
                Ok(SessionCheck::Valid { data, refreshed }) => {
                    let body = SessionBody {
                        session: data.session.to_json(&token),
                        user: &data.user,
                    };
                    let cookies = if refreshed {
                        Cookies::session(core, &token, true)
                    } else {
                        Cookies::default()
                    };
                    cookies.with(StatusCode::OK, body)
                }
                Ok(SessionCheck::Missing | SessionCheck::Expired) => {
                    Cookies::cleared(core).with(StatusCode::OK, Value::Null)
                }
                Err(crate::service::Error::FailedToGetSession) => {
                    let e = ApiError::from(crate::service::Error::FailedToGetSession);
                    Cookies::cleared(core)
                        .with(e.status, json!({ "message": e.message, "code": e.code }))
                }
                Err(e) => {
                    crate::metrics::get_session_result(result);
                    return Err(e.into());
                }
            }
        }
    };
    crate::metrics::get_session_result(result);
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// get-session's `result` label: `valid`, `missing` (no token, or no such session), `expired`,
/// `refused` (a token was presented but refused: a bad signature, or a session that vanished
/// while it was being refreshed), `error` (the database failed).
fn check_result(checked: &Result<SessionCheck, crate::service::Error>) -> &'static str {
    match checked {
        Ok(SessionCheck::Valid { .. }) => "valid",
        Ok(SessionCheck::Missing) => "missing",
        Ok(SessionCheck::Expired) => "expired",
        Err(crate::service::Error::FailedToGetSession) => "refused",
        Err(_) => "error",
    }
}

/// Whether the request carried a session cookie or a bearer token at all (one that
/// `session_token` then refused).
fn presents_credentials(core: &Core, headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.contains(core.cookies().session_token.as_str()))
}

/// Refused, as Better Auth refuses it without `deferSessionRefresh`.
#[utoipa::path(
    post, path = "/api/auth/get-session", tag = "better-auth",
    responses((status = 405, body = ErrorBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
)]
pub async fn get_session_post() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
        "POST method requires deferSessionRefresh to be enabled in session config",
    )
}

/// The caller's unexpired sessions; other sessions' `token` is an opaque `ref_…` handle.
#[utoipa::path(
    get, path = "/api/auth/list-sessions", tag = "better-auth",
    responses((status = 200, body = Vec<BaSession>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    let sessions = keeper.auth().list_sessions(&authed.data).await?;
    let shown: Vec<String> = sessions
        .iter()
        .map(|s| {
            keeper
                .auth()
                .shown_token(s, &authed.data.session, &authed.token)
        })
        .collect();
    let body: Vec<_> = sessions
        .iter()
        .zip(&shown)
        .map(|(s, t)| s.to_json(t))
        .collect();
    Ok(authed.cookies.with(StatusCode::OK, json!(body)))
}

/// The signed-in user's own ended sessions (termination records), newest first: not a Better
/// Auth route.
#[utoipa::path(
    get, path = "/api/auth/session-history", tag = "sessions",
    params(crate::service::admin::types::PageParams),
    responses((status = 200, body = crate::service::admin::types::EndedList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn session_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    super::admin::params::Params(p): super::admin::params::Params<
        crate::service::admin::types::PageParams,
    >,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    let page = keeper
        .auth()
        .session_history(&authed.data.user.id, p)
        .await?;
    Ok(authed.cookies.with(StatusCode::OK, json!(page)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevokeBody {
    token: String,
}

/// Ends one of the caller's sessions (a token or a `ref_…` handle).
#[utoipa::path(
    post, path = "/api/auth/revoke-session", tag = "better-auth",
    request_body = RevokeBody,
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RevokeBody>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    let was_current = keeper
        .auth()
        .revoke_session(&authed.data, &body.token)
        .await?;
    let cookies = if was_current {
        Cookies::cleared(keeper.core())
    } else {
        authed.cookies
    };
    Ok(cookies.with(StatusCode::OK, json!({ "status": true })))
}

/// Ends every session of the caller.
#[utoipa::path(
    post, path = "/api/auth/revoke-sessions", tag = "better-auth",
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    _body: OptionalJson<Value>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    keeper.auth().revoke_sessions(&authed.data).await?;
    Ok(Cookies::cleared(keeper.core()).with(StatusCode::OK, json!({ "status": true })))
}

/// Ends every session of the caller but the current one.
#[utoipa::path(
    post, path = "/api/auth/revoke-other-sessions", tag = "better-auth",
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    _body: OptionalJson<Value>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    let authed = require_session(keeper, &headers).await?;
    keeper.auth().revoke_other_sessions(&authed.data).await?;
    Ok(authed
        .cookies
        .with(StatusCode::OK, json!({ "status": true })))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct UpdateUserBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    image: Option<Option<String>>,
    email: Option<Value>,
}

/// Tells an absent `image` (leave it) from `"image": null` (clear it).
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes the caller's name or image (`"image": null` clears it); `email` is refused.
#[utoipa::path(
    post, path = "/api/auth/update-user", tag = "better-auth",
    request_body = UpdateUserBody,
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("session" = []))
)]
pub async fn update_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> ApiResult<Response> {
    let keeper = &state.keeper;
    if body.email.is_some() {
        return Err(crate::service::Error::EmailCannotBeUpdated.into());
    }
    let authed = require_session(keeper, &headers).await?;
    keeper
        .auth()
        .update_user(&authed.data, body.name, body.image)
        .await?;
    Ok(authed
        .cookies
        .with(StatusCode::OK, json!({ "status": true })))
}
