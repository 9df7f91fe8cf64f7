//! Rate limiting as Better Auth does it (docs/better-auth-compat.md §4.6): per client address
//! and path, its default and special rules, `[[rate_limit.rules]]` on top, counted in memory
//! or in Better Auth's `rateLimit` table. Also the per-account lock on failed sign-ins, kept
//! in the same counters under `sign-in-failures|<email>` keys.

mod memory;

pub use memory::MemoryCounters;

use crate::config::{RateLimitConfig, RateLimitStorage};
use crate::domain::Clock;
use crate::domain::rate_limit::{self, Counter, PathRule, Rule, Step};
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

enum Counters {
    Memory(MemoryCounters),
    Database(Arc<dyn Store>),
}

/// The prefix of the per-account keys; no client address starts with it.
const ACCOUNT_PREFIX: &str = "sign-in-failures|";

/// A locked account, for the admin API.
#[derive(Debug, Clone)]
pub struct AccountLock {
    pub email: String,
    pub failures: u32,
    /// Milliseconds since the epoch of the last counted failure.
    pub last_failure_ms: i64,
    pub locked_until_ms: i64,
}

pub struct RateLimiter {
    enabled: bool,
    default: Rule,
    rules: Vec<PathRule>,
    account: Option<Rule>,
    counters: Counters,
    clock: Arc<dyn Clock>,
    /// Database storage: rows idle for longer than the longest window are deleted, at most
    /// once a minute per instance.
    longest_window: u32,
    last_prune_ms: AtomicI64,
}

impl RateLimiter {
    pub fn new(cfg: &RateLimitConfig, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let counters = match cfg.storage {
            RateLimitStorage::Database => Counters::Database(store),
            // Secondary storage is refused at start-up; memory is the safe reading.
            RateLimitStorage::Memory | RateLimitStorage::Secondary => {
                Counters::Memory(MemoryCounters::new(cfg.memory_max_keys))
            }
        };
        let account = (cfg.sign_in_max_failures > 0).then_some(Rule {
            window: cfg.sign_in_failure_window,
            max: cfg.sign_in_max_failures,
        });
        let longest_window = cfg
            .rules
            .iter()
            .map(|r| r.rule.window)
            .chain([cfg.window, 60, account.map_or(0, |r| r.window)])
            .max()
            .unwrap_or(60);
        Self {
            enabled: cfg.enabled,
            default: Rule {
                window: cfg.window,
                max: cfg.max,
            },
            rules: cfg.rules.clone(),
            account,
            counters,
            clock,
            longest_window,
            last_prune_ms: AtomicI64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn now_ms(&self) -> i64 {
        let nanos = self.clock.now().unix_timestamp_nanos() / 1_000_000;
        i64::try_from(nanos).unwrap_or(i64::MAX)
    }

    /// Counts a request from `ip` (normalised; `None` when unknown) to `path` (below
    /// `/api/auth`). `Some(seconds)` when it must be refused with that `X-Retry-After`. A
    /// failing database lets the request through: the limiter must not take the service down.
    pub async fn check(&self, ip: Option<&str>, path: &str) -> Option<u64> {
        let rule = rate_limit::rule_for(path, self.default, &self.rules);
        let key = rate_limit::key(ip.unwrap_or(rate_limit::NO_TRUSTED_IP), path);
        match self.consume(&key, rule).await {
            Ok(Step::Refuse { retry_after }) => {
                metrics::counter!("sessionkeeper_rate_limited_total").increment(1);
                Some(retry_after)
            }
            Ok(Step::Allow(_)) => None,
            Err(e) => {
                tracing::warn!(error = %e, "rate limit storage failed; request let through");
                None
            }
        }
    }

    async fn consume(&self, key: &str, rule: Rule) -> Result<Step, StoreError> {
        let now = self.now_ms();
        match &self.counters {
            Counters::Memory(m) => Ok(m.consume(key, rule, now)),
            Counters::Database(store) => {
                let step = store.consume_rate_limit(key, rule, now).await?;
                self.maybe_prune(store, now);
                Ok(step)
            }
        }
    }

    fn maybe_prune(&self, store: &Arc<dyn Store>, now: i64) {
        let last = self.last_prune_ms.load(Ordering::Relaxed);
        if now - last < 60_000
            || self
                .last_prune_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = store.clone();
        let before = now - i64::from(self.longest_window) * 1000;
        tokio::spawn(async move {
            if let Err(e) = store.prune_rate_limits(before).await {
                tracing::warn!(error = %e, "pruning rate limit rows failed");
            }
        });
    }

    fn account_key(email: &str) -> String {
        format!("{ACCOUNT_PREFIX}{email}")
    }

    async fn read(&self, key: &str) -> Result<Option<Counter>, StoreError> {
        match &self.counters {
            Counters::Memory(m) => Ok(m.read(key, self.now_ms())),
            Counters::Database(store) => store.read_rate_limit(key).await,
        }
    }

    /// Whether `email` (normalised) has used up its failed sign-ins.
    pub async fn account_locked(&self, email: &str) -> bool {
        let Some(rule) = self.account else {
            return false;
        };
        match self.read(&Self::account_key(email)).await {
            Ok(Some(c)) => {
                c.count >= rule.max
                    && self.now_ms() - c.last_request < i64::from(rule.window) * 1000
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "reading a sign-in lock failed; treated as unlocked");
                false
            }
        }
    }

    /// Counts a failed sign-in for `email`, whether or not such a user exists (so a lock says
    /// nothing about existence).
    pub async fn record_failure(&self, email: &str) {
        let Some(rule) = self.account else { return };
        if let Err(e) = self.consume(&Self::account_key(email), rule).await {
            tracing::warn!(error = %e, "counting a failed sign-in failed");
        }
    }

    /// Forgets the failures of `email`; true when there were any.
    pub async fn clear_account(&self, email: &str) -> Result<bool, StoreError> {
        let key = Self::account_key(email);
        match &self.counters {
            Counters::Memory(m) => Ok(m.delete(&key)),
            Counters::Database(store) => store.delete_rate_limit(&key).await,
        }
    }

    /// Accounts locked now, by e-mail, at most `limit`.
    pub async fn account_locks(&self, limit: u32) -> Result<Vec<AccountLock>, StoreError> {
        let Some(rule) = self.account else {
            return Ok(Vec::new());
        };
        let now = self.now_ms();
        let window_ms = i64::from(rule.window) * 1000;
        let since = now - window_ms + 1;
        // Rows below the threshold are not locks; read generously, then filter.
        let rows = match &self.counters {
            Counters::Memory(m) => m.list(ACCOUNT_PREFIX, now, usize::MAX),
            Counters::Database(store) => {
                store
                    .list_rate_limits(ACCOUNT_PREFIX, since, u32::MAX / 2)
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .filter(|(_, c)| c.count >= rule.max && now - c.last_request < window_ms)
            .take(limit as usize)
            .map(|(key, c)| AccountLock {
                email: key[ACCOUNT_PREFIX.len()..].to_owned(),
                failures: c.count,
                last_failure_ms: c.last_request,
                locked_until_ms: c.last_request + window_ms,
            })
            .collect())
    }

    /// Keys held by memory storage (0 with database storage).
    pub fn memory_keys(&self) -> usize {
        match &self.counters {
            Counters::Memory(m) => m.len(),
            Counters::Database(_) => 0,
        }
    }
}
