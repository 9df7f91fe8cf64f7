//! Shared mode next to the real Better Auth app (compat/node/ba-server.mjs, better-auth 1.7.25
//! with the admin, bearer and organization plugins): Better Auth creates its schema and its
//! users; sessions and passwords cross both ways with the same BETTER_AUTH_SECRET; the app
//! keeps working, and its own schema check still passes after sessionkeeper ran. The same
//! with a snake_case schema (custom modelName and fields), mapped in `[schema]`.

use crate::compat::{BaServer, compat_dir};
use crate::helpers::*;
use serde_json::{Value, json};

/// The environment of ba-server.mjs for a test database.
pub fn ba_env(db: &TestDb, snake: bool) -> Vec<(String, String)> {
    let mut env = vec![("BA_PLUGINS".to_string(), "organization".to_string())];
    // The Node app connects directly even when sessionkeeper goes through the pooler.
    match db.url.strip_prefix("sqlite://") {
        Some(path) => env.push(("SQLITE_PATH".into(), path.into())),
        None => env.push(("DATABASE_URL".into(), db.setup_url().to_owned())),
    }
    if snake {
        env.push(("BA_SCHEMA".into(), "snake".into()));
    }
    env
}

pub fn start_node(
    dir: &std::path::Path,
    env: &[(String, String)],
    extra: &[(&str, &str)],
) -> BaServer {
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(extra);
    BaServer::start(dir, &all)
}

/// sessionkeeper's `[schema]` mapping for ba-server's BA_SCHEMA=snake, as environment.
pub fn snake_mapping(settings: Settings) -> Settings {
    let mut s = settings.set("SCHEMA_USE_PLURAL", "true");
    for (key, name) in [
        ("USER_EMAIL_VERIFIED", "email_verified"),
        ("USER_CREATED_AT", "created_at"),
        ("USER_UPDATED_AT", "updated_at"),
        ("USER_BAN_REASON", "ban_reason"),
        ("USER_BAN_EXPIRES", "ban_expires"),
        ("SESSION_EXPIRES_AT", "expires_at"),
        ("SESSION_CREATED_AT", "created_at"),
        ("SESSION_UPDATED_AT", "updated_at"),
        ("SESSION_IP_ADDRESS", "ip_address"),
        ("SESSION_USER_AGENT", "user_agent"),
        ("SESSION_USER_ID", "user_id"),
        ("SESSION_IMPERSONATED_BY", "impersonated_by"),
        ("SESSION_ACTIVE_ORGANIZATION_ID", "active_organization_id"),
        ("ACCOUNT_ACCOUNT_ID", "account_id"),
        ("ACCOUNT_PROVIDER_ID", "provider_id"),
        ("ACCOUNT_USER_ID", "user_id"),
        ("ACCOUNT_CREATED_AT", "created_at"),
        ("ACCOUNT_UPDATED_AT", "updated_at"),
    ] {
        s = s.set(&format!("SCHEMA_{key}"), name);
    }
    s
}

/// A client of the Node app: every request from its own origin, as a browser would send it.
pub struct Node {
    pub url: String,
    http: reqwest::Client,
}

