//! `sessionkeeper cleanup` on the real binary, and the automatic schedule in the server.

use crate::all_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use sessionkeeper::domain::run::{CleanupRun, Outcome, Trigger};
use std::process::Command;
use time::Duration;

fn cli(db_url: &str, args: &[&str]) -> (i32, String, String) {
    cli_with(db_url, Settings::new(), args)
}

/// The CLI on a test database, through the pooler when the test's server uses one.
fn cli_on(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    cli_with(&db.url, db.pooler_settings(Settings::new()), args)
}

fn cli_with(db_url: &str, settings: Settings, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"));
    cmd.env_clear().envs(settings.0);
    let out = cmd
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("MAX_SESSIONS_PER_USER", "2")
        .env("RUST_LOG", "warn")
        .arg("cleanup")
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One expired, one idle for 40 days, four active (two over the limit of 2).
async fn seed_mix(app: &TestApp) {
    add_user(app, "cli-user", None).await;
    let t = time::OffsetDateTime::now_utc();
    let d = Duration::days(1);
    let mut sessions = vec![
        meta("gone-expired", "cli-user", t - d, t - 2 * d, t - 2 * d),
        meta("gone-idle", "cli-user", t + d, t - 50 * d, t - 40 * d),
    ];
    for i in 0..4 {
        let at = t - Duration::hours(i);
        sessions.push(meta(&format!("active{i}"), "cli-user", t + d, at, at));
    }
    seed(app, &sessions).await;
}

all_stores!(
    cli_dry_run_json_then_a_real_run_with_overrides,
    |app| async move {
        seed_mix(&app).await;
        let (code, stdout, stderr) = cli_on(&app.db, &["--dry-run", "--json"]);
        assert_eq!(code, 0, "{stderr}");
        let run: serde_json::Value =
            serde_json::from_str(&stdout).expect("one JSON document on stdout");
        let keys: Vec<&str> = run
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "runId",
                "trigger",
                "dryRun",
                "policy",
                "counts",
                "total",
                "startedAt",
                "finishedAt",
                "durationMs",
                "outcome",
                "error",
                "sample"
            ]
        );
        assert_eq!(
            (
                run["trigger"].as_str(),
                run["dryRun"].as_bool(),
                run["outcome"].as_str()
            ),
            (Some("cli"), Some(true), Some("ok"))
        );
        assert_eq!(
            run["counts"],
            serde_json::json!({"expired": 1, "inactive": 1, "excess": 2})
        );
        assert_eq!(run["total"], 4);
        assert_eq!(run["policy"]["maxSessionsPerUser"], 2);
        assert_eq!(run["sample"].as_array().unwrap().len(), 4);
        assert!(!stdout.contains("token-"), "{stdout}");
        assert_eq!(
            remaining(&app, &["cli-user"]).await.len(),
            6,
            "the dry run deleted"
        );

        let (code, stdout, stderr) = cli_on(
            &app.db,
            &["--json", "--no-limits", "--inactivity-days", "60"],
        );
        assert_eq!(code, 0, "{stderr}");
        let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(run["policy"]["enforceSessionLimits"], false);
        assert_eq!(run["policy"]["inactivityDays"], 60);
        assert_eq!(
            run["counts"],
            serde_json::json!({"expired": 1, "inactive": 0, "excess": 0})
        );
        assert!(run.get("sample").is_none());
        assert_eq!(remaining(&app, &["cli-user"]).await.len(), 5);

        // The table summary, and the run in the history with trigger "cli".
        let (code, stdout, stderr) = cli_on(&app.db, &["--clean-inactive-sessions", "yes"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.contains("deleted") && stdout.contains("total") && stdout.contains("inactive"),
            "{stdout}"
        );
        assert_eq!(remaining(&app, &["cli-user"]).await.len(), 2);
        let history = app.store().list_cleanup_runs(10, None, None).await.unwrap();
        assert_eq!(history.runs.len(), 3);
        assert!(history.runs.iter().all(|r| r.trigger == Trigger::Cli));
    }
);

#[test]
fn cli_policy_flags_are_checked_like_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let (code, _, stderr) = cli(&url, &["--max-sessions-per-user", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("max_sessions_per_user") && stderr.contains("\"0\""),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&url, &["--clean-expired-tokens", "perhaps"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("clean_expired_tokens") && stderr.contains("yes/no"),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&url, &["--no-expired", "--clean-expired-tokens", "true"]);
    assert_eq!(code, 2, "conflicting flags accepted: {stderr}");
}

all_stores!(
    the_server_runs_cleanup_at_startup_and_on_the_interval,
    Settings::new()
        .set("AUTOMATIC_SESSION_CLEANUP", "true")
        .set("CLEANUP_ON_STARTUP", "yes")
        .set("SESSION_CLEANUP_INTERVAL_SECONDS", "1"),
    |app| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        // The start-up run happened with nothing to do, and the loop scheduled the next. (The
        // loop sets the next run time just after recording the run, so wait for both.)
        let mut status = app.cleanup.status();
        while status.last_run.is_none() || status.next_run_at.is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "no start-up run: {status:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            status = app.cleanup.status();
        }
        assert!(status.enabled);
        assert_eq!(status.interval_seconds, 1);
        // Sessions that expire later are removed by an interval run, without anyone asking.
        seed_mix(&app).await;
        while remaining(&app, &["cli-user"]).await.len() != 4 {
            assert!(
                std::time::Instant::now() < deadline,
                "the interval run did not come"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // The run records itself after its deletes are committed: wait for the record too.
        let interval_run = |r: &CleanupRun| r.trigger == Trigger::Interval && r.counts.expired == 1;
        let mut runs = app
            .store()
            .list_cleanup_runs(50, None, None)
            .await
            .unwrap()
            .runs;
        while !runs.iter().any(interval_run) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            runs = app
                .store()
                .list_cleanup_runs(50, None, None)
                .await
                .unwrap()
                .runs;
        }
        assert!(runs.iter().any(|r| r.trigger == Trigger::Startup));
        assert!(runs.iter().any(interval_run));
        assert!(runs.iter().all(|r| r.outcome == Outcome::Ok && !r.dry_run));
        app.cleanup.stop().await;
        let status = app.cleanup.status();
        assert!(!status.enabled && status.next_run_at.is_none());
    }
);
