use crate::domain::password::HashAlgorithm;
use crate::domain::policy::CleanupPolicy;
use ipnet::IpNet;
use std::net::SocketAddr;
use url::Url;

/// A value that must never reach a log: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// sessionkeeper owns the database and is the auth server.
    Owned,
    /// sessionkeeper manages the sessions of a database a Better Auth app owns.
    Shared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What sits between sessionkeeper and PostgreSQL (`DATABASE_POOLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooler {
    /// Direct connections (or a session-mode pooler): named prepared statements, cached per
    /// connection, and the time zone set once per connection.
    None,
    /// A transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy): consecutive transactions
    /// of one connection may reach different server connections, so nothing may outlive a
    /// transaction (see `store/postgres/pooler.rs`).
    Transaction,
}

/// Where a session's tenant comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// `user.tenantId`, added by our migration.
    UserColumn,
    /// `session.activeOrganizationId`, from Better Auth's organization plugin.
    ActiveOrganization,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// `None` until start-up generates a development secret.
    pub secret: Option<Secret>,
    pub base_url: Url,
    pub listen: SocketAddr,
    pub database_url: String,
    pub database_max_connections: u32,
    pub database_pooler: Pooler,
    /// PostgreSQL's `statement_timeout` (direct connections) and the client's own deadline on
    /// every statement of a request or cleanup batch; `0` turns both off.
    pub database_statement_timeout_seconds: u64,
    /// A direct (unpooled) URL of the same database, for migrations behind a pooler.
    pub database_direct_url: Option<String>,
    pub log_format: LogFormat,
    pub session: SessionConfig,
    pub cleanup: CleanupConfig,
    pub admin: AdminConfig,
    pub schema: SchemaMapping,
    pub ops: OpsConfig,
    pub rate_limit: RateLimitConfig,
    pub webhooks: WebhookConfig,
    pub secondary: SecondaryConfig,
}

/// Lifecycle events delivered as Standard Webhooks (README "Webhooks").
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Receivers; each gets every event. Empty: no events are written.
    pub urls: Vec<Url>,
    /// `whsec_` + base64 key that signs every delivery.
    pub secret: Option<Secret>,
    /// The event types sent (`WEBHOOK_EVENTS`); all four by default.
    pub events: Vec<String>,
    /// Deliveries of one event to one URL before it is left in the failed list.
    pub max_attempts: u32,
    /// Per-session `session.ended` events of cleanup runs (the run's own event is always sent).
    pub cleanup_session_events: bool,
    /// The first retry's delay; each later one doubles it (capped, with jitter).
    pub retry_base_seconds: u64,
    /// How often an idle worker looks for due events.
    pub poll_ms: u64,
    /// How long a claimed event is kept from other instances: after a crash between send and
    /// acknowledgement, it is sent again once this has passed.
    pub lease_seconds: u64,
}

/// The event types sessionkeeper writes.
pub const WEBHOOK_EVENT_TYPES: [&str; 4] = [
    "session.created",
    "session.ended",
    "session.new-device",
    "cleanup.run.finished",
];

impl WebhookConfig {
    /// How many receivers get events of `event_type` (0 when none, or the type is filtered out).
    pub fn endpoints_for(&self, event_type: &str) -> u32 {
        if self.events.iter().any(|e| e == event_type) {
            u32::try_from(self.urls.len()).unwrap_or(0)
        } else {
            0
        }
    }
}

/// Where the Better Auth app keeps its sessions (`SESSION_STORAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStorage {
    /// The `session` table only (no `secondaryStorage`).
    Database,
    /// Redis only (`secondaryStorage` without `storeSessionInDatabase`).
    Secondary,
    /// Redis and the `session` table (`storeSessionInDatabase: true`).
    Both,
}

/// Better Auth's secondary storage (Redis).
#[derive(Debug, Clone)]
pub struct SecondaryConfig {
    /// `redis://` or `rediss://`; may hold a password, so it is shown redacted.
    pub redis_url: Option<String>,
    /// `@better-auth/redis-storage`'s `keyPrefix`.
    pub prefix: String,
    pub session_storage: SessionStorage,
}

impl Default for SecondaryConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            prefix: "better-auth:".into(),
            session_storage: SessionStorage::Database,
        }
    }
}

