//! The table of settings: TOML key, environment names, and the parser that applies a value.

use super::types::WEBHOOK_EVENT_TYPES;
use super::{
    Config, ConfigError, LogFormat, Mode, Pooler, RateLimitStorage, Secret, SessionStorage,
    TenantSource,
};
use crate::domain::limits::{self, Range};
use crate::domain::password::HashAlgorithm;

pub struct Setting {
    pub key: &'static str,
    /// Environment names, first match wins.
    pub env: &'static [&'static str],
    /// Whether the value may be echoed in an error.
    pub secret: bool,
    apply: fn(&mut Config, &str) -> Result<(), String>,
}

pub fn by_key(key: &str) -> Option<&'static Setting> {
    ALL.iter().find(|s| s.key == key)
}

pub fn apply(
    cfg: &mut Config,
    setting: &Setting,
    value: &str,
    origin: impl FnOnce() -> String,
) -> Result<(), ConfigError> {
    (setting.apply)(cfg, value.trim()).map_err(|allowed| {
        let shown = if setting.secret {
            "<hidden>".to_owned()
        } else {
            format!("{value:?}")
        };
        ConfigError::Invalid {
            origin: origin(),
            problem: format!("got {shown}; {allowed}"),
        }
    })
}

pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err("expected true/false, 1/0 or yes/no".into()),
    }
}

fn whole<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    v: &str,
    min: T,
    max: T,
    unit: &str,
) -> Result<T, String> {
    let allowed = || format!("expected a whole number of {unit} from {min} to {max}");
    let n: T = v.parse().map_err(|_| allowed())?;
    if n < min || n > max {
        return Err(allowed());
    }
    Ok(n)
}

fn within(v: &str, range: Range, unit: &str) -> Result<u32, String> {
    whole(v, range.min, range.max, unit)
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

const DAY: i64 = 86_400;

macro_rules! setting {
    ($key:literal, [$($env:literal),*], $secret:literal, |$cfg:ident, $v:ident| $body:expr) => {
        Setting { key: $key, env: &[$($env),*], secret: $secret, apply: |$cfg, $v| { $body; Ok(()) } }
    };
}

/// A table or column name. Quoted in SQL, so any case works; the character set is kept narrow
/// so that a typo cannot smuggle SQL through the quotes.
fn ident(v: &str) -> Result<String, String> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
    if ok {
        Ok(v.to_owned())
    } else {
        Err("expected a table or column name: 1 to 63 letters, digits, _ or $".into())
    }
}

/// One `[schema]` name: TOML `schema.<table>.<field>`, environment `SCHEMA_<TABLE>_<FIELD>`.
macro_rules! schema_name {
    ($table:literal, $field:literal, $env:literal) => {
        Setting {
            key: concat!("schema.", $table, ".", $field),
            env: &[$env],
            secret: false,
            apply: |c, v| {
                c.schema
                    .names
                    .insert(concat!($table, ".", $field), ident(v)?);
                Ok(())
            },
        }
    };
}

