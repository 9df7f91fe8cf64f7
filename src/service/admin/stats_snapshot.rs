//! The statistics are answered from a snapshot, not a scan per request.
//!
//! A scope's counts (every tenant, or one) are stored in `sessionkeeper_stats_snapshot`, shared
//! by every instance. A request gets the stored counts while they are at most
//! `STATS_REFRESH_SECONDS` old and no deletion the statistics must show has happened since (an
//! epoch, see `store/stats_snapshot.rs`); otherwise it recounts. One instance (the holder of the
//! `stats-refresh` lease) recounts the every-tenant snapshot in the background once a period
//! while it is kept, so that readers of the dashboard's first screen never wait. `?fresh=true`
//! recounts at once. Recounts go through one [`RecountGate`] per process.
//!
//! The refresh's cost: one count of the whole table per period across all instances (the
//! per-tenant snapshots are recounted only when read, at most once per period and tenant), so
//! its share of the database is the count's duration divided by the period
//! (`sessionkeeper_stats_recount_duration_seconds`; bench/scale measures it by table size).

use super::recount_gate::RecountGate;
use super::types::{SessionStats, StatsParams};
use super::{Actor, AdminService};
use crate::domain::Scope;
use crate::metrics as m;
use crate::service::Result;
use crate::store::cleanup::LeaseOutcome;
use crate::store::stats_snapshot::StoredStats;
use std::time::Instant;
use time::{Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;

/// The lease row's name in `sessionkeeper_lease`: one background refresher among instances.
pub const STATS_LEASE: &str = "stats-refresh";

/// What a recount was for (the metric's `trigger` label).
#[derive(Debug, Clone, Copy)]
enum Trigger {
    Refresh,
    Stale,
    Fresh,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Refresh => "refresh",
            Trigger::Stale => "stale",
            Trigger::Fresh => "fresh",
        }
    }
}

fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::All => "all".into(),
        Scope::Tenant(t) => format!("tenant:{t}"),
    }
}

/// One recount's result and the epoch it began in.
pub(crate) type Counted = (i64, SessionStats);

pub(crate) fn gate() -> RecountGate<Counted> {
    RecountGate::new()
}

impl AdminService {
    fn stats_period(&self) -> Duration {
        let secs = self.core.config().admin.stats_refresh_seconds;
        Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// The statistics for every tenant or one: the snapshot when young enough, else a recount.
    /// With `fresh`, a recount now (a tenant admin's is of their own tenant).
    pub async fn session_stats(&self, actor: &Actor, p: StatsParams) -> Result<SessionStats> {
        let scope = actor.narrow(p.tenant_id.as_deref())?;
        let key = scope_key(&scope);
        let fresh = p.fresh == Some(true);
        if !fresh && let Some(stats) = self.stored_stats(&key, self.core.now()).await? {
            return Ok(SessionStats {
                generated_at: self.core.now(),
                ..stats
            });
        }
        let trigger = if fresh {
            Trigger::Fresh
        } else {
            Trigger::Stale
        };
        let mut stats = self.recount(&scope, &key, trigger).await?;
        stats.generated_at = self.core.now().max(stats.as_of);
        Ok(stats)
    }

    /// `key`'s stored counts when taken in the current epoch and at most a period before `now`.
    async fn stored_stats(&self, key: &str, now: OffsetDateTime) -> Result<Option<SessionStats>> {
        let Some(stored) = self.core.store().read_stats(key).await? else {
            return Ok(None);
        };
        let age = now - stored.as_of;
        // A snapshot from the future (clocks of instances apart) is no better than an old one.
        if age > self.stats_period() || age < -self.stats_period() {
            return Ok(None);
        }
        match serde_json::from_str::<SessionStats>(&stored.body) {
            Ok(stats) => Ok(Some(stats)),
            Err(e) => {
                // Written by another version: counted again and overwritten.
                tracing::debug!(error = %e, "unreadable statistics snapshot");
                Ok(None)
            }
        }
    }

    /// A count begun after this call or in progress at it, stored for the other instances.
    /// When a deletion raised the epoch after the count it joined began, it counts once more.
    async fn recount(&self, scope: &Scope, key: &str, trigger: Trigger) -> Result<SessionStats> {
        let store = self.core.store();
        let (epoch, stats) = self.recount_once(scope, key, trigger).await?;
        if store.stats_epoch().await? == epoch {
            return Ok(stats);
        }
        Ok(self.recount_once(scope, key, trigger).await?.1)
    }

    async fn recount_once(&self, scope: &Scope, key: &str, trigger: Trigger) -> Result<Counted> {
        self.recounts
            .run(key, || async {
                let store = self.core.store();
                let epoch = store.stats_epoch().await?;
                let timer = Instant::now();
                let stats = self.count_stats(scope).await?;
                metrics::histogram!(m::STATS_RECOUNT_DURATION, "trigger" => trigger.as_str())
                    .record(timer.elapsed().as_secs_f64());
                match serde_json::to_string(&stats) {
                    Ok(body) => {
                        let stored = StoredStats {
                            as_of: stats.as_of,
                            body,
                        };
                        // Serving the count matters more than sharing it.
                        if let Err(e) = store.write_stats(key, epoch, &stored).await {
                            tracing::warn!(error = %e, "cannot store the statistics snapshot");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot encode the statistics snapshot"),
                }
                Ok((epoch, stats))
            })
            .await
    }

    /// Marks every stored count stale, after a deletion the statistics must show at once.
    /// A failure is logged: the snapshot then ages out within a period.
    pub(crate) async fn stats_changed(&self) {
        if let Err(e) = self.core.store().invalidate_stats().await {
            tracing::warn!(error = %e, "cannot mark the statistics snapshot stale");
        }
    }

    /// One tick of the background refresh, as `holder`: when the every-tenant snapshot is kept
    /// (read since the last deletion) and at least half a period old, and this holder has or
    /// gets the `stats-refresh` lease (held for two periods, renewed by each recount), recounts
    /// it. True when it recounted. Nobody reading the statistics costs one read per tick.
    pub async fn refresh_stats_once(&self, holder: &str) -> Result<bool> {
        let store = self.core.store();
        let now = self.core.now();
        let Some(stored) = store.read_stats("all").await? else {
            return Ok(false);
        };
        if now - stored.as_of < self.stats_period() / 2 {
            return Ok(false);
        }
        let ttl = self
            .core
            .config()
            .admin
            .stats_refresh_seconds
            .saturating_mul(2);
        match store
            .acquire_lease(STATS_LEASE, holder, STATS_LEASE, ttl, now)
            .await?
        {
            LeaseOutcome::Acquired => {}
            LeaseOutcome::HeldBy { .. } => return Ok(false),
        }
        self.recount(&Scope::All, "all", Trigger::Refresh).await?;
        Ok(true)
    }

    /// The background refresh: a tick every `STATS_REFRESH_SECONDS` until `stop`, then the
    /// lease is given up so that another instance takes over at once.
    pub async fn run_stats_refresher(&self, stop: CancellationToken) {
        let period = std::time::Duration::from_secs(self.core.config().admin.stats_refresh_seconds);
        let holder = self.cleanup.instance_id().to_owned();
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                () = tokio::time::sleep(period) => {}
            }
            if let Err(e) = self.refresh_stats_once(&holder).await {
                tracing::warn!(error = %e, "the statistics refresh failed");
            }
        }
        if let Err(e) = self.core.store().release_lease(STATS_LEASE, &holder).await {
            tracing::debug!(error = %e, "cannot give up the statistics lease");
        }
    }
}