/// Running it in production: metrics endpoint, traces, shutdown.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// Bearer token `/metrics` asks for; `None` leaves it open.
    pub metrics_token: Option<Secret>,
    /// Serve `/metrics` on this address instead of the main one.
    pub metrics_listen: Option<SocketAddr>,
    /// OTLP/HTTP collector for traces (only with the `otel` feature).
    pub otlp_endpoint: Option<Url>,
    /// Longest time in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// A connection must send a request's whole header within this (and an idle keep-alive
    /// connection its next one): slow and half-sent clients are closed.
    pub header_timeout_seconds: u64,
    /// A request body must arrive within this.
    pub body_timeout_seconds: u64,
    /// A request must be answered within this, or it gets 503 `REQUEST_TIMEOUT`.
    pub request_timeout_seconds: u64,
    /// Open HTTP connections at most; further ones are closed as soon as accepted. Lowered at
    /// start-up to what the file-descriptor limit leaves room for (with a warning).
    pub max_connections: usize,
}

/// Where rate-limit counters live (Better Auth's `rateLimit.storage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStorage {
    Memory,
    /// Better Auth's `rateLimit` table, shared by every instance and the Node app.
    Database,
    /// Redis (Better Auth's `secondary-storage`); refused until the limiter supports it.
    Secondary,
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// The global rule (Better Auth's `window` and `max`).
    pub window: u32,
    pub max: u32,
    pub storage: RateLimitStorage,
    /// Memory storage keeps at most this many keys.
    pub memory_max_keys: usize,
    /// `[[rate_limit.rules]]`: Better Auth's `customRules`.
    pub rules: Vec<crate::domain::rate_limit::PathRule>,
    /// Failed sign-ins for one e-mail (from any address) before it is locked; 0 turns it off.
    pub sign_in_max_failures: u32,
    /// Seconds the failures are counted over, and the lock lasts from the last counted one.
    pub sign_in_failure_window: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let d = crate::domain::rate_limit::DEFAULT_RULE;
        Self {
            enabled: true,
            window: d.window,
            max: d.max,
            storage: RateLimitStorage::Memory,
            memory_max_keys: 100_000,
            rules: Vec::new(),
            sign_in_max_failures: 10,
            sign_in_failure_window: 900,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Seconds a session lives after its last refresh.
    pub expires_in: i64,
    /// Seconds after which a session check slides the expiry.
    pub update_age: i64,
    /// Seconds after creation during which a session may list sessions; 0 turns the check off.
    pub fresh_age: i64,
    pub trusted_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub cookie_prefix: String,
    pub secure_cookies: bool,
    pub password_hash: HashAlgorithm,
    /// How the Better Auth app writes its `session_data` cookie cache; read by the library's
    /// validator only (the server itself never reads or writes that cookie).
    pub cookie_cache: crate::domain::cookie_cache::CookieCacheStrategy,
    /// The app's `cookieCache.version`; a cache written under another version is ignored.
    pub cookie_cache_version: String,
    /// `SESSION_INACTIVITY_TIMEOUT_SECONDS`: overrides the policy's inactivity days.
    pub inactivity_seconds: Option<u32>,
    /// `SESSION_ABSOLUTE_TIMEOUT_DAYS`; `absolute_seconds` overrides it. Both unset: off.
    pub absolute_days: Option<u32>,
    pub absolute_seconds: Option<u32>,
    pub limit_strategy: crate::domain::policy::LimitStrategy,
    /// Whether checks record last activity (flushed in batches every resolution period).
    pub activity_tracking: bool,
    pub activity_resolution_seconds: u32,
}

#[derive(Debug, Clone)]
pub struct CleanupConfig {
    /// `CLEAN_EXPIRED_VERIFICATIONS`: the `verifications` layer (unscoped runs only).
    pub clean_expired_verifications: bool,
    pub interval_minutes: u64,
    /// Overrides `interval_minutes` when set (for tests and short-lived demos).
    pub interval_seconds: Option<u64>,
    pub policy: CleanupPolicy,
    pub logs: bool,
    pub automatic: bool,
    pub on_startup: bool,
    /// Most rows one delete statement removes.
    pub batch_size: u32,
    /// PostgreSQL, expired and inactive layers: how long one statement should take; the block
    /// range it covers is sized toward it.
    pub batch_target_ms: u64,
    /// Fixed part of the pause after each batch.
    pub batch_pause_ms: u64,
    /// Proportional part of the pause: this share (percent) of the batch's own duration.
    pub batch_pause_percent: u32,
    /// Most rows a run removes per second on average (0: no cap); batches shrink to a tenth
    /// of a second's rows under it.
    pub max_rows_per_second: u32,
    pub jitter_percent: u32,
    pub lease_seconds: u64,
    pub sample_size: u32,
    /// Days termination records are kept (pruned by the cleanup); 0 writes none.
    pub history_retention_days: u32,
}

impl CleanupConfig {
    /// Whether ended sessions leave termination records.
    pub fn records(&self) -> bool {
        self.history_retention_days > 0
    }
}

