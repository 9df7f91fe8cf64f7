//! Layered configuration: defaults < TOML file < environment < command-line flags.
//!
//! Every setting is parsed from text by one function whichever layer it comes from, so a bad
//! value always gets the same message naming the setting, the value and what is allowed.
//! (figment layers values too, but its errors name neither the environment variable nor the
//! allowed values, and it has no yes/no booleans.)

mod rate_rules;
mod settings;
mod show;
mod types;

pub use settings::{ALL as SETTINGS, Setting};
pub use show::shown_value;
pub use types::*;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the layers come from. `env` is passed in rather than read here so tests can set it.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub file: Option<PathBuf>,
    pub env: HashMap<String, String>,
    /// `(toml key, value)` pairs from command-line flags, applied last.
    pub overrides: Vec<(String, String)>,
}

impl Sources {
    pub fn from_process_env(file: Option<PathBuf>) -> Self {
        Self {
            file,
            env: std::env::vars().collect(),
            overrides: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {origin}: {problem}")]
    Invalid { origin: String, problem: String },
    #[error("cannot read config file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error("unknown setting `{key}` in {path}; see the configuration table in the README")]
    UnknownKey { key: String, path: String },
    #[error("{0}")]
    Conflict(String),
}

/// Default cleanup batch size on SQLite (PostgreSQL's is in `types.rs`).
pub const SQLITE_DEFAULT_BATCH_SIZE: u32 = 5_000;

/// Which layer a setting's effective value came from (`sessionkeeper config check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::Default => f.write_str("default"),
            Layer::File(path) => write!(f, "file {}", path.display()),
            Layer::Env(name) => write!(f, "env {name}"),
            Layer::Flag => f.write_str("flag"),
        }
    }
}

impl Config {
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        Self::load_traced(sources).map(|(cfg, _)| cfg)
    }

    /// [`Config::load`], also telling for each setting set by a layer which layer won (every
    /// other setting has its default).
    pub fn load_traced(
        sources: &Sources,
    ) -> Result<(Config, HashMap<&'static str, Layer>), ConfigError> {
        let mut cfg = Config::default();
        let mut seen = HashMap::new();
        if let Some(path) = &sources.file {
            for (key, value) in read_toml(path)? {
                let setting = settings::by_key(&key).ok_or_else(|| ConfigError::UnknownKey {
                    key: key.clone(),
                    path: path.display().to_string(),
                })?;
                settings::apply(&mut cfg, setting, &value, || {
                    format!("setting `{key}` in {}", path.display())
                })?;
                seen.insert(setting.key, Layer::File(path.clone()));
            }
        }
        for setting in settings::ALL {
            for env in setting.env {
                if let Some(value) = sources.env.get(*env) {
                    settings::apply(&mut cfg, setting, value, || {
                        format!("environment variable {env}")
                    })?;
                    seen.insert(setting.key, Layer::Env(env));
                    break;
                }
            }
        }
        for (key, value) in &sources.overrides {
            let setting = settings::by_key(key).ok_or_else(|| ConfigError::UnknownKey {
                key: key.clone(),
                path: "command-line flags".into(),
            })?;
            settings::apply(&mut cfg, setting, value, || format!("flag for `{key}`"))?;
            seen.insert(setting.key, Layer::Flag);
        }
        cfg.finish(&seen.keys().copied().collect())?;
        Ok((cfg, seen))
    }

    /// Cross-setting rules and derived values, once every layer is in.
    fn finish(&mut self, seen: &std::collections::HashSet<&str>) -> Result<(), ConfigError> {
        if !seen.contains("listen") {
            let port = self.base_url.port_or_known_default().unwrap_or(3001);
            self.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        }
        // SQLite has one write lock: a 50,000-row batch would hold sign-ins back for a while,
        // so the embedded store gets smaller batches unless the operator chose a size.
        if !seen.contains("session_management.batch_size") && !self.is_postgres() {
            self.cleanup.batch_size = SQLITE_DEFAULT_BATCH_SIZE;
        }
        // The cleanup's `absolute` layer sweeps by the timeout the checks enforce.
        self.cleanup.policy.absolute_timeout_seconds = self.check_policy().absolute_seconds;
        // ...and its `inactive` layer by the idle timeout they enforce.
        self.cleanup.policy.inactivity_seconds = self.session.inactivity_seconds.map(i64::from);
        if !seen.contains("session.secure_cookies") {
            self.session.secure_cookies = self.base_url.scheme() == "https";
        }
        if self.secret.is_none() && self.base_url.scheme() == "https" {
            return Err(ConfigError::Conflict(format!(
                "BETTER_AUTH_SECRET is not set but BASE_URL is {}: an https deployment needs a fixed secret (32+ random characters)",
                self.base_url
            )));
        }
        if let Some(secret) = &self.secret
            && self.base_url.scheme() == "https"
            && secret.expose().chars().count() < MIN_SECRET_LEN
        {
            return Err(ConfigError::Conflict(format!(
                "BETTER_AUTH_SECRET is {} characters long but BASE_URL is {}: an https deployment needs a secret of at least {MIN_SECRET_LEN} random characters (openssl rand -base64 32)",
                secret.expose().chars().count(),
                self.base_url
            )));
        }
        if self.mode == Mode::Shared
            && self.session.password_hash != crate::domain::password::HashAlgorithm::Scrypt
        {
            return Err(ConfigError::Conflict(
                "PASSWORD_HASH must be scrypt in shared mode: the Node app can only verify Better Auth's scrypt format".into(),
            ));
        }
        if self.mode == Mode::Owned && !self.schema.is_default() {
            let first = seen
                .iter()
                .copied()
                .filter(|k| k.starts_with("schema."))
                .min()
                .unwrap_or("schema");
            return Err(ConfigError::Conflict(format!(
                "{first} is set but SESSIONKEEPER_MODE is owned: the [schema] mapping names the tables of an existing Better Auth app (shared mode); owned mode creates Better Auth's default names"
            )));
        }
        if self.database_pooler == Pooler::Transaction && !self.is_postgres() {
            return Err(ConfigError::Conflict(
                "DATABASE_POOLER is transaction but DATABASE_URL is not a postgres:// URL: the pooler setting is for PostgreSQL behind PgBouncer, Supavisor or RDS Proxy".into(),
            ));
        }
        self.check_secondary()?;
        if self.rate_limit.storage == RateLimitStorage::Secondary {
            return Err(ConfigError::Conflict(
                "RATE_LIMIT_STORAGE is secondary, but the rate limiter's secondary-storage support is not built yet (Redis serves sessions only, SESSION_STORAGE=both); use memory or database".into(),
            ));
        }
        if !self.webhooks.urls.is_empty() && self.webhooks.secret.is_none() {
            return Err(ConfigError::Conflict(
                "WEBHOOK_URLS is set but WEBHOOK_SECRET is not: every delivery is signed (a whsec_ key, Standard Webhooks)".into(),
            ));
        }
        if self.session.update_age > self.session.expires_in {
            return Err(ConfigError::Conflict(format!(
                "SESSION_UPDATE_AGE ({}) is larger than SESSION_EXPIRES_IN ({}): sessions would never slide",
                self.session.update_age, self.session.expires_in
            )));
        }
        Ok(())
    }
}