impl Node {
    pub fn new(server: &BaServer) -> Node {
        Node {
            url: server.url.clone(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Res {
        let res = req
            .header("origin", &self.url)
            .send()
            .await
            .expect("the Node app answers");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Res {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> Res {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Res {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req).await
    }

    pub async fn sign_up(&self, email: &str) -> Res {
        let res = self
            .post(
                "/api/auth/sign-up/email",
                None,
                json!({"name": "Node User", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "Node sign-up: {:?}", res.body);
        res
    }

    pub async fn sign_in(&self, email: &str) -> Res {
        let res = self
            .post(
                "/api/auth/sign-in/email",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "Node sign-in: {:?}", res.body);
        res
    }

    /// The email of the session's user, or `None` for Better Auth's `null`.
    pub async fn whoami(&self, cookie: &str) -> Option<String> {
        let res = self.get("/api/auth/get-session", Some(cookie)).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.body["user"]["email"].as_str().map(String::from)
    }
}

async fn whoami(app: &TestApp, cookie: &str) -> Option<String> {
    let res = app.get("/api/auth/get-session", Some(cookie)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["user"]["email"].as_str().map(String::from)
}

async fn sessions_and_passwords_cross_both_ways(db: Db, snake: bool) {
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let env = ba_env(&test_db, snake);
    // Better Auth creates its schema (its own migrations) and its first user.
    let server = start_node(&dir, &env, &[]);
    let node = Node::new(&server);
    let from_node = node.sign_up("node-made@example.com").await;
    let node_cookie = from_node
        .session_cookie()
        .expect("Node sets the session cookie");

    let mut settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("TENANT_SOURCE", "organization");
    if snake {
        settings = snake_mapping(settings);
    }
    let app = spawn_on(test_db, settings)
        .await
        .expect("sessionkeeper starts on the Node app's database");
    let schema = app.store().schema();
    assert!(
        schema.user.role.is_some() && schema.session.impersonated_by.is_some(),
        "admin plugin columns detected"
    );
    assert!(
        schema.session.active_organization_id.is_some(),
        "organization plugin column detected"
    );

    // A cookie the Node app issued validates in sessionkeeper, with the same session.
    let s = app.get("/api/auth/get-session", Some(&node_cookie)).await;
    assert_eq!(s.body["user"]["email"], "node-made@example.com");
    assert_eq!(s.body["session"]["token"], from_node.body["token"]);
    assert_eq!(s.body["user"]["role"], "user");

    // A user the Node app created signs in through sessionkeeper (Better Auth's scrypt hash),
    // and that session works in the Node app.
    let ours = app.sign_in("node-made@example.com").await;
    let our_cookie = ours.session_cookie().unwrap();
    assert_eq!(
        node.whoami(&our_cookie).await.as_deref(),
        Some("node-made@example.com")
    );
    // Bearer too: the bearer plugin accepts our set-auth-token.
    let bearer = node
        .send(
            node.http
                .get(format!("{}/api/auth/get-session", node.url))
                .bearer_auth(ours.auth_token().unwrap()),
        )
        .await;
    assert_eq!(bearer.body["user"]["email"], "node-made@example.com");

    // A user sessionkeeper created signs in through the Node app, and the Node session works here.
    app.sign_up("rust-made@example.com").await;
    let node_in = node.sign_in("rust-made@example.com").await;
    let node_in_cookie = node_in.session_cookie().unwrap();
    assert_eq!(
        whoami(&app, &node_in_cookie).await.as_deref(),
        Some("rust-made@example.com")
    );
    assert_eq!(
        node_in.body["user"]["role"], "user",
        "the Node app reads the role we wrote"
    );

    // The Node app lists sessions of both origins for its user (its own session-list query
    // reads what we wrote), and a revoke through sessionkeeper is seen by the Node app.
    let listed = node
        .get("/api/auth/list-sessions", Some(&node_cookie))
        .await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(2),
        "{:?}",
        listed.body
    );
    let revoked = app
        .post(
            "/api/auth/revoke-session",
            Some(&our_cookie),
            json!({"token": from_node.body["token"]}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(node.whoami(&node_cookie).await, None);
    assert_eq!(
        whoami(&app, &our_cookie).await.as_deref(),
        Some("node-made@example.com")
    );

    // The organization plugin's active organization is read from its (mapped) column.
    let org = node
        .post(
            "/api/auth/organization/create",
            Some(&node_in_cookie),
            json!({"name": "Acme", "slug": "acme"}),
        )
        .await;
    assert_eq!(org.status, 200, "{:?}", org.body);
    let set = node
        .post(
            "/api/auth/organization/set-active",
            Some(&node_in_cookie),
            json!({"organizationId": org.body["id"]}),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let s = app
        .get("/api/auth/get-session", Some(&node_in_cookie))
        .await;
    assert_eq!(s.body["session"]["activeOrganizationId"], org.body["id"]);

    // The Node app restarts on the same database: its schema is complete (no migration to
    // run) and its own start-up schema validation passes with our tables and rows in it.
    drop(server);
    let server = start_node(&dir, &env, &[("BA_MIGRATE", "verify")]);
    let node = Node::new(&server);
    assert_eq!(
        node.whoami(&our_cookie).await.as_deref(),
        Some("node-made@example.com")
    );
    node.sign_in("rust-made@example.com").await;
    let late = node.sign_up("after-restart@example.com").await;
    assert_eq!(
        whoami(&app, &late.session_cookie().unwrap())
            .await
            .as_deref(),
        Some("after-restart@example.com")
    );
    app.sign_in("after-restart@example.com").await;
}

mod default_names {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::sessions_and_passwords_cross_both_ways(crate::helpers::Db::Sqlite, false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::sessions_and_passwords_cross_both_ways(crate::helpers::Db::Postgres, false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pooled() {
        super::sessions_and_passwords_cross_both_ways(crate::helpers::Db::Pooled, false).await
    }
}

mod snake_case_names {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::sessions_and_passwords_cross_both_ways(crate::helpers::Db::Sqlite, true).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::sessions_and_passwords_cross_both_ways(crate::helpers::Db::Postgres, true).await
    }
}
