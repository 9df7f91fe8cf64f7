//! Seeding and calling helpers for the admin tests.

#![allow(dead_code)]

use crate::helpers::{BASE_URL, Res, TestApp};
use serde_json::Value;
use sessionkeeper::domain::ids::new_id;
use sessionkeeper::domain::{Session, User};
use time::{Duration, OffsetDateTime};

pub const SERVICE_TOKEN: &str = "service-token-0123456789abcdef";

/// Settings with the service token on.
pub fn with_token() -> crate::helpers::Settings {
    crate::helpers::Settings::new().set("ADMIN_API_TOKEN", SERVICE_TOKEN)
}

/// A user written straight into the store (its password hash is a placeholder: it never signs
/// in with a password).
pub async fn user(app: &TestApp, email: &str, role: &str, tenant: Option<&str>) -> User {
    let now = app.clock_now();
    let user = User {
        name: format!("Name of {email}"),
        email: email.to_string(),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
        role: Some(role.to_string()),
        banned: Some(false),
        ban_reason: None,
        ban_expires: None,
        id: new_id(),
        tenant_id: tenant.map(String::from),
    };
    app.store()
        .insert_user(&user, "seeded:nohash")
        .await
        .unwrap();
    user
}

/// Shape of a seeded session.
#[derive(Clone)]
pub struct S {
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub ip: String,
    pub ua: String,
    pub org: Option<String>,
}

impl S {
    /// Created and last used at `now`, expiring in a week.
    pub fn fresh(app: &TestApp) -> S {
        let now = app.clock_now();
        S {
            created: now,
            updated: now,
            expires: now + Duration::days(7),
            ip: "203.0.113.7".into(),
            ua: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0".into(),
            org: None,
        }
    }
    pub fn created(mut self, t: OffsetDateTime) -> S {
        self.created = t;
        self
    }
    pub fn used(mut self, t: OffsetDateTime) -> S {
        self.updated = t;
        self
    }
    pub fn expires(mut self, t: OffsetDateTime) -> S {
        self.expires = t;
        self
    }
    pub fn ip(mut self, ip: &str) -> S {
        self.ip = ip.into();
        self
    }
    pub fn ua(mut self, ua: &str) -> S {
        self.ua = ua.into();
        self
    }
    pub fn org(mut self, org: &str) -> S {
        self.org = Some(org.into());
        self
    }
}

/// Inserts a session; returns it and the `Cookie` header that presents it.
pub async fn session(app: &TestApp, user: &User, s: S) -> (Session, String) {
    let raw = new_id();
    let k = app.keeper.core();
    let session = Session {
        id: new_id(),
        token: k.token_key(&raw),
        expires_at: s.expires,
        created_at: s.created,
        updated_at: s.updated,
        ip_address: Some(s.ip),
        user_agent: Some(s.ua),
        user_id: user.id.clone(),
        impersonated_by: None,
        active_organization_id: s.org,
    };
    k.store()
        .insert_session(&session, None, app.clock_now())
        .await
        .unwrap();
    let cookie = format!(
        "{}={}",
        k.cookies().session_token,
        k.signer().sign_for_cookie(&raw)
    );
    (session, cookie)
}

/// A user with `role` in `tenant`, signed in: returns the user and a cookie.
pub async fn signed_in(
    app: &TestApp,
    email: &str,
    role: &str,
    tenant: Option<&str>,
) -> (User, String) {
    let u = user(app, email, role, tenant).await;
    let (_, cookie) = session(app, &u, S::fresh(app)).await;
    (u, cookie)
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Cookie(String),
    Bearer(String),
}

pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> Res {
    let url = format!("{}{path}", app.url);
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app.http.request(m, url).header("origin", BASE_URL);
    req = match auth {
        Auth::None => req,
        Auth::Cookie(c) => req.header("cookie", c),
        Auth::Bearer(t) => req.bearer_auth(t),
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    app.send(req).await
}

pub async fn get(app: &TestApp, path: &str, auth: &Auth) -> Res {
    call(app, "get", path, auth, None).await
}

/// Sends raw bytes as the body, with a JSON content type.
pub async fn call_raw(app: &TestApp, method: &str, path: &str, auth: &Auth, body: Vec<u8>) -> Res {
    let url = format!("{}{path}", app.url);
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app
        .http
        .request(m, url)
        .header("origin", BASE_URL)
        .header("content-type", "application/json")
        .body(body);
    req = match auth {
        Auth::None => req,
        Auth::Cookie(c) => req.header("cookie", c),
        Auth::Bearer(t) => req.bearer_auth(t),
    };
    app.send(req).await
}

/// Every session id in the database, sorted (to compare before/after).
pub async fn all_session_ids(app: &TestApp) -> Vec<String> {
    let admin = Auth::Bearer(SERVICE_TOKEN.into());
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/admin/sessions?limit=500&cursor={c}"),
            None => "/api/admin/sessions?limit=500".to_string(),
        };
        let res = get(app, &path, &admin).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        for s in res.body["sessions"].as_array().unwrap() {
            ids.push(s["id"].as_str().unwrap().to_string());
        }
        match res.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    ids.sort();
    ids
}

/// Asserts an error response: a 4xx status with `{message, code}`.
pub fn assert_error(res: &Res, status: u16, context: &str) {
    assert_eq!(res.status, status, "{context}: {:?}", res.body);
    assert!(
        res.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{context}: no message in {:?}",
        res.body
    );
    assert!(
        res.body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{context}: no code in {:?}",
        res.body
    );
}

/// Asserts no response body anywhere carries a token or a token hash.
pub fn assert_no_secret(body: &Value, secrets: &[String]) {
    let text = body.to_string();
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "response leaks a secret: {text}"
        );
    }
}
