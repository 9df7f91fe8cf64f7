//! The effective value of each setting as text, for `sessionkeeper config check`. Secrets are
//! never shown: only whether they are set.

use super::settings::Setting;
use super::{Config, LogFormat, Mode, SessionStorage, TenantSource};
use crate::domain::password::HashAlgorithm;

/// The value `setting` has in `cfg`, as an operator would write it.
pub fn shown_value(cfg: &Config, setting: &Setting) -> String {
    if setting.secret {
        let set = match setting.key {
            "secret" => cfg.secret.is_some(),
            "admin.api_token" => cfg.admin.api_token.is_some(),
            "ops.metrics_token" => cfg.ops.metrics_token.is_some(),
            _ => return "<hidden>".into(),
        };
        return if set { "<hidden>" } else { "(unset)" }.into();
    }
    if let Some(name) = setting.key.strip_prefix("schema.")
        && name != "use_plural"
    {
        return cfg
            .schema
            .names
            .get(name)
            .cloned()
            .unwrap_or_else(|| "(Better Auth's name)".into());
    }
    value(cfg, setting.key).unwrap_or_else(|| "(see README)".into())
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "(unset)".to_owned(), T::to_string)
}

fn value(cfg: &Config, key: &str) -> Option<String> {
    let s = &cfg.session;
    let c = &cfg.cleanup;
    let p = &c.policy;
    let w = &cfg.webhooks;
    Some(match key {
        "mode" => match cfg.mode {
            Mode::Owned => "owned".into(),
            Mode::Shared => "shared".into(),
        },
        "base_url" => cfg.base_url.to_string(),
        "listen" => cfg.listen.to_string(),
        "database_url" => redact_url(&cfg.database_url),
        "secondary.redis_url" => cfg
            .secondary
            .redis_url
            .as_deref()
            .map_or_else(|| "(unset)".to_owned(), redact_url),
        "secondary.prefix" => cfg.secondary.prefix.clone(),
        "secondary.session_storage" => match cfg.secondary.session_storage {
            SessionStorage::Database => "database".into(),
            SessionStorage::Secondary => "secondary".into(),
            SessionStorage::Both => "both".into(),
        },
        "database_max_connections" => cfg.database_max_connections.to_string(),
        "database_statement_timeout_seconds" => cfg.database_statement_timeout_seconds.to_string(),
        "log_format" => match cfg.log_format {
            LogFormat::Text => "text".into(),
            LogFormat::Json => "json".into(),
        },
        "session.expires_in" => s.expires_in.to_string(),
        "session.update_age" => s.update_age.to_string(),
        "session.fresh_age" => s.fresh_age.to_string(),
        "session.trusted_origins" => s.trusted_origins.join(","),
        "session.trusted_proxies" => s
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        "session.cookie_prefix" => s.cookie_prefix.clone(),
        "session.secure_cookies" => s.secure_cookies.to_string(),
        "session.password_hash" => match s.password_hash {
            HashAlgorithm::Scrypt => "scrypt".into(),
            HashAlgorithm::Argon2id => "argon2id".into(),
        },
        "session_management.cleanup_interval_minutes" => c.interval_minutes.to_string(),
        "session_management.cleanup_interval_seconds" => opt(&c.interval_seconds),
        "session_management.max_sessions_per_user" => p.max_sessions_per_user.to_string(),
        "session_management.inactivity_timeout_days" => p.inactivity_days.to_string(),
        "session_management.inactivity_timeout_seconds" => opt(&s.inactivity_seconds),
        "session_management.absolute_timeout_days" => opt(&s.absolute_days),
        "session_management.absolute_timeout_seconds" => opt(&s.absolute_seconds),
        "session_management.limit_strategy" => match s.limit_strategy {
            crate::domain::policy::LimitStrategy::EvictOldest => "evict-oldest".into(),
            crate::domain::policy::LimitStrategy::Deny => "deny".into(),
        },
        "session_management.activity_tracking" => s.activity_tracking.to_string(),
        "session_management.activity_resolution_seconds" => {
            s.activity_resolution_seconds.to_string()
        }
        "session_management.clean_expired_tokens" => p.clean_expired_tokens.to_string(),
        "session_management.clean_expired_verifications" => {
            c.clean_expired_verifications.to_string()
        }
        "session_management.clean_inactive_sessions" => p.clean_inactive_sessions.to_string(),
        "session_management.enforce_session_limits" => p.enforce_session_limits.to_string(),
        "session_management.enable_cleanup_logs" => c.logs.to_string(),
        "session_management.automatic_cleanup" => c.automatic.to_string(),
        "session_management.cleanup_on_startup" => c.on_startup.to_string(),
        "session_management.batch_size" => c.batch_size.to_string(),
        "session_management.batch_target_ms" => c.batch_target_ms.to_string(),
        "session_management.batch_pause_ms" => c.batch_pause_ms.to_string(),
        "session_management.batch_pause_percent" => c.batch_pause_percent.to_string(),
        "session_management.max_rows_per_second" => c.max_rows_per_second.to_string(),
        "session_management.jitter_percent" => c.jitter_percent.to_string(),
        "session_management.lease_seconds" => c.lease_seconds.to_string(),
        "session_management.sample_size" => c.sample_size.to_string(),
        "session_management.history_retention_days" => c.history_retention_days.to_string(),
        "admin.tenant_admin_role" => cfg.admin.tenant_admin_role.clone(),
        "admin.stats_refresh_seconds" => cfg.admin.stats_refresh_seconds.to_string(),
        "admin.tenant_source" => match cfg.admin.tenant_source {
            TenantSource::UserColumn => "user".into(),
            TenantSource::ActiveOrganization => "organization".into(),
        },
        "ops.metrics_listen" => opt(&cfg.ops.metrics_listen),
        "ops.otlp_endpoint" => opt(&cfg.ops.otlp_endpoint),
        "ops.shutdown_timeout_seconds" => cfg.ops.shutdown_timeout_seconds.to_string(),
        "ops.header_timeout_seconds" => cfg.ops.header_timeout_seconds.to_string(),
        "ops.body_timeout_seconds" => cfg.ops.body_timeout_seconds.to_string(),
        "ops.request_timeout_seconds" => cfg.ops.request_timeout_seconds.to_string(),
        "ops.max_connections" => cfg.ops.max_connections.to_string(),
        "schema.use_plural" => cfg.schema.use_plural.to_string(),
        "webhooks.urls" => w
            .urls
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        "webhooks.events" => w.events.join(","),
        "webhooks.max_attempts" => w.max_attempts.to_string(),
        "webhooks.cleanup_session_events" => w.cleanup_session_events.to_string(),
        "webhooks.retry_base_seconds" => w.retry_base_seconds.to_string(),
        "webhooks.poll_ms" => w.poll_ms.to_string(),
        "webhooks.lease_seconds" => w.lease_seconds.to_string(),
        _ => return None,
    })
}

/// A database URL without its password (`postgres://user:***@host/db`).
fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}
