//! change-password, the admin plugin's set-user-password and delete-user, driven by the
//! official `better-auth` client (compat/node/account-flow.mjs) against our server and, as the
//! reference, against the real Better Auth 1.7.25.

use crate::both_stores;
use crate::compat::{BaServer, compat_dir};
use crate::helpers::*;
use sessionkeeper::domain::NewUser;
use std::process::Command;

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "admin-password-1";

fn account_flow(dir: &std::path::Path, url: &str, admin_ends_sessions: bool) -> (bool, String) {
    let out = Command::new("node")
        .args(["account-flow.mjs", url, ADMIN_EMAIL, ADMIN_PASSWORD])
        .env(
            "ADMIN_SET_PASSWORD_ENDS_SESSIONS",
            if admin_ends_sessions { "1" } else { "0" },
        )
        .current_dir(dir)
        .output()
        .expect("node runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.success(), text)
}

both_stores!(
    official_client_changes_password_and_deletes_the_user,
    Settings::new().set("BETTER_AUTH_TRUSTED_ORIGINS", "http://127.0.0.1:*"),
    |app| async move {
        let Some(dir) = compat_dir() else { return };
        let admin = NewUser {
            name: "Admin".into(),
            email: ADMIN_EMAIL.into(),
            image: None,
            role: Some("admin".into()),
            tenant_id: None,
        };
        app.keeper
            .auth()
            .create_user(admin, ADMIN_PASSWORD.into())
            .await
            .unwrap();
        let url = app.url.clone();
        let (ok, out) = tokio::task::spawn_blocking(move || account_flow(&dir, &url, true))
            .await
            .unwrap();
        assert!(ok, "account flow failed against sessionkeeper:\n{out}");
        assert!(
            out.trim_end().ends_with("{\"ok\":true,\"steps\":14}"),
            "{out}"
        );
        // Only the admin is left: the flow's user is gone with its sessions.
        let actor = sessionkeeper::service::admin::Actor::service();
        let users = app
            .keeper
            .admin()
            .list_users(&actor, Default::default())
            .await
            .unwrap();
        assert_eq!(users.total, 1, "{:?}", users.users);
        assert_eq!(users.users[0].email, ADMIN_EMAIL);
        let admin_id = &users.users[0].id;
        let sessions = app
            .keeper
            .admin()
            .list_sessions(&actor, Default::default())
            .await
            .unwrap();
        assert!(!sessions.sessions.is_empty());
        assert!(sessions.sessions.iter().all(|s| &s.user_id == admin_id));
    }
);

#[test]
fn the_account_flow_passes_against_real_better_auth() {
    let Some(dir) = compat_dir() else { return };
    let db = tempfile::tempdir().unwrap();
    let path = db.path().join("ba.db");
    let path = path.to_str().unwrap();
    let server = BaServer::start(&dir, &[("SQLITE_PATH", path)]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let res = reqwest::Client::new()
            .post(format!("{}/api/auth/sign-up/email", server.url))
            .header("origin", &server.url)
            .json(&serde_json::json!({"name": "Admin", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query("UPDATE user SET role = 'admin' WHERE email = ?")
            .bind(ADMIN_EMAIL)
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let (ok, out) = account_flow(&dir, &server.url, false);
    assert!(ok, "reference run failed:\n{out}");
    assert!(
        out.trim_end().ends_with("{\"ok\":true,\"steps\":14}"),
        "{out}"
    );
}
