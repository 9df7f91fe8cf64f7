//! Compatibility proven against the real `better-auth` npm package (compat/node): its client
//! drives our server, and its cookie signer agrees with ours in both directions.

use crate::both_stores;
use crate::helpers::*;
use sessionkeeper::domain::cookie::CookieSigner;
use std::path::PathBuf;
use std::process::Command;

/// compat/node with its packages installed, or `None` (a visible skip outside CI; a failure in
/// CI, where scripts/test installs them).
pub fn compat_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat/node");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if node_ok && dir.join("node_modules/better-auth").is_dir() {
        return Some(dir);
    }
    let why =
        "node or compat/node/node_modules missing (run scripts/test, or `npm ci` in compat/node)";
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{why}");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: Better Auth compatibility test: {why}"
    );
    None
}

fn node(dir: &PathBuf, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("node")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

both_stores!(
    official_client_flow_works_against_our_server,
    Settings::new().set("BETTER_AUTH_TRUSTED_ORIGINS", "http://127.0.0.1:*"),
    |app| async move {
        let Some(dir) = compat_dir() else { return };
        let url = app.url.clone();
        // The flow (compat/node/client-flow.mjs): signUp, signIn (2nd client), getSession,
        // listSessions, revokeOtherSessions, bearer getSession via set-auth-token,
        // revokeSession with a listed token, signOut.
        let (ok, stdout, stderr) =
            tokio::task::spawn_blocking(move || node(&dir, &["client-flow.mjs", &url]))
                .await
                .unwrap();
        assert!(ok, "client flow failed:\n{stderr}\n{stdout}");
        let last: serde_json::Value =
            serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
        assert_eq!(last["ok"], true);
        assert_eq!(last["steps"], 15);
    }
);

#[test]
fn our_cookies_verify_with_better_call_and_theirs_with_ours() {
    let Some(dir) = compat_dir() else { return };
    let signer = CookieSigner::new(SECRET);
    for token in [
        "XtUcLCM4UdxeCSdmDWPDo4KpUXqKLiQT",
        "355xjkoM1P6w0phdGzHZR02Mrxy1QuU0",
        "a",
    ] {
        // Theirs → ours: the exact Set-Cookie value better-call produces.
        let (ok, theirs, err) = node(&dir, &["cookie.mjs", "sign", SECRET, token]);
        assert!(ok, "{err}");
        assert_eq!(
            signer.sign_for_cookie(token),
            theirs,
            "same bytes as better-call"
        );
        assert_eq!(signer.verify(&theirs).as_deref(), Some(token));
        // Ours → theirs: better-call's getSignedCookie accepts our value.
        let (ok, verified, err) = node(
            &dir,
            &[
                "cookie.mjs",
                "verify",
                SECRET,
                &signer.sign_for_cookie(token),
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(verified, token);
        // And rejects it under another secret, as we reject theirs.
        let (_, wrong, _) = node(
            &dir,
            &[
                "cookie.mjs",
                "verify",
                "another-secret",
                &signer.sign_for_cookie(token),
            ],
        );
        assert_eq!(wrong, "false");
        assert_eq!(CookieSigner::new("another-secret").verify(&theirs), None);
    }
}

/// The real Better Auth server (compat/node/ba-server.mjs) on a SQLite file; killed on drop.
pub struct BaServer {
    pub child: std::process::Child,
    pub url: String,
}

impl BaServer {
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> BaServer {
        use std::io::BufRead;
        let mut cmd = Command::new("node");
        cmd.arg("ba-server.mjs")
            .current_dir(dir)
            .env("PORT", "0")
            .env("BETTER_AUTH_SECRET", SECRET)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("ba-server said {line:?}"));
        BaServer {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for BaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flow is checked against the real Better Auth too, so it tests what Better Auth does and
/// not only what we do.
#[test]
fn the_client_flow_passes_against_real_better_auth() {
    let Some(dir) = compat_dir() else { return };
    let db = tempfile::tempdir().unwrap();
    let path = db.path().join("ba.db");
    let server = BaServer::start(&dir, &[("SQLITE_PATH", path.to_str().unwrap())]);
    let (ok, stdout, stderr) = node(&dir, &["client-flow.mjs", &server.url]);
    assert!(ok, "reference run failed:\n{stderr}\n{stdout}");
    assert!(stdout.ends_with("{\"ok\":true,\"steps\":15}"), "{stdout}");
}
