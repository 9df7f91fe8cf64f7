use super::*;

fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let sources = Sources {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    Config::load(&sources)
}

fn err(env: &[(&str, &str)]) -> String {
    load(env).err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn defaults_match_the_readme() {
    let c = load(&[]).unwrap();
    assert_eq!(c.listen.port(), 3001);
    assert_eq!(c.database_url, "sqlite://sessionkeeper.db");
    assert_eq!(c.session.expires_in, 604_800);
    assert_eq!(c.session.update_age, 86_400);
    assert_eq!(c.cleanup.interval_minutes, 60);
    assert_eq!(c.cleanup.policy.max_sessions_per_user, 10);
    assert_eq!(c.cleanup.policy.inactivity_days, 30);
    assert!(c.cleanup.automatic && c.cleanup.on_startup && c.cleanup.logs);
    assert!(!c.session.secure_cookies);
}

#[test]
fn base_url_sets_the_port_and_secure_cookies() {
    let c = load(&[
        ("BASE_URL", "https://auth.example.com:8443"),
        ("BETTER_AUTH_SECRET", "s".repeat(32).as_str()),
    ])
    .unwrap();
    assert_eq!(c.listen.port(), 8443);
    assert!(c.session.secure_cookies);
}

#[test]
fn booleans_accept_the_documented_spellings() {
    for (v, want) in [
        ("TRUE", true),
        ("1", true),
        ("Yes", true),
        ("false", false),
        ("0", false),
        ("NO", false),
    ] {
        let c = load(&[("CLEAN_EXPIRED_TOKENS", v)]).unwrap();
        assert_eq!(c.cleanup.policy.clean_expired_tokens, want, "{v}");
    }
    let e = err(&[("CLEAN_INACTIVE_SESSIONS", "maybe")]);
    assert!(
        e.contains("CLEAN_INACTIVE_SESSIONS") && e.contains("\"maybe\"") && e.contains("yes/no"),
        "{e}"
    );
}

#[test]
fn bad_values_name_the_setting_the_value_and_what_is_allowed() {
    let e = err(&[("DATABASE_URL", "mysql://x")]);
    assert!(
        e.contains("DATABASE_URL") && e.contains("mysql://x") && e.contains("postgres://"),
        "{e}"
    );
    let e = err(&[("BASE_URL", "notaurl")]);
    assert!(e.contains("BASE_URL") && e.contains("notaurl"), "{e}");
    let e = err(&[("SESSION_CLEANUP_INTERVAL_MINUTES", "0")]);
    assert!(
        e.contains("SESSION_CLEANUP_INTERVAL_MINUTES") && e.contains("from 1"),
        "{e}"
    );
    let e = err(&[("SESSION_CLEANUP_INTERVAL_MINUTES", "-5")]);
    assert!(e.contains("SESSION_CLEANUP_INTERVAL_MINUTES"), "{e}");
    let e = err(&[("MAX_SESSIONS_PER_USER", "0")]);
    assert!(e.contains("MAX_SESSIONS_PER_USER"), "{e}");
    let e = err(&[("ADMIN_API_TOKEN", "short")]);
    assert!(
        e.contains("ADMIN_API_TOKEN") && !e.contains("short\""),
        "secret echoed: {e}"
    );
}

#[test]
fn https_without_a_secret_is_refused() {
    let e = err(&[("BASE_URL", "https://auth.example.com")]);
    assert!(e.contains("BETTER_AUTH_SECRET"), "{e}");
}

#[test]
fn layers_apply_in_order_file_then_env_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessionkeeper.toml");
    std::fs::write(
        &path,
        "database_url = \"sqlite://from-file.db\"\n[session_management]\nmax_sessions_per_user = 3\ninactivity_timeout_days = 9\n",
    )
    .unwrap();
    let mut sources = Sources {
        file: Some(path.clone()),
        env: [("MAX_SESSIONS_PER_USER".to_string(), "4".to_string())].into(),
        overrides: vec![],
    };
    let c = Config::load(&sources).unwrap();
    assert_eq!(c.database_url, "sqlite://from-file.db");
    assert_eq!(c.cleanup.policy.max_sessions_per_user, 4);
    assert_eq!(c.cleanup.policy.inactivity_days, 9);
    sources.overrides.push((
        "session_management.max_sessions_per_user".into(),
        "5".into(),
    ));
    assert_eq!(
        Config::load(&sources)
            .unwrap()
            .cleanup
            .policy
            .max_sessions_per_user,
        5
    );

    std::fs::write(&path, "[session_management]\nmax_sesions = 3\n").unwrap();
    let e = Config::load(&Sources {
        file: Some(path.clone()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("session_management.max_sesions"), "{e}");
    std::fs::write(
        &path,
        "[session_management]\ncleanup_interval_minutes = 0\n",
    )
    .unwrap();
    let e = Config::load(&Sources {
        file: Some(path),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("session_management.cleanup_interval_minutes") && e.contains("\"0\""),
        "{e}"
    );
}