impl CleanupConfig {
    /// The time between two scheduled runs, before jitter.
    pub fn interval(&self) -> std::time::Duration {
        let secs = self
            .interval_seconds
            .unwrap_or(self.interval_minutes.saturating_mul(60));
        std::time::Duration::from_secs(secs)
    }
}

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub api_token: Option<Secret>,
    pub tenant_admin_role: String,
    pub tenant_source: TenantSource,
    /// How often the admin statistics' snapshot is recounted in the background, and the
    /// oldest snapshot a request is answered from.
    pub stats_refresh_seconds: u64,
}

/// `[schema]`: the names an app gave Better Auth's tables and columns (its `modelName`,
/// `fields` and `usePlural` options). Only the names that were set are kept, keyed
/// `"<table>.<field>"` (`"session.user_id"`); every other name is Better Auth's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaMapping {
    /// Plural default table names (`users`, `sessions`, `accounts`), as Better Auth's adapter
    /// option `usePlural` gives.
    pub use_plural: bool,
    pub names: std::collections::BTreeMap<&'static str, String>,
}

impl SchemaMapping {
    pub fn is_default(&self) -> bool {
        !self.use_plural && self.names.is_empty()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Owned,
            secret: None,
            base_url: Url::parse("http://localhost:3001").unwrap_or_else(|_| unreachable!()),
            listen: SocketAddr::from(([127, 0, 0, 1], 3001)),
            database_url: "sqlite://sessionkeeper.db".into(),
            database_max_connections: 10,
            database_pooler: Pooler::None,
            database_statement_timeout_seconds: 30,
            database_direct_url: None,
            log_format: LogFormat::Text,
            session: SessionConfig {
                expires_in: 60 * 60 * 24 * 7,
                update_age: 60 * 60 * 24,
                fresh_age: 60 * 60 * 24,
                trusted_origins: Vec::new(),
                trusted_proxies: Vec::new(),
                cookie_prefix: "better-auth".into(),
                secure_cookies: false,
                password_hash: HashAlgorithm::Scrypt,
                cookie_cache: Default::default(),
                cookie_cache_version: "1".into(),
                inactivity_seconds: None,
                absolute_days: None,
                absolute_seconds: None,
                limit_strategy: Default::default(),
                activity_tracking: true,
                activity_resolution_seconds: 60,
            },
            cleanup: CleanupConfig {
                clean_expired_verifications: true,
                interval_minutes: 60,
                interval_seconds: None,
                policy: CleanupPolicy::default(),
                logs: true,
                automatic: true,
                on_startup: true,
                batch_size: 50_000,
                batch_target_ms: 50,
                batch_pause_ms: 0,
                batch_pause_percent: 10,
                max_rows_per_second: 0,
                jitter_percent: 10,
                lease_seconds: 60,
                sample_size: 20,
                history_retention_days: 90,
            },
            admin: AdminConfig {
                api_token: None,
                tenant_admin_role: "tenant-admin".into(),
                tenant_source: TenantSource::UserColumn,
                stats_refresh_seconds: 60,
            },
            schema: SchemaMapping::default(),
            ops: OpsConfig {
                metrics_token: None,
                metrics_listen: None,
                otlp_endpoint: None,
                shutdown_timeout_seconds: 25,
                header_timeout_seconds: 10,
                body_timeout_seconds: 10,
                request_timeout_seconds: 60,
                max_connections: 10_000,
            },
            rate_limit: RateLimitConfig::default(),
            webhooks: WebhookConfig {
                urls: Vec::new(),
                secret: None,
                events: WEBHOOK_EVENT_TYPES.map(String::from).to_vec(),
                max_attempts: 12,
                cleanup_session_events: true,
                retry_base_seconds: 30,
                poll_ms: 1000,
                lease_seconds: 60,
            },
            secondary: SecondaryConfig::default(),
        }
    }
}

impl Config {
    /// The origin of `BASE_URL`, always trusted.
    pub fn base_origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}

impl Config {
    /// The timeouts every session check enforces. The inactivity timeout is on with the
    /// inactive layer (`CLEAN_INACTIVE_SESSIONS`): one switch for the one policy.
    pub fn check_policy(&self) -> crate::domain::policy::CheckPolicy {
        let s = &self.session;
        let p = &self.cleanup.policy;
        let inactivity = s
            .inactivity_seconds
            .map(i64::from)
            .unwrap_or(i64::from(p.inactivity_days) * 86_400);
        crate::domain::policy::CheckPolicy {
            inactivity_seconds: p.clean_inactive_sessions.then_some(inactivity),
            absolute_seconds: s
                .absolute_seconds
                .map(i64::from)
                .or(s.absolute_days.map(|d| i64::from(d) * 86_400)),
        }
    }
}
