//! What the Debian package ships agrees with the binary: the man page names every command and
//! global option `--help` lists, the unit runs the packaged binary hardened, and every asset
//! exists. (`scripts/check-deploy` builds and installs the package itself.)

use std::process::Command;

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", root())).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_man_page_names_every_command_and_global_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"))
        .arg("--help")
        .output()
        .expect("binary runs");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let man = read("deploy/sessionkeeper.1").replace("\\-", "-");
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .and_then(|s| s.split("Options:").next())
        .expect("a Commands section")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 5, "{commands:?}");
    for c in commands {
        assert!(
            man.lines().any(|l| l.starts_with(&format!(".B {c}"))),
            "the man page has no entry for `{c}`"
        );
    }
    for flag in help.split_whitespace().filter(|w| w.starts_with("--")) {
        let flag = flag.trim_end_matches(',');
        assert!(man.contains(flag), "the man page does not mention {flag}");
    }
}

#[test]
fn the_unit_runs_the_packaged_binary_hardened() {
    let unit = read("deploy/systemd/sessionkeeper.service");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert!(exec.starts_with("/usr/bin/sessionkeeper "), "{exec}");
    for directive in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "StateDirectory=sessionkeeper",
        "EnvironmentFile=-/etc/sessionkeeper/env",
        "RestartPreventExitStatus=2",
    ] {
        assert!(unit.lines().any(|l| l == directive), "missing {directive}");
    }
    // The drain after SIGTERM ends before systemd's SIGKILL.
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse().ok())
        .expect("TimeoutStopSec");
    assert!(
        stop > 25,
        "TimeoutStopSec {stop} must exceed SHUTDOWN_TIMEOUT_SECONDS' default"
    );
}

#[test]
fn every_package_asset_exists() {
    let cargo: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let deb = &cargo["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().expect("assets");
    let mut dests = Vec::new();
    for a in assets {
        let a = a.as_array().expect("[source, dest, mode]");
        let source = a[0].as_str().expect("source");
        dests.push(a[1].as_str().expect("dest").to_owned());
        if !source.starts_with("target/") {
            assert!(
                std::path::Path::new(&format!("{}/{source}", root())).exists(),
                "{source}"
            );
        }
    }
    assert!(dests.iter().any(|d| d == "usr/bin/"));
    assert!(
        dests
            .iter()
            .any(|d| d == "usr/share/man/man1/sessionkeeper.1")
    );
    assert!(
        dests
            .iter()
            .any(|d| d == "etc/sessionkeeper/sessionkeeper.toml")
    );
    let units = deb["systemd-units"]["unit-scripts"]
        .as_str()
        .expect("unit-scripts");
    assert!(std::path::Path::new(&format!("{}/{units}/sessionkeeper.service", root())).exists());
    // The packaged default configuration loads.
    let out = Command::new(env!("CARGO_BIN_EXE_sessionkeeper"))
        .args(["--config", &format!("{}/deploy/sessionkeeper.toml", root())])
        .args(["config", "check"])
        .env_clear()
        .env("BETTER_AUTH_SECRET", "packaging-secret-0123456789abcdef")
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
