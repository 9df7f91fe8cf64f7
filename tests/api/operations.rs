//! Health, readiness, graceful shutdown and the `users create` command, on the real binary.

use crate::all_stores;
use crate::helpers::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

all_stores!(health_and_readiness, |app| async move {
    let h = app.get("/healthz", None).await;
    assert_eq!((h.status, h.body["status"].as_str()), (200, Some("ok")));
    let r = app.get("/readyz", None).await;
    assert_eq!((r.status, r.body["database"].as_str()), (200, Some("ok")));
});

fn binary(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("AUTOMATIC_SESSION_CLEANUP", "false");
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn users_create_reads_the_password_from_stdin_and_the_user_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary(dir.path())
        .args([
            "users",
            "create",
            "--email",
            "Root@Example.com",
            "--name",
            "Root",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("root@example.com") && stdout.contains("admin"),
        "{stdout}"
    );
    assert!(!stdout.contains(PASSWORD));

    // The same database, served: the new admin signs in.
    let port = free_port();
    let mut server = binary(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{url}/healthz")).send().await.is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let res = http
            .post(format!("{url}/api/auth/sign-in/email"))
            .json(&serde_json::json!({"email": "root@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        res.json::<serde_json::Value>().await.unwrap()
    });
    assert_eq!(body["user"]["role"], "admin");

    // SIGTERM: graceful shutdown, exit code 0, and no token in the logs.
    let pid = server.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let mut logs = String::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        logs.push_str(&line.unwrap());
        logs.push('\n');
    }
    let token = body["token"].as_str().unwrap();
    assert!(!logs.contains(token), "token leaked into logs");
    assert!(logs.contains("shutdown signal received"), "{logs}");
}

#[test]
fn users_create_refuses_an_empty_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path())
        .args(["users", "create", "--email", "x@example.com", "--name", "X"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password"));
}

/// Logs redirected to a file or a pipe carry no terminal colour codes.
#[test]
fn logs_to_a_pipe_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path())
        .args(["cleanup", "--dry-run"])
        .env("DATABASE_URL", "sqlite://plain.db")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{logs}");
    assert!(logs.contains("cleanup run finished"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "escape codes in {logs:?}");
}
