//! Bad configuration stops start-up with exit code 2 and a message naming the setting.

use std::process::Command;

fn run_with(env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"));
    cmd.arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    let code = out.status.code().unwrap_or(-1);
    // Nothing may have been created: the database is not touched before the config is valid.
    assert!(
        !dir.path().join("sessionkeeper.db").exists(),
        "database created despite bad config"
    );
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Environment to set, and what stderr must mention.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn bad_values_exit_2_with_a_clear_message() {
    let cases: &[Case] = &[
        (
            &[("DATABASE_URL", "mysql://x")],
            &["DATABASE_URL", "mysql://x", "sqlite://"],
        ),
        (&[("BASE_URL", "notaurl")], &["BASE_URL", "notaurl"]),
        (
            &[("STATS_REFRESH_SECONDS", "0")],
            &["STATS_REFRESH_SECONDS", "\"0\"", "1 to 86400"],
        ),
        (
            &[("RATE_LIMIT_STORAGE", "secondary")],
            &[
                "RATE_LIMIT_STORAGE",
                "secondary",
                "secondary-storage support",
            ],
        ),
        (
            &[("RATE_LIMIT_STORAGE", "redis")],
            &[
                "RATE_LIMIT_STORAGE",
                "redis",
                "memory, database or secondary",
            ],
        ),
        (
            &[
                ("SESSION_STORAGE", "both"),
                ("SESSIONKEEPER_MODE", "shared"),
            ],
            &["SESSION_STORAGE", "both", "REDIS_URL"],
        ),
        (
            &[("SESSION_STORAGE", "redis")],
            &["SESSION_STORAGE", "redis", "database, secondary or both"],
        ),
        (
            &[("REDIS_URL", "http://127.0.0.1:6379")],
            &["REDIS_URL", "http://127.0.0.1:6379", "redis://"],
        ),
        (
            &[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("SESSIONKEEPER_MODE", "shared"),
            ],
            &["REDIS_URL", "SESSION_STORAGE is database"],
        ),
        (
            &[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("SESSION_STORAGE", "secondary"),
            ],
            &["SESSION_STORAGE", "secondary", "owned"],
        ),
        (
            &[("RATE_LIMIT_RULES", "path=/sign-in/*;window=0;max=5")],
            &["RATE_LIMIT_RULES", "window"],
        ),
        (
            &[("SESSION_CLEANUP_INTERVAL_MINUTES", "0")],
            &["SESSION_CLEANUP_INTERVAL_MINUTES"],
        ),
        (
            &[("MAX_SESSIONS_PER_USER", "0")],
            &["MAX_SESSIONS_PER_USER"],
        ),
        (
            &[("CLEAN_EXPIRED_TOKENS", "perhaps")],
            &["CLEAN_EXPIRED_TOKENS", "perhaps"],
        ),
        (
            &[("BASE_URL", "https://auth.example.com")],
            &["BETTER_AUTH_SECRET"],
        ),
        (
            &[
                ("BASE_URL", "https://auth.example.com"),
                ("BETTER_AUTH_SECRET", "x"),
            ],
            &[
                "BETTER_AUTH_SECRET",
                "at least 32",
                "https://auth.example.com",
            ],
        ),
        (
            &[("DATABASE_POOLER", "session")],
            &["DATABASE_POOLER", "session", "none or transaction"],
        ),
        (
            &[("DATABASE_POOLER", "transaction")],
            &["DATABASE_POOLER", "postgres://"],
        ),
        (
            &[("DATABASE_DIRECT_URL", "sqlite://x.db")],
            &["DATABASE_DIRECT_URL", "sqlite://x.db"],
        ),
    ];
    for (env, needles) in cases {
        let (code, stderr) = run_with(env);
        assert_eq!(code, 2, "{env:?}: {stderr}");
        for n in *needles {
            assert!(stderr.contains(n), "{env:?}: stderr lacks {n:?}: {stderr}");
        }
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"))
        .args(["--config", "/nonexistent/sessionkeeper.toml", "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/sessionkeeper.toml"));
}

/// Redis named by REDIS_URL does not answer: start-up stops with a message naming it (and
/// hiding its password), before the database is opened.
#[test]
fn unreachable_redis_stops_start_up() {
    let (code, stderr) = run_with(&[
        ("SESSIONKEEPER_MODE", "shared"),
        ("SESSION_STORAGE", "both"),
        ("REDIS_URL", "redis://:hunter2@127.0.0.1:1"),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot reach Redis at REDIS_URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
