//! The cleanup's `verifications` layer on a database the real Better Auth made and wrote:
//! request-password-reset leaves a `verification` row that expires in an hour.

use crate::compat::compat_dir;
use crate::helpers::*;
use crate::shared_node::{Node, ba_env, start_node};
use serde_json::json;
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::{CleanupPolicy, Scope};

async fn verification_rows(app: &TestApp) -> u64 {
    app.store()
        .count_expired_verifications(app.clock_now() + time::Duration::days(3650))
        .await
        .unwrap()
}

async fn sweeps_better_auths_expired_verifications(db: Db) {
    let Some(dir) = compat_dir() else { return };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let env = ba_env(&test_db, false);
    let server = start_node(&dir, &env, &[("BA_RESET_PASSWORD", "1")]);
    let node = Node::new(&server);
    node.sign_up("reset@example.com").await;
    let reset = node
        .post(
            "/api/auth/request-password-reset",
            None,
            json!({"email": "reset@example.com", "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);

    let settings = Settings::new().set("SESSIONKEEPER_MODE", "shared");
    let app = spawn_on(test_db, settings).await.expect("starts");
    assert_eq!(verification_rows(&app).await, 1, "Better Auth wrote one");
    let policy = CleanupPolicy::default();
    let run = |dry| {
        app.cleanup
            .run_once(Trigger::Manual, policy, dry, Scope::All)
    };
    // Not expired yet (Better Auth gives a reset token an hour).
    let now = run(false).await.unwrap();
    assert_eq!(now.counts.verifications, 0);
    assert_eq!(verification_rows(&app).await, 1);

    app.clock.advance(time::Duration::hours(2));
    let dry = run(true).await.unwrap();
    assert_eq!(dry.counts.verifications, 1, "a dry run counts it");
    assert_eq!(verification_rows(&app).await, 1, "and leaves it");
    let real = run(false).await.unwrap();
    assert_eq!(real.counts.verifications, 1);
    assert_eq!(
        real.total,
        real.counts.expired + real.counts.inactive + real.counts.excess
    );
    assert_eq!(verification_rows(&app).await, 0, "swept");
    let json = serde_json::to_value(&real).unwrap();
    assert_eq!(json["counts"]["verifications"], 1);

    // Switched off, the layer leaves expired rows alone.
    let off = spawn_on(
        app.db.share(),
        Settings::new()
            .set("SESSIONKEEPER_MODE", "shared")
            .set("CLEAN_EXPIRED_VERIFICATIONS", "false"),
    )
    .await
    .expect("starts");
    let again = node
        .post(
            "/api/auth/request-password-reset",
            None,
            json!({"email": "reset@example.com", "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(again.status, 200);
    off.clock.advance(time::Duration::hours(2));
    let skipped = off
        .cleanup
        .run_once(Trigger::Manual, policy, false, Scope::All)
        .await
        .unwrap();
    assert_eq!(skipped.counts.verifications, 0);
    assert_eq!(verification_rows(&app).await, 1);
    // Better Auth's own schema check still passes afterwards.
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    sweeps_better_auths_expired_verifications(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    sweeps_better_auths_expired_verifications(Db::Postgres).await
}
