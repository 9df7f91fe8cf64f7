//! Seeding for the cleanup tests: users and sessions written straight through the store, with
//! any timestamps, and raw SQL on either backend.

use crate::helpers::TestApp;
use sessionkeeper::domain::cleanup_plan::{Layer, SessionMeta, plan};
use sessionkeeper::domain::{CleanupPolicy, Session, User};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// Runs one statement on the app's database.
pub async fn exec_sql(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if app.db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(app.db.setup_url())
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

pub async fn add_user(app: &TestApp, id: &str, tenant: Option<&str>) {
    let now = OffsetDateTime::now_utc();
    let user = User {
        name: id.into(),
        email: format!("{}@example.com", id.to_lowercase()),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
        role: Some("user".into()),
        banned: Some(false),
        ban_reason: None,
        ban_expires: None,
        id: id.into(),
        tenant_id: tenant.map(String::from),
    };
    app.store().insert_user(&user, "x:y").await.unwrap();
}

pub async fn add_session(app: &TestApp, m: &SessionMeta) {
    let s = Session {
        id: m.id.clone(),
        token: format!("token-{}", m.id),
        expires_at: m.expires_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
        ip_address: None,
        user_agent: None,
        user_id: m.user_id.clone(),
        impersonated_by: None,
        active_organization_id: None,
    };
    app.store()
        .insert_session(&s, None, m.created_at)
        .await
        .unwrap();
}

pub async fn seed(app: &TestApp, sessions: &[SessionMeta]) {
    exec_sql(app, "DELETE FROM \"session\"").await;
    for m in sessions {
        add_session(app, m).await;
    }
}

/// Ids of every session of these users.
pub async fn remaining(app: &TestApp, users: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for u in users {
        for s in app
            .store()
            .list_user_sessions(u, None, 10_000)
            .await
            .unwrap()
        {
            out.insert(s.id);
        }
    }
    out
}

/// What `plan` deletes, by layer.
pub fn planned(
    sessions: &[SessionMeta],
    policy: &CleanupPolicy,
    now: OffsetDateTime,
) -> BTreeMap<Layer, BTreeSet<String>> {
    let mut out: BTreeMap<Layer, BTreeSet<String>> = BTreeMap::new();
    for (id, layer) in plan(sessions, policy, now) {
        out.entry(layer).or_default().insert(id);
    }
    out
}

pub fn meta(
    id: &str,
    user: &str,
    expires_at: OffsetDateTime,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
) -> SessionMeta {
    SessionMeta {
        id: id.into(),
        user_id: user.into(),
        expires_at,
        created_at,
        updated_at,
    }
}