/// The shortest `BETTER_AUTH_SECRET` an https deployment accepts (Better Auth recommends 32
/// random characters and warns below that in production).
pub const MIN_SECRET_LEN: usize = 32;
impl Config {
    /// `SESSION_STORAGE` and `REDIS_URL` must agree: Redis is used exactly when the app keeps
    /// its sessions there (shared mode) or caches them there (owned mode, always `both`).
    fn check_secondary(&self) -> Result<(), ConfigError> {
        let sec = &self.secondary;
        match (sec.session_storage, &sec.redis_url) {
            (SessionStorage::Database, Some(_)) => Err(ConfigError::Conflict(
                "REDIS_URL is set but SESSION_STORAGE is database: set SESSION_STORAGE=both when the Better Auth app has secondaryStorage with storeSessionInDatabase, or unset REDIS_URL".into(),
            )),
            (SessionStorage::Database, None) => Ok(()),
            (s, None) => Err(ConfigError::Conflict(format!(
                "SESSION_STORAGE is {} but REDIS_URL is not set: the sessions in Redis need its URL (redis://HOST:PORT)",
                if s == SessionStorage::Both { "both" } else { "secondary" }
            ))),
            (SessionStorage::Secondary, Some(_)) if self.mode == Mode::Owned => {
                Err(ConfigError::Conflict(
                    "SESSION_STORAGE is secondary but SESSIONKEEPER_MODE is owned: owned mode keeps every session in its database and uses Redis as a cache in front of it; use SESSION_STORAGE=both".into(),
                ))
            }
            (SessionStorage::Secondary | SessionStorage::Both, Some(_)) => Ok(()),
        }
    }
}

/// Flattens a TOML file into `(dotted key, text value)` pairs; arrays become comma lists.
fn read_toml(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
        path: path.display().to_string(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Toml {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    flatten("", &table, &mut out);
    Ok(out)
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => out.push((key, s.clone())),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                out.push((
                    key,
                    items.iter().map(table_entry).collect::<Vec<_>>().join(","),
                ));
            }
            toml::Value::Array(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                out.push((key, parts.join(",")));
            }
            other => out.push((key, other.to_string())),
        }
    }
}

/// One table of an array of tables (`[[rate_limit.rules]]`) as `k=v;k=v`, the form its
/// setting parses, so the file and the environment share one parser and one message.
fn table_entry(item: &toml::Value) -> String {
    let Some(t) = item.as_table() else {
        return String::new();
    };
    t.iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests;
