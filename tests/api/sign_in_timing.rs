//! Issue 19, finding 4: with `PASSWORD_HASH=argon2id`, a sign-in with an unknown e-mail must
//! cost what a wrong password for a known one costs. The dummy hash an unknown e-mail is
//! checked against was always scrypt (about twice argon2id's cost here), so the answer time
//! told which e-mails have accounts. Samples alternate between the two, so that a loaded
//! machine slows both alike; the medians are compared.

use crate::helpers::{Db, Settings, spawn_app_with};
use serde_json::json;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_emails_cost_what_wrong_passwords_cost_with_argon2id() {
    let settings = Settings::new().set("PASSWORD_HASH", "argon2id");
    let Some(app) = spawn_app_with(Db::Sqlite, settings).await else {
        return;
    };
    let res = app.sign_up("known@example.com").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            let t = Instant::now();
            let res = app
                .post(
                    "/api/auth/sign-in/email",
                    None,
                    json!({"email": email, "password": "not-the-password-1"}),
                )
                .await;
            assert_eq!(res.status, 401, "{:?}", res.body);
            t.elapsed()
        }
    };
    // Warm-up: the argon2id dummy is made on first use.
    attempt("nobody@example.com").await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        known.push(attempt("known@example.com").await);
        unknown.push(attempt("nobody@example.com").await);
    }
    let (k, u) = (median(known), median(unknown));
    let ratio = u.as_secs_f64() / k.as_secs_f64();
    eprintln!("sign-in timing: known {k:?}, unknown {u:?}, ratio {ratio:.2}");
    assert!(
        (0.6..=1.6).contains(&ratio),
        "an unknown e-mail takes {u:?} against {k:?} for a known one (ratio {ratio:.2})"
    );
}
