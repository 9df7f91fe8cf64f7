//! `sessionkeeper config check`: effective values with their layer, secrets hidden, exit 2 on
//! any problem; and `--version` with the git commit.

use std::process::Command;

const SECRET: &str = "check-secret-0123456789abcdef0123";
const ADMIN_TOKEN: &str = "check-admin-token-0123456789";

fn check(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The row of one setting: `<key> (<ENV>)  <value>  <layer>`.
fn row<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{key} (")))
        .unwrap_or_else(|| panic!("no row for {key} in:\n{out}"));
    line.split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn config_check_shows_each_value_and_its_layer_with_secrets_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sk.toml");
    std::fs::write(
        &file,
        "database_max_connections = 7\n[session_management]\nbatch_size = 1234\n",
    )
    .unwrap();
    let file_arg = file.display().to_string();
    let (code, out, err) = check(
        &["--config", &file_arg, "config", "check", "--log-json"],
        &[
            ("BETTER_AUTH_SECRET", SECRET),
            ("ADMIN_API_TOKEN", ADMIN_TOKEN),
            ("DATABASE_URL", "postgres://app:db-password-1@127.0.0.1/app"),
            ("SESSION_CLEANUP_BATCH_SIZE", "4321"),
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        row(&out, "secret")[1..],
        ["<hidden>", "env BETTER_AUTH_SECRET"]
    );
    assert_eq!(
        row(&out, "admin.api_token")[1..],
        ["<hidden>", "env ADMIN_API_TOKEN"]
    );
    assert_eq!(row(&out, "ops.metrics_token")[1..], ["(unset)", "default"]);
    let file_layer = format!("file {file_arg}");
    assert_eq!(
        row(&out, "database_max_connections")[1..],
        ["7", file_layer.as_str()]
    );
    // The environment wins over the file.
    assert_eq!(
        row(&out, "session_management.batch_size")[1..],
        ["4321", "env SESSION_CLEANUP_BATCH_SIZE"]
    );
    assert_eq!(row(&out, "log_format")[1..], ["json", "flag"]);
    assert_eq!(row(&out, "session.expires_in")[1..], ["604800", "default"]);
    assert_eq!(
        row(&out, "database_url")[1..],
        ["postgres://app:***@127.0.0.1/app", "env DATABASE_URL"]
    );
    for secret in [SECRET, ADMIN_TOKEN, "db-password-1"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} shown"
        );
    }
    assert!(out.contains("configuration ok"));
}

#[test]
fn config_check_exits_2_on_any_problem() {
    let (code, _, err) = check(&["config", "check"], &[("SESSION_EXPIRES_IN", "soon")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("SESSION_EXPIRES_IN") && err.contains("soon"),
        "{err}"
    );

    // Loads, but not fit for production: no fixed secret.
    let (code, _, err) = check(&["config", "check"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("problem: BETTER_AUTH_SECRET is not set"),
        "{err}"
    );

    let (code, _, err) = check(
        &["config", "check"],
        &[
            ("BETTER_AUTH_SECRET", SECRET),
            ("LISTEN_ADDR", "127.0.0.1:3001"),
            ("METRICS_LISTEN_ADDR", "127.0.0.1:3001"),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("METRICS_LISTEN_ADDR"), "{err}");
}

#[test]
fn version_names_the_git_commit() {
    let (code, out, _) = check(&["--version"], &[]);
    assert_eq!(code, 0);
    let expected = format!("sessionkeeper {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&expected), "{out}");
    let commit = out[expected.len()..].trim().trim_end_matches(')');
    let in_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    match in_git {
        // Built from this checkout (the binary is rebuilt when HEAD moves).
        Some(o) => assert_eq!(commit, String::from_utf8_lossy(&o.stdout).trim()),
        None => assert_eq!(commit, "unknown"),
    }
}