pub static ALL: &[Setting] = &[
    setting!("mode", ["SESSIONKEEPER_MODE"], false, |c, v| {
        c.mode = match v.to_ascii_lowercase().as_str() {
            "owned" => Mode::Owned,
            "shared" => Mode::Shared,
            _ => return Err("expected owned or shared".into()),
        }
    }),
    setting!(
        "secret",
        ["BETTER_AUTH_SECRET", "AUTH_SECRET"],
        true,
        |c, v| {
            if v.is_empty() {
                return Err("expected a non-empty secret (32+ random characters)".into());
            }
            c.secret = Some(Secret::new(v))
        }
    ),
    setting!("base_url", ["BASE_URL"], false, |c, v| {
        let url = url::Url::parse(v).map_err(|_| {
            "expected an http:// or https:// URL such as http://localhost:3001".to_string()
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err("expected an http:// or https:// URL such as http://localhost:3001".into());
        }
        c.base_url = url
    }),
    setting!("listen", ["LISTEN_ADDR"], false, |c, v| {
        c.listen = v
            .parse()
            .map_err(|_| "expected host:port, such as 127.0.0.1:3001 or 0.0.0.0:3001".to_string())?
    }),
    setting!("database_url", ["DATABASE_URL"], false, |c, v| {
        let ok = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| v.starts_with(p));
        if !ok {
            return Err("expected sqlite://PATH (SQLite) or postgres://... (PostgreSQL)".into());
        }
        c.database_url = v.to_owned()
    }),
    setting!(
        "database_max_connections",
        ["DATABASE_MAX_CONNECTIONS"],
        false,
        |c, v| { c.database_max_connections = whole(v, 1u32, 1000, "connections")? }
    ),
    setting!("database_pooler", ["DATABASE_POOLER"], false, |c, v| {
        c.database_pooler = match v.to_ascii_lowercase().as_str() {
            "none" => Pooler::None,
            "transaction" => Pooler::Transaction,
            _ => return Err("expected none or transaction".into()),
        }
    }),
    setting!("secondary.redis_url", ["REDIS_URL"], false, |c, v| {
        let ok = url::Url::parse(v)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "redis" | "rediss") && u.host().is_some());
        if !ok {
            return Err("expected a redis://HOST:PORT or rediss://HOST:PORT URL".into());
        }
        c.secondary.redis_url = Some(v.to_owned())
    }),
    setting!(
        "secondary.prefix",
        ["SECONDARY_STORAGE_PREFIX"],
        false,
        |c, v| { c.secondary.prefix = v.to_owned() }
    ),
    setting!(
        "secondary.session_storage",
        ["SESSION_STORAGE"],
        false,
        |c, v| {
            c.secondary.session_storage = match v.to_ascii_lowercase().as_str() {
                "database" => SessionStorage::Database,
                "secondary" => SessionStorage::Secondary,
                "both" => SessionStorage::Both,
                _ => return Err("expected database, secondary or both".into()),
            }
        }
    ),
    setting!(
        "database_statement_timeout_seconds",
        ["DATABASE_STATEMENT_TIMEOUT_SECONDS"],
        false,
        |c, v| { c.database_statement_timeout_seconds = whole(v, 0u64, 3600, "seconds")? }
    ),
    setting!(
        "database_direct_url",
        ["DATABASE_DIRECT_URL"],
        false,
        |c, v| {
            if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
                return Err("expected a postgres://... URL that bypasses the pooler".into());
            }
            c.database_direct_url = Some(v.to_owned())
        }
    ),
    setting!("log_format", ["LOG_FORMAT"], false, |c, v| {
        c.log_format = match v.to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err("expected text or json".into()),
        }
    }),
    setting!(
        "session.expires_in",
        ["SESSION_EXPIRES_IN"],
        false,
        |c, v| { c.session.expires_in = whole(v, 60i64, 400 * DAY, "seconds")? }
    ),
    setting!(
        "session.update_age",
        ["SESSION_UPDATE_AGE"],
        false,
        |c, v| { c.session.update_age = whole(v, 0i64, 400 * DAY, "seconds")? }
    ),
    setting!("session.fresh_age", ["SESSION_FRESH_AGE"], false, |c, v| {
        c.session.fresh_age = whole(v, 0i64, 400 * DAY, "seconds (0 turns the check off)")?
    }),
    setting!(
        "session.trusted_origins",
        ["BETTER_AUTH_TRUSTED_ORIGINS", "TRUSTED_ORIGINS"],
        false,
        |c, v| {
            let origins = list(v);
            for o in &origins {
                if !o.contains("://") {
                    return Err(format!(
                        "expected comma-separated origins such as https://app.example.com or https://*.example.com; {o:?} has no scheme"
                    ));
                }
            }
            c.session.trusted_origins = origins
        }
    ),
    setting!(
        "session.trusted_proxies",
        ["TRUSTED_PROXIES"],
        false,
        |c, v| {
            let mut nets = Vec::new();
            for item in list(v) {
                let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("expected comma-separated IP addresses or CIDR ranges; {item:?} is neither"))?;
                nets.push(net);
            }
            c.session.trusted_proxies = nets
        }
    ),
    setting!("session.cookie_prefix", ["COOKIE_PREFIX"], false, |c, v| {
        if v.is_empty()
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(
                "expected letters, digits, - or _ (Better Auth's default is better-auth)".into(),
            );
        }
        c.session.cookie_prefix = v.to_owned()
    }),
    setting!(
        "session.secure_cookies",
        ["SECURE_COOKIES"],
        false,
        |c, v| { c.session.secure_cookies = parse_bool(v)? }
    ),
    setting!("session.cookie_cache", ["COOKIE_CACHE"], false, |c, v| {
        c.session.cookie_cache = crate::domain::cookie_cache::CookieCacheStrategy::parse(v).ok_or(
            "expected off, compact, jwt or jwe (Better Auth's session.cookieCache.strategy)",
        )?
    }),
    setting!(
        "session.cookie_cache_version",
        ["COOKIE_CACHE_VERSION"],
        false,
        |c, v| {
            if v.is_empty() {
                return Err(
                    "expected the app's cookieCache.version (Better Auth's default is 1)".into(),
                );
            }
            c.session.cookie_cache_version = v.to_owned()
        }
    ),
    setting!("session.password_hash", ["PASSWORD_HASH"], false, |c, v| {
        c.session.password_hash = match v.to_ascii_lowercase().as_str() {
            "scrypt" => HashAlgorithm::Scrypt,
            "argon2id" => HashAlgorithm::Argon2id,
            _ => return Err("expected scrypt or argon2id".into()),
        }
    }),
    setting!(
        "session_management.cleanup_interval_minutes",
        ["SESSION_CLEANUP_INTERVAL_MINUTES"],
        false,
        |c, v| { c.cleanup.interval_minutes = whole(v, 1u64, 525_600, "minutes")? }
    ),
    setting!(
        "session_management.cleanup_interval_seconds",
        ["SESSION_CLEANUP_INTERVAL_SECONDS"],
        false,
        |c, v| { c.cleanup.interval_seconds = Some(whole(v, 1u64, 31_536_000, "seconds")?) }
    ),
    setting!(
        "session_management.max_sessions_per_user",
        ["MAX_SESSIONS_PER_USER"],
        false,
        |c, v| {
            c.cleanup.policy.max_sessions_per_user =
                within(v, limits::MAX_SESSIONS_PER_USER, "sessions")?
        }
    ),
    setting!(
        "session_management.inactivity_timeout_days",
        ["SESSION_INACTIVITY_TIMEOUT_DAYS"],
        false,
        |c, v| { c.cleanup.policy.inactivity_days = within(v, limits::INACTIVITY_DAYS, "days")? }
    ),
    setting!(
        "session_management.inactivity_timeout_seconds",
        ["SESSION_INACTIVITY_TIMEOUT_SECONDS"],
        false,
        |c, v| {
            c.session.inactivity_seconds =
                Some(whole(v, 1u32, limits::TIMEOUT_SECONDS_MAX, "seconds")?)
        }
    ),
    setting!(
        "session_management.absolute_timeout_days",
        ["SESSION_ABSOLUTE_TIMEOUT_DAYS"],
        false,
        |c, v| { c.session.absolute_days = Some(within(v, limits::INACTIVITY_DAYS, "days")?) }
    ),
    setting!(
        "session_management.absolute_timeout_seconds",
        ["SESSION_ABSOLUTE_TIMEOUT_SECONDS"],
        false,
        |c, v| {
            c.session.absolute_seconds =
                Some(whole(v, 1u32, limits::TIMEOUT_SECONDS_MAX, "seconds")?)
        }
    ),
    setting!(
        "session_management.limit_strategy",
        ["SESSION_LIMIT_STRATEGY"],
        false,
        |c, v| {
            c.session.limit_strategy = match v {
                "evict-oldest" => crate::domain::policy::LimitStrategy::EvictOldest,
                "deny" => crate::domain::policy::LimitStrategy::Deny,
                _ => return Err("expected evict-oldest or deny".into()),
            }
        }
    ),
    setting!(
        "session_management.activity_tracking",
        ["SESSION_ACTIVITY_TRACKING"],
        false,
        |c, v| { c.session.activity_tracking = parse_bool(v)? }
    ),
    setting!(
        "session_management.activity_resolution_seconds",
        ["SESSION_ACTIVITY_RESOLUTION_SECONDS"],
        false,
        |c, v| { c.session.activity_resolution_seconds = whole(v, 1u32, 86_400, "seconds")? }
    ),
    setting!(
        "session_management.clean_expired_tokens",
        ["CLEAN_EXPIRED_TOKENS"],
        false,
        |c, v| { c.cleanup.policy.clean_expired_tokens = parse_bool(v)? }
    ),
    setting!(
        "session_management.clean_expired_verifications",
        ["CLEAN_EXPIRED_VERIFICATIONS"],
        false,
        |c, v| { c.cleanup.clean_expired_verifications = parse_bool(v)? }
    ),
    setting!(
        "session_management.clean_inactive_sessions",
        ["CLEAN_INACTIVE_SESSIONS"],
        false,
        |c, v| { c.cleanup.policy.clean_inactive_sessions = parse_bool(v)? }
    ),
    setting!(
        "session_management.enforce_session_limits",
        ["ENFORCE_SESSION_LIMITS"],
        false,
        |c, v| { c.cleanup.policy.enforce_session_limits = parse_bool(v)? }
    ),
    setting!(
        "session_management.enable_cleanup_logs",
        ["ENABLE_SESSION_CLEANUP_LOGS"],
        false,
        |c, v| { c.cleanup.logs = parse_bool(v)? }
    ),
    setting!(
        "session_management.automatic_cleanup",
        ["AUTOMATIC_SESSION_CLEANUP"],
        false,
        |c, v| { c.cleanup.automatic = parse_bool(v)? }
    ),
    setting!(
        "session_management.cleanup_on_startup",
        ["CLEANUP_ON_STARTUP"],
        false,
        |c, v| { c.cleanup.on_startup = parse_bool(v)? }
    ),
    setting!(
        "session_management.batch_size",
        ["SESSION_CLEANUP_BATCH_SIZE"],
        false,
        |c, v| { c.cleanup.batch_size = within(v, limits::CLEANUP_BATCH_SIZE, "rows")? }
    ),
    setting!(
        "session_management.batch_target_ms",
        ["SESSION_CLEANUP_BATCH_TARGET_MS"],
        false,
        |c, v| { c.cleanup.batch_target_ms = whole(v, 1u64, 10_000, "milliseconds")? }
    ),
    setting!(
        "session_management.batch_pause_ms",
        ["SESSION_CLEANUP_BATCH_PAUSE_MS"],
        false,
        |c, v| { c.cleanup.batch_pause_ms = whole(v, 0u64, 60_000, "milliseconds")? }
    ),
    setting!(
        "session_management.batch_pause_percent",
        ["SESSION_CLEANUP_BATCH_PAUSE_PERCENT"],
        false,
        |c, v| { c.cleanup.batch_pause_percent = whole(v, 0u32, 1000, "percent")? }
    ),
    setting!(
        "session_management.max_rows_per_second",
        ["SESSION_CLEANUP_MAX_ROWS_PER_SECOND"],
        false,
        |c, v| { c.cleanup.max_rows_per_second = whole(v, 0u32, 10_000_000, "rows per second")? }
    ),
    setting!(
        "session_management.jitter_percent",
        ["SESSION_CLEANUP_JITTER_PERCENT"],
        false,
        |c, v| { c.cleanup.jitter_percent = whole(v, 0u32, 50, "percent")? }
    ),
    setting!(
        "session_management.lease_seconds",
        ["SESSION_CLEANUP_LEASE_SECONDS"],
        false,
        |c, v| { c.cleanup.lease_seconds = whole(v, 2u64, 86_400, "seconds")? }
    ),
    setting!(
        "session_management.sample_size",
        ["SESSION_CLEANUP_SAMPLE_SIZE"],
        false,
        |c, v| { c.cleanup.sample_size = within(v, limits::CLEANUP_SAMPLE_SIZE, "sessions")? }
    ),
    setting!(
        "session_management.history_retention_days",
        ["SESSION_HISTORY_RETENTION_DAYS"],
        false,
        |c, v| { c.cleanup.history_retention_days = whole(v, 0u32, 36_500, "days")? }
    ),
    setting!("admin.api_token", ["ADMIN_API_TOKEN"], true, |c, v| {
        if v.len() < 16 {
            return Err(
                "expected at least 16 characters (unset it to turn the service token off)".into(),
            );
        }
        c.admin.api_token = Some(Secret::new(v))
    }),
    setting!(
        "admin.tenant_admin_role",
        ["TENANT_ADMIN_ROLE"],
        false,
        |c, v| {
            if v.is_empty() || v.contains(',') {
                return Err("expected one role name without commas".into());
            }
            c.admin.tenant_admin_role = v.to_owned()
        }
    ),
    setting!(
        "admin.stats_refresh_seconds",
        ["STATS_REFRESH_SECONDS"],
        false,
        |c, v| { c.admin.stats_refresh_seconds = whole(v, 1u64, 86_400, "seconds")? }
    ),
    setting!("admin.tenant_source", ["TENANT_SOURCE"], false, |c, v| {
        c.admin.tenant_source = match v.to_ascii_lowercase().as_str() {
            "user" => TenantSource::UserColumn,
            "organization" => TenantSource::ActiveOrganization,
            _ => return Err("expected user (the user's tenantId column) or organization (the session's activeOrganizationId)".into()),
        }
    }),
    setting!("ops.metrics_token", ["METRICS_TOKEN"], true, |c, v| {
        if v.len() < 16 {
            return Err("expected at least 16 characters (unset it to leave /metrics open)".into());
        }
        c.ops.metrics_token = Some(Secret::new(v))
    }),
    setting!(
        "ops.metrics_listen",
        ["METRICS_LISTEN_ADDR"],
        false,
        |c, v| {
            c.ops.metrics_listen = Some(
                v.parse()
                    .map_err(|_| "expected host:port, such as 127.0.0.1:9464".to_string())?,
            )
        }
    ),
    setting!(
        "ops.otlp_endpoint",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"],
        false,
        |c, v| {
            let url = url::Url::parse(v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or("expected an http:// or https:// URL such as http://127.0.0.1:4318")?;
            c.ops.otlp_endpoint = Some(url)
        }
    ),
    setting!(
        "ops.shutdown_timeout_seconds",
        ["SHUTDOWN_TIMEOUT_SECONDS"],
        false,
        |c, v| { c.ops.shutdown_timeout_seconds = whole(v, 0u64, 3600, "seconds")? }
    ),
    setting!("webhooks.urls", ["WEBHOOK_URLS"], false, |c, v| {
        let mut urls = Vec::new();
        for item in list(v) {
            let url = url::Url::parse(&item)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    format!("expected http:// or https:// URLs separated by commas, got {item:?}")
                })?;
            urls.push(url);
        }
        if urls.len() > crate::domain::limits::WEBHOOK_URLS {
            return Err(format!(
                "expected at most {} URLs",
                crate::domain::limits::WEBHOOK_URLS
            ));
        }
        c.webhooks.urls = urls
    }),
    setting!("webhooks.secret", ["WEBHOOK_SECRET"], true, |c, v| {
        let key = v
            .strip_prefix("whsec_")
            .ok_or("expected whsec_ followed by a base64 key (Standard Webhooks)")?;
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| "expected whsec_ followed by a base64 key (Standard Webhooks)")?;
        if bytes.len() < 24 {
            return Err("expected a key of at least 24 bytes after whsec_".into());
        }
        c.webhooks.secret = Some(Secret::new(v))
    }),
    setting!("webhooks.events", ["WEBHOOK_EVENTS"], false, |c, v| {
        let events = list(v);
        if let Some(bad) = events
            .iter()
            .find(|e| !WEBHOOK_EVENT_TYPES.contains(&e.as_str()))
        {
            return Err(format!(
                "expected event types among {}, got {bad:?}",
                WEBHOOK_EVENT_TYPES.join(", ")
            ));
        }
        c.webhooks.events = events
    }),
    setting!(
        "webhooks.max_attempts",
        ["WEBHOOK_MAX_ATTEMPTS"],
        false,
        |c, v| { c.webhooks.max_attempts = whole(v, 1u32, 50, "attempts")? }
    ),
    setting!(
        "webhooks.cleanup_session_events",
        ["WEBHOOK_CLEANUP_SESSION_EVENTS"],
        false,
        |c, v| { c.webhooks.cleanup_session_events = parse_bool(v)? }
    ),
    setting!(
        "webhooks.retry_base_seconds",
        ["WEBHOOK_RETRY_BASE_SECONDS"],
        false,
        |c, v| { c.webhooks.retry_base_seconds = whole(v, 1u64, 3600, "seconds")? }
    ),
    setting!("webhooks.poll_ms", ["WEBHOOK_POLL_MS"], false, |c, v| {
        c.webhooks.poll_ms = whole(v, 10u64, 60_000, "milliseconds")?
    }),
    setting!(
        "webhooks.lease_seconds",
        ["WEBHOOK_LEASE_SECONDS"],
        false,
        |c, v| { c.webhooks.lease_seconds = whole(v, 2u64, 3600, "seconds")? }
    ),
    setting!(
        "ops.header_timeout_seconds",
        ["HEADER_TIMEOUT_SECONDS"],
        false,
        |c, v| { c.ops.header_timeout_seconds = whole(v, 1u64, 30, "seconds")? }
    ),
    setting!(
        "ops.body_timeout_seconds",
        ["BODY_TIMEOUT_SECONDS"],
        false,
        |c, v| { c.ops.body_timeout_seconds = whole(v, 1u64, 300, "seconds")? }
    ),
    setting!(
        "ops.request_timeout_seconds",
        ["REQUEST_TIMEOUT_SECONDS"],
        false,
        |c, v| { c.ops.request_timeout_seconds = whole(v, 1u64, 3600, "seconds")? }
    ),
    setting!("ops.max_connections", ["MAX_CONNECTIONS"], false, |c, v| {
        c.ops.max_connections = whole(v, 1usize, 1_000_000, "connections")?
    }),
    setting!(
        "rate_limit.enabled",
        ["RATE_LIMIT_ENABLED"],
        false,
        |c, v| { c.rate_limit.enabled = parse_bool(v)? }
    ),
    setting!("rate_limit.window", ["RATE_LIMIT_WINDOW"], false, |c, v| {
        c.rate_limit.window = whole(v, 1u32, 86_400, "seconds")?
    }),
    setting!("rate_limit.max", ["RATE_LIMIT_MAX"], false, |c, v| {
        c.rate_limit.max = whole(v, 1u32, 1_000_000_000, "requests")?
    }),
    setting!(
        "rate_limit.storage",
        ["RATE_LIMIT_STORAGE"],
        false,
        |c, v| {
            c.rate_limit.storage = match v.to_ascii_lowercase().as_str() {
                "memory" => RateLimitStorage::Memory,
                "database" => RateLimitStorage::Database,
                "secondary" => RateLimitStorage::Secondary,
                _ => return Err("expected memory, database or secondary".into()),
            }
        }
    ),
    setting!(
        "rate_limit.memory_max_keys",
        ["RATE_LIMIT_MEMORY_MAX_KEYS"],
        false,
        |c, v| { c.rate_limit.memory_max_keys = whole(v, 16usize, 100_000_000, "keys")? }
    ),
    setting!("rate_limit.rules", ["RATE_LIMIT_RULES"], false, |c, v| {
        c.rate_limit.rules = super::rate_rules::parse(v)?
    }),
    setting!(
        "rate_limit.sign_in_max_failures",
        ["SIGN_IN_MAX_FAILURES_PER_ACCOUNT"],
        false,
        |c, v| {
            c.rate_limit.sign_in_max_failures =
                whole(v, 0u32, 1_000_000, "failed sign-ins (0 turns the lock off)")?
        }
    ),
    setting!(
        "rate_limit.sign_in_failure_window",
        ["SIGN_IN_FAILURE_WINDOW"],
        false,
        |c, v| { c.rate_limit.sign_in_failure_window = whole(v, 1u32, 86_400 * 30, "seconds")? }
    ),
    setting!("schema.use_plural", ["SCHEMA_USE_PLURAL"], false, |c, v| {
        c.schema.use_plural = parse_bool(v)?
    }),
    schema_name!("user", "table", "SCHEMA_USER_TABLE"),
    schema_name!("user", "id", "SCHEMA_USER_ID"),
    schema_name!("user", "name", "SCHEMA_USER_NAME"),
    schema_name!("user", "email", "SCHEMA_USER_EMAIL"),
    schema_name!("user", "email_verified", "SCHEMA_USER_EMAIL_VERIFIED"),
    schema_name!("user", "image", "SCHEMA_USER_IMAGE"),
    schema_name!("user", "created_at", "SCHEMA_USER_CREATED_AT"),
    schema_name!("user", "updated_at", "SCHEMA_USER_UPDATED_AT"),
    schema_name!("user", "role", "SCHEMA_USER_ROLE"),
    schema_name!("user", "banned", "SCHEMA_USER_BANNED"),
    schema_name!("user", "ban_reason", "SCHEMA_USER_BAN_REASON"),
    schema_name!("user", "ban_expires", "SCHEMA_USER_BAN_EXPIRES"),
    schema_name!("user", "tenant_id", "SCHEMA_USER_TENANT_ID"),
    schema_name!("session", "table", "SCHEMA_SESSION_TABLE"),
    schema_name!("session", "id", "SCHEMA_SESSION_ID"),
    schema_name!("session", "token", "SCHEMA_SESSION_TOKEN"),
    schema_name!("session", "expires_at", "SCHEMA_SESSION_EXPIRES_AT"),
    schema_name!("session", "created_at", "SCHEMA_SESSION_CREATED_AT"),
    schema_name!("session", "updated_at", "SCHEMA_SESSION_UPDATED_AT"),
    schema_name!("session", "ip_address", "SCHEMA_SESSION_IP_ADDRESS"),
    schema_name!("session", "user_agent", "SCHEMA_SESSION_USER_AGENT"),
    schema_name!("session", "user_id", "SCHEMA_SESSION_USER_ID"),
    schema_name!(
        "session",
        "impersonated_by",
        "SCHEMA_SESSION_IMPERSONATED_BY"
    ),
    schema_name!(
        "session",
        "active_organization_id",
        "SCHEMA_SESSION_ACTIVE_ORGANIZATION_ID"
    ),
    schema_name!("account", "table", "SCHEMA_ACCOUNT_TABLE"),
    schema_name!("account", "id", "SCHEMA_ACCOUNT_ID"),
    schema_name!("account", "account_id", "SCHEMA_ACCOUNT_ACCOUNT_ID"),
    schema_name!("account", "provider_id", "SCHEMA_ACCOUNT_PROVIDER_ID"),
    schema_name!("account", "user_id", "SCHEMA_ACCOUNT_USER_ID"),
    schema_name!("account", "password", "SCHEMA_ACCOUNT_PASSWORD"),
    schema_name!("account", "created_at", "SCHEMA_ACCOUNT_CREATED_AT"),
    schema_name!("account", "updated_at", "SCHEMA_ACCOUNT_UPDATED_AT"),
];
