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
    assert_eq!(c.admin.stats_refresh_seconds, 60);
    assert_eq!(
        load(&[("STATS_REFRESH_SECONDS", "5")])
            .unwrap()
            .admin
            .stats_refresh_seconds,
        5
    );
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
    let e = err(&[("COOKIE_CACHE", "jws")]);
    assert!(
        e.contains("COOKIE_CACHE") && e.contains("jws") && e.contains("compact"),
        "{e}"
    );
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
fn https_with_a_short_secret_is_refused_without_echoing_it() {
    let e = err(&[
        ("BASE_URL", "https://auth.example.com"),
        ("BETTER_AUTH_SECRET", "x"),
    ]);
    assert!(e.contains("BETTER_AUTH_SECRET") && e.contains("32"), "{e}");
    assert!(!e.contains("\"x\""), "secret echoed: {e}");
    let short = "s".repeat(31);
    assert!(
        load(&[
            ("BASE_URL", "https://a.example"),
            ("BETTER_AUTH_SECRET", &short)
        ])
        .is_err()
    );
    // Development over http keeps any secret.
    assert!(
        load(&[
            ("BASE_URL", "http://localhost:3001"),
            ("BETTER_AUTH_SECRET", "x")
        ])
        .is_ok()
    );
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

#[test]
fn every_cleanup_boolean_accepts_each_spelling_and_names_itself_when_wrong() {
    let names = [
        "CLEAN_EXPIRED_TOKENS",
        "CLEAN_INACTIVE_SESSIONS",
        "ENFORCE_SESSION_LIMITS",
        "ENABLE_SESSION_CLEANUP_LOGS",
        "AUTOMATIC_SESSION_CLEANUP",
        "CLEANUP_ON_STARTUP",
    ];
    let read = |c: &Config, name: &str| match name {
        "CLEAN_EXPIRED_TOKENS" => c.cleanup.policy.clean_expired_tokens,
        "CLEAN_INACTIVE_SESSIONS" => c.cleanup.policy.clean_inactive_sessions,
        "ENFORCE_SESSION_LIMITS" => c.cleanup.policy.enforce_session_limits,
        "ENABLE_SESSION_CLEANUP_LOGS" => c.cleanup.logs,
        "AUTOMATIC_SESSION_CLEANUP" => c.cleanup.automatic,
        _ => c.cleanup.on_startup,
    };
    for name in names {
        for (v, want) in [
            ("true", true),
            ("False", false),
            ("1", true),
            ("0", false),
            ("YES", true),
            ("no", false),
        ] {
            let c = load(&[(name, v)]).unwrap();
            assert_eq!(read(&c, name), want, "{name}={v}");
        }
        let e = err(&[(name, "on")]);
        assert!(e.contains(name) && e.contains("\"on\""), "{e}");
    }
}

#[test]
fn cleanup_numbers_are_checked_and_named() {
    let c = load(&[
        ("SESSION_CLEANUP_INTERVAL_MINUTES", "15"),
        ("MAX_SESSIONS_PER_USER", "3"),
        ("SESSION_INACTIVITY_TIMEOUT_DAYS", "7"),
        ("SESSION_CLEANUP_BATCH_SIZE", "500"),
        ("SESSION_CLEANUP_BATCH_PAUSE_MS", "0"),
        ("SESSION_CLEANUP_BATCH_PAUSE_PERCENT", "25"),
        ("SESSION_CLEANUP_BATCH_TARGET_MS", "80"),
        ("SESSION_CLEANUP_MAX_ROWS_PER_SECOND", "2500"),
        ("SESSION_CLEANUP_JITTER_PERCENT", "0"),
        ("SESSION_CLEANUP_LEASE_SECONDS", "30"),
        ("SESSION_CLEANUP_SAMPLE_SIZE", "5"),
    ])
    .unwrap();
    assert_eq!(
        (c.cleanup.batch_pause_percent, c.cleanup.batch_target_ms),
        (25, 80)
    );
    assert_eq!(c.cleanup.max_rows_per_second, 2500);
    assert_eq!(
        load(&[]).unwrap().cleanup.max_rows_per_second,
        0,
        "no cap by default"
    );
    assert_eq!(c.cleanup.interval(), std::time::Duration::from_secs(900));
    assert_eq!(c.cleanup.policy.max_sessions_per_user, 3);
    assert_eq!(c.cleanup.policy.inactivity_days, 7);
    assert_eq!(
        (
            c.cleanup.batch_size,
            c.cleanup.batch_pause_ms,
            c.cleanup.jitter_percent
        ),
        (500, 0, 0)
    );
    assert_eq!((c.cleanup.lease_seconds, c.cleanup.sample_size), (30, 5));

    let c = load(&[
        ("SESSION_CLEANUP_INTERVAL_MINUTES", "15"),
        ("SESSION_CLEANUP_INTERVAL_SECONDS", "2"),
    ])
    .unwrap();
    assert_eq!(c.cleanup.interval(), std::time::Duration::from_secs(2));

    for (name, bad) in [
        ("SESSION_CLEANUP_INTERVAL_MINUTES", "0"),
        ("SESSION_CLEANUP_INTERVAL_MINUTES", "-1"),
        ("SESSION_CLEANUP_INTERVAL_MINUTES", "soon"),
        ("SESSION_CLEANUP_INTERVAL_SECONDS", "0"),
        ("SESSION_CLEANUP_INTERVAL_SECONDS", "-3"),
        ("MAX_SESSIONS_PER_USER", "0"),
        ("MAX_SESSIONS_PER_USER", "-2"),
        ("SESSION_INACTIVITY_TIMEOUT_DAYS", "0"),
        ("SESSION_CLEANUP_BATCH_SIZE", "0"),
        ("SESSION_CLEANUP_BATCH_PAUSE_PERCENT", "-5"),
        ("SESSION_CLEANUP_BATCH_PAUSE_PERCENT", "1001"),
        ("SESSION_CLEANUP_BATCH_TARGET_MS", "0"),
        ("SESSION_CLEANUP_MAX_ROWS_PER_SECOND", "-1"),
        ("SESSION_CLEANUP_MAX_ROWS_PER_SECOND", "10000001"),
        ("SESSION_CLEANUP_MAX_ROWS_PER_SECOND", "fast"),
        ("SESSION_CLEANUP_JITTER_PERCENT", "90"),
        ("SESSION_CLEANUP_LEASE_SECONDS", "1"),
        ("STATS_REFRESH_SECONDS", "0"),
        ("STATS_REFRESH_SECONDS", "86401"),
        ("STATS_REFRESH_SECONDS", "soon"),
    ] {
        let e = err(&[(name, bad)]);
        assert!(
            e.contains(name) && e.contains(&format!("{bad:?}")) && e.contains("expected"),
            "{name}={bad}: {e}"
        );
    }
}

#[test]
fn schema_names_come_from_toml_and_env_and_need_shared_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessionkeeper.toml");
    std::fs::write(
        &path,
        "mode = \"shared\"\n[schema]\nuse_plural = true\n[schema.session]\ntable = \"auth_sessions\"\nuser_id = \"user_id\"\n[schema.user]\nemail_verified = \"email_verified\"\n",
    )
    .unwrap();
    let sources = Sources {
        file: Some(path.clone()),
        env: [(
            "SCHEMA_SESSION_EXPIRES_AT".to_string(),
            "expires_at".to_string(),
        )]
        .into(),
        overrides: vec![],
    };
    let c = Config::load(&sources).unwrap();
    assert!(c.schema.use_plural);
    assert_eq!(
        c.schema.names.get("session.table").map(String::as_str),
        Some("auth_sessions")
    );
    assert_eq!(
        c.schema.names.get("session.user_id").map(String::as_str),
        Some("user_id")
    );
    assert_eq!(
        c.schema.names.get("session.expires_at").map(String::as_str),
        Some("expires_at")
    );
    assert_eq!(
        c.schema
            .names
            .get("user.email_verified")
            .map(String::as_str),
        Some("email_verified")
    );
    assert_eq!(c.schema.names.len(), 4);

    // A typo in a field name is an unknown setting, named with its full key.
    std::fs::write(
        &path,
        "mode = \"shared\"\n[schema.session]\nuserid = \"user_id\"\n",
    )
    .unwrap();
    let e = Config::load(&Sources {
        file: Some(path.clone()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("schema.session.userid"), "{e}");

    // Names are quoted identifiers; anything that could leave the quotes is refused.
    let e = err(&[
        ("SESSIONKEEPER_MODE", "shared"),
        ("SCHEMA_SESSION_TABLE", "session\"; drop table x; --"),
    ]);
    assert!(
        e.contains("SCHEMA_SESSION_TABLE") && e.contains("letters, digits"),
        "{e}"
    );

    // Owned mode creates Better Auth's default names, so a mapping there is a mistake.
    let e = err(&[("SCHEMA_USER_TABLE", "users")]);
    assert!(
        e.contains("schema.user.table") && e.contains("owned"),
        "{e}"
    );
    assert!(
        load(&[
            ("SESSIONKEEPER_MODE", "shared"),
            ("SCHEMA_USER_TABLE", "users")
        ])
        .is_ok()
    );
}

#[test]
fn sqlite_gets_smaller_cleanup_batches_unless_set() {
    assert_eq!(
        load(&[]).unwrap().cleanup.batch_size,
        SQLITE_DEFAULT_BATCH_SIZE
    );
    let pg = load(&[("DATABASE_URL", "postgres://postgres@127.0.0.1/x")]).unwrap();
    assert_eq!(pg.cleanup.batch_size, 50_000);
    let set = load(&[("SESSION_CLEANUP_BATCH_SIZE", "700")]).unwrap();
    assert_eq!(set.cleanup.batch_size, 700);
}

#[test]
fn pooler_is_none_by_default_and_transaction_needs_postgres() {
    let c = load(&[]).unwrap();
    assert_eq!(c.database_pooler, Pooler::None);
    assert_eq!(c.database_direct_url, None);
    let pg = [
        ("DATABASE_URL", "postgres://u@pooler.example.com:6543/app"),
        ("DATABASE_POOLER", "Transaction"),
        (
            "DATABASE_DIRECT_URL",
            "postgresql://u@db.example.com:5432/app",
        ),
    ];
    let c = load(&pg).unwrap();
    assert_eq!(c.database_pooler, Pooler::Transaction);
    assert_eq!(
        c.database_direct_url.as_deref(),
        Some("postgresql://u@db.example.com:5432/app")
    );
    let e = err(&[("DATABASE_POOLER", "transaction")]);
    assert!(
        e.contains("DATABASE_POOLER") && e.contains("postgres://"),
        "{e}"
    );
    let e = err(&[("DATABASE_POOLER", "statement")]);
    assert!(
        e.contains("DATABASE_POOLER") && e.contains("none or transaction"),
        "{e}"
    );
}

#[test]
fn rate_limits_are_on_by_default_and_rules_come_from_toml_tables() {
    let c = load(&[]).unwrap();
    assert!(c.rate_limit.enabled);
    assert_eq!((c.rate_limit.window, c.rate_limit.max), (10, 100));
    assert_eq!(c.rate_limit.storage, RateLimitStorage::Memory);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessionkeeper.toml");
    std::fs::write(
        &path,
        "[rate_limit]\nstorage = \"database\"\nmax = 500\n\n[[rate_limit.rules]]\npath = \"/sign-in/*\"\nwindow = 60\nmax = 5\n\n[[rate_limit.rules]]\npath = \"/get-session\"\nwindow = 10\nmax = 1000\n",
    )
    .unwrap();
    let sources = Sources {
        file: Some(path.clone()),
        ..Default::default()
    };
    let c = Config::load(&sources).unwrap();
    assert_eq!(c.rate_limit.storage, RateLimitStorage::Database);
    assert_eq!(c.rate_limit.max, 500);
    let rules: Vec<_> = c
        .rate_limit
        .rules
        .iter()
        .map(|r| (r.pattern.as_str(), r.rule.window, r.rule.max))
        .collect();
    assert_eq!(rules, [("/sign-in/*", 60, 5), ("/get-session", 10, 1000)]);
    std::fs::write(
        &path,
        "[[rate_limit.rules]]\npath = \"/x\"\nwindow = 10\nmax = 5\nburst = 2\n",
    )
    .unwrap();
    let e = Config::load(&sources).unwrap_err().to_string();
    assert!(e.contains("rate_limit.rules") && e.contains("burst"), "{e}");
}

#[test]
fn webhook_settings_are_checked() {
    let e = err(&[("WEBHOOK_SECRET", "not-a-key")]);
    assert!(e.contains("WEBHOOK_SECRET") && e.contains("whsec_"), "{e}");
    let e = err(&[("WEBHOOK_URLS", "ftp://x.test/hook")]);
    assert!(e.contains("WEBHOOK_URLS") && e.contains("ftp://"), "{e}");
    let e = err(&[("WEBHOOK_EVENTS", "session.created,user.deleted")]);
    assert!(
        e.contains("WEBHOOK_EVENTS") && e.contains("user.deleted"),
        "{e}"
    );
    let e = err(&[("WEBHOOK_URLS", "https://x.test/hook")]);
    assert!(
        e.contains("WEBHOOK_SECRET"),
        "a receiver needs the signing key: {e}"
    );
    let e = err(&[("SESSION_HISTORY_RETENTION_DAYS", "-1")]);
    assert!(e.contains("SESSION_HISTORY_RETENTION_DAYS"), "{e}");
}

#[test]
fn the_inactivity_seconds_reach_the_cleanup_policy() {
    let c = load(&[]).unwrap();
    assert_eq!(c.cleanup.policy.inactivity_seconds, None);
    assert_eq!(c.cleanup.policy.inactivity(), time::Duration::days(30));
    let c = load(&[
        ("SESSION_INACTIVITY_TIMEOUT_DAYS", "9"),
        ("SESSION_INACTIVITY_TIMEOUT_SECONDS", "600"),
    ])
    .unwrap();
    assert_eq!(c.cleanup.policy.inactivity_seconds, Some(600));
    assert_eq!(c.cleanup.policy.inactivity(), time::Duration::seconds(600));
    assert_eq!(c.cleanup.policy.inactivity_days, 9, "kept, overridden");
}
