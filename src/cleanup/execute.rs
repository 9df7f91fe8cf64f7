//! One run: take the lease, delete layer by layer in bounded batches (renewing the lease and
//! pausing between them), or for a dry run only count and sample; then record and report.

use super::pacing::{self, RangeSizer};
use super::{CleanupError, CleanupService, LEASE_NAME};
use crate::domain::cleanup_plan::{Layer, inactive_cutoff};
use crate::domain::clock::truncate_ms;
use crate::domain::run::{CleanupRun, LayerCounts, Outcome, Trigger};
use crate::domain::{CleanupPolicy, Scope};
use crate::metrics as m;
use crate::store::StoreError;
use crate::store::cleanup::{
    CappedBatch, Criteria, HeapPos, HeapWalk, LeaseOutcome, Reach, RowLayer, RunEndings,
    SessionGauges,
};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

mod redis_layers;
mod tenants;
use tenants::TenantPass;

/// Why a run ended early.
enum Halt {
    Stopped,
    Failed(String),
}

impl From<StoreError> for Halt {
    fn from(e: StoreError) -> Self {
        Halt::Failed(e.to_string())
    }
}

/// The state of a deleting run between its batches.
struct Batches<'a> {
    service: &'a CleanupService,
    token: &'a CancellationToken,
    run_id: &'a str,
    /// The run's record as written when it started (`running`); rewritten with the counts
    /// after each batch, so that a run whose process dies leaves what it had deleted.
    record: CleanupRun,
    criteria: Criteria<'a>,
    counts: LayerCounts,
    last_renewal: Instant,
    /// When the run began deleting: `SESSION_CLEANUP_MAX_ROWS_PER_SECOND` averages over it.
    began: Instant,
    /// Block ranges for the physical-order walks, learnt across the run's layers.
    sizer: RangeSizer,
    /// The tenants with a policy that this run applies.
    tenants: &'a [TenantPass],
}

impl CleanupService {
    pub(super) async fn run_with(
        &self,
        trigger: Trigger,
        policy: CleanupPolicy,
        dry_run: bool,
        scope: Scope,
        token: &CancellationToken,
    ) -> Result<CleanupRun, CleanupError> {
        let Ok(_gate) = self.run_gate.try_lock() else {
            let run_id = self.live().running_run_id.clone().unwrap_or_default();
            return Err(CleanupError::AlreadyRunning { run_id });
        };
        // The refresh after the previous run never overlaps this run's deletes.
        self.gauges_refreshed().await;
        self.flush_pending().await;
        let run_id = crate::domain::ids::new_id();
        // A real run takes the lease first and only then reads the clock, so that recorded
        // runs of different instances never seem to overlap.
        let lease = if dry_run {
            None
        } else {
            Some(self.take_lease(&run_id).await?)
        };
        let started_at = self.clock.now();
        let timer = Instant::now();
        self.live().running_run_id = Some(run_id.clone());
        let (tenants, tenants_failed) = match self.tenant_passes(&policy, &scope).await {
            Ok(t) => (t, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let overrides = tenants::overrides(&tenants);
        let criteria = Criteria {
            policy: &policy,
            now: started_at,
            scope: &scope,
            actor: (!dry_run).then_some(RunEndings {
                run_id: &run_id,
                record: self.config.records(),
                endpoints: self.events.session_endpoints,
            }),
            // With no tenant overriding a layer, the statements of a run without tenants.
            overrides: (!overrides.is_empty()).then_some(&overrides),
        };
        // A tenant's layers remove sessions the global status calls active.
        let derivable = derives_gauges(&policy) && tenants.is_empty();
        let gauges_before = if derivable && !matches!(lease, Some(Err(_))) {
            self.count_sessions(&policy, started_at)
                .await
                .inspect_err(|e| tracing::warn!(error = %e, "cannot count the sessions by status"))
                .ok()
        } else {
            None
        };

        let mut sample = None;
        let (counts, result) = match (lease, tenants_failed) {
            (lease, Some(e)) => {
                if let Some(Ok(_)) = lease {
                    self.release().await;
                }
                (LayerCounts::default(), Err(Halt::from(e)))
            }
            (None, None) => match self.preview(&criteria, &tenants).await {
                Ok((counts, entries)) => {
                    sample = Some(entries);
                    (counts, Ok(()))
                }
                Err(e) => (LayerCounts::default(), Err(Halt::from(e))),
            },
            (Some(Err(e)), None) => (LayerCounts::default(), Err(Halt::from(e))),
            (Some(Ok(_acquired)), None) => {
                let record = CleanupRun {
                    run_id: run_id.clone(),
                    trigger,
                    dry_run,
                    policy,
                    counts: LayerCounts::default(),
                    total: 0,
                    started_at,
                    finished_at: None,
                    duration_ms: None,
                    outcome: Outcome::Running,
                    error: None,
                    tenant_id: scope.tenant().map(str::to_owned),
                    sample: None,
                };
                self.begin_record(&record).await;
                self.delete_under_lease(token, record, criteria, &tenants)
                    .await
            }
        };

        let (outcome, error) = match result {
            Ok(()) => (Outcome::Ok, None),
            Err(Halt::Stopped) => (Outcome::Stopped, None),
            Err(Halt::Failed(e)) => (Outcome::Failed, Some(e)),
        };
        let elapsed = timer.elapsed();
        let run = CleanupRun {
            run_id,
            trigger,
            dry_run,
            policy,
            counts,
            total: counts.total(),
            started_at,
            finished_at: Some(truncate_ms(started_at + elapsed)),
            duration_ms: Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
            outcome,
            error,
            tenant_id: scope.tenant().map(str::to_owned),
            sample,
        };
        self.report(&run, elapsed);
        self.record(&run).await;
        self.finish(&run);
        if !dry_run && run.total > 0 {
            // The admin statistics must not show what this run removed.
            if let Err(e) = self.store.invalidate_stats().await {
                tracing::warn!(error = %e, "cannot mark the statistics snapshot stale");
            }
        }
        if outcome != Outcome::Failed {
            match gauges_before {
                Some(before) if dry_run => set_gauges(&self.gauges, before),
                Some(before) => set_gauges(&self.gauges, before.after_deleting(counts)),
                None => self.start_gauge_refresh(&policy),
            }
        }
        Ok(run)
    }

    async fn release(&self) {
        if let Err(e) = self
            .store
            .release_lease(LEASE_NAME, &self.instance_id)
            .await
        {
            tracing::warn!(error = %e, "cannot release the cleanup lease; it expires on its own");
        }
    }

    /// Takes the lease for a real run: `Err` when another holder has it, `Ok(Err)` when the
    /// database could not be asked (the run is recorded as failed).
    async fn take_lease(
        &self,
        run_id: &str,
    ) -> Result<Result<LeaseOutcome, StoreError>, CleanupError> {
        let now = self.clock.now();
        let lease_seconds = self.config.lease_seconds;
        let acquired = self
            .store
            .acquire_lease(LEASE_NAME, &self.instance_id, run_id, lease_seconds, now)
            .await;
        if let Ok(LeaseOutcome::HeldBy { run_id, .. }) = acquired {
            return Err(CleanupError::AlreadyRunning {
                run_id: run_id.unwrap_or_default(),
            });
        }
        Ok(acquired)
    }

    /// With the lease just taken: marks the runs that an earlier holder left `running` (its
    /// process died, or it lost the database and its lease expired) as `failed`, keeping what
    /// they had recorded as deleted; then writes this run as `running`. Failures are logged
    /// only: the run itself does not depend on its record.
    async fn begin_record(&self, run: &CleanupRun) {
        let error = "abandoned: its instance stopped before the run finished (the lease was taken over); the counts are what it had recorded";
        match self.store.abandon_running_runs(run.started_at, error).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                runs = n,
                "marked cleanup runs left running by a stopped instance as failed"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot mark abandoned cleanup runs"),
        }
        if let Err(e) = self
            .store
            .record_cleanup_run(run, &self.instance_id, 0)
            .await
        {
            tracing::warn!(run_id = %run.run_id, error = %e, "cannot record the cleanup run as running");
        }
    }

    /// The deletes of a real run, then the lease goes back.
    async fn delete_under_lease(
        &self,
        token: &CancellationToken,
        record: CleanupRun,
        criteria: Criteria<'_>,
        tenants: &[TenantPass],
    ) -> (LayerCounts, Result<(), Halt>) {
        let run_id = record.run_id.clone();
        let mut batches = Batches {
            service: self,
            token,
            run_id: &run_id,
            record,
            criteria,
            counts: LayerCounts::default(),
            last_renewal: Instant::now(),
            began: Instant::now(),
            sizer: RangeSizer::new(Duration::from_millis(self.config.batch_target_ms)),
            tenants,
        };
        let result = batches.delete_all().await;
        if result.is_ok() && criteria.scope.tenant().is_none() {
            self.prune_history(criteria.now).await;
        }
        self.release().await;
        (batches.counts, result)
    }

    /// Deletes termination records past `SESSION_HISTORY_RETENTION_DAYS` (all of them when
    /// records are off). A failure is logged and leaves the run's result alone.
    async fn prune_history(&self, now: time::OffsetDateTime) {
        let days = i64::from(self.config.history_retention_days);
        match self
            .store
            .prune_ended(now - time::Duration::days(days))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                pruned = n,
                "termination records past their retention deleted"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot prune termination records"),
        }
    }

    /// The Better Auth app's Redis when it holds the sessions alone (`SESSION_STORAGE=secondary`).
    fn redis_alone(&self) -> Option<std::sync::Arc<crate::secondary::SecondaryStorage>> {
        self.secondary.clone().filter(|r| r.holds_sessions_alone())
    }

    /// The session gauges, from wherever the sessions are.
    async fn count_sessions(
        &self,
        policy: &CleanupPolicy,
        now: time::OffsetDateTime,
    ) -> Result<SessionGauges, StoreError> {
        match self.redis_alone() {
            Some(redis) => redis_layers::redis_gauges(&redis, now, policy.inactivity_days).await,
            None => {
                self.store
                    .session_gauges_at(now, inactive_cutoff(policy, now))
                    .await
            }
        }
    }

    /// Counts and a sample of what a real run would delete. A real run applies each tenant's
    /// policy to the tenant's sessions before the global layers (which then find none of
    /// them left to remove), so the tenant's share of the global counts is replaced by its
    /// own counts, and its cap takes what its layers leave over the cap.
    async fn preview(
        &self,
        criteria: &Criteria<'_>,
        tenants: &[TenantPass],
    ) -> Result<(LayerCounts, Vec<crate::domain::run::SampleEntry>), StoreError> {
        if let Some(redis) = self.redis_alone() {
            let (mut counts, sample) = self.redis_preview(&redis, criteria).await?;
            self.count_verifications(criteria, &mut counts).await;
            return Ok((counts, sample));
        }
        let mut counts = self.store.cleanup_counts(criteria).await?;
        for t in tenants {
            self.count_tenant(criteria, t, &mut counts).await?;
        }
        self.count_verifications(criteria, &mut counts).await;
        let limit = self.config.sample_size;
        let mut sample = self.store.cleanup_sample(criteria, limit).await?;
        for t in tenants {
            self.sample_tenant(criteria, t, &mut sample).await?;
        }
        Ok((counts, sample))
    }

    async fn count_verifications(&self, criteria: &Criteria<'_>, counts: &mut LayerCounts) {
        if self.config.clean_expired_verifications && criteria.scope.tenant().is_none() {
            match self.store.count_expired_verifications(criteria.now).await {
                Ok(n) => counts.verifications = n,
                Err(e) => tracing::warn!(error = %e, "cannot count expired verification rows"),
            }
        }
    }

    /// Refreshes the session gauges right after a run whose policy does not let them be
    /// derived, in the background: one full count of the table, which after a large run also
    /// prunes the pages and sets the hint bits of every row the run deleted (work a plain
    /// `DELETE` leaves to the next reader), so it is kept out of the run's duration and out of
    /// the caller's wait. The next run, and `stop`, wait for it.
    fn start_gauge_refresh(&self, policy: &CleanupPolicy) {
        let store = self.store.clone();
        let redis = self.redis_alone();
        let now = self.clock.now();
        let cutoff = inactive_cutoff(policy, now);
        let days = policy.inactivity_days;
        let gauges = self.gauges.clone();
        let task = tokio::spawn(async move {
            let counted = match redis {
                Some(redis) => redis_layers::redis_gauges(&redis, now, days).await,
                None => store.session_gauges_at(now, cutoff).await,
            };
            match counted {
                Ok(g) => set_gauges(&gauges, g),
                Err(e) => tracing::warn!(error = %e, "cannot refresh the session gauges"),
            }
        });
        // Runs wait for the refresh before them, so none is pending here.
        *self.gauge_refresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Metrics, and the one log line per run.
    fn report(&self, run: &CleanupRun, elapsed: Duration) {
        metrics::counter!(m::RUNS, "outcome" => run.outcome.as_str(), "trigger" => run.trigger.as_str())
            .increment(1);
        metrics::histogram!(m::RUN_DURATION).record(elapsed.as_secs_f64());
        if run.outcome == Outcome::Ok && !run.dry_run {
            // Wall-clock time, as Prometheus' time() compares it; not the injected clock.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            metrics::gauge!(m::LAST_SUCCESS).set(now);
        }
        let c = run.counts;
        if run.outcome == Outcome::Failed {
            tracing::warn!(
                target: "sessionkeeper::cleanup",
                run_id = %run.run_id, trigger = run.trigger.as_str(), dry_run = run.dry_run,
                outcome = run.outcome.as_str(), expired = c.expired, absolute = c.absolute, inactive = c.inactive,
                excess = c.excess, total = run.total, duration_ms = run.duration_ms,
                error = run.error.as_deref().unwrap_or_default(),
                "cleanup run failed; the next run will retry"
            );
        } else if self.config.logs {
            tracing::info!(
                target: "sessionkeeper::cleanup",
                run_id = %run.run_id, trigger = run.trigger.as_str(), dry_run = run.dry_run,
                outcome = run.outcome.as_str(), expired = c.expired, absolute = c.absolute, inactive = c.inactive,
                excess = c.excess, total = run.total, duration_ms = run.duration_ms,
                "cleanup run finished"
            );
        }
    }
}

/// Whether a run can set the session gauges from one count taken as it starts, less what it
/// deleted: true when every deleted row's status is known from its layer, that is, when the
/// excess layer (if on) chooses among active sessions only, the other two layers being on,
/// and the absolute layer is off (its rows are active or inactive by status).
/// The count before the deletes reads a clean table; one after them would also prune every
/// page the run touched and set the hint bits of every deleted row, which after 600,000
/// deletes under load took more than half as long as the deleting (bench/cleanup/README.md).
/// The gauges then describe the table as of the run's start, less what the run deleted.
fn derives_gauges(policy: &CleanupPolicy) -> bool {
    policy.absolute_timeout_seconds.is_none()
        && (!policy.enforce_session_limits
            || (policy.clean_expired_tokens && policy.clean_inactive_sessions))
}

fn set_gauges(last: &Mutex<Option<SessionGauges>>, g: SessionGauges) {
    *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(g);
    for (status, n) in [
        ("active", g.active),
        ("expired", g.expired),
        ("inactive", g.inactive),
    ] {
        metrics::gauge!(m::SESSIONS, "status" => status).set(n as f64);
    }
}

impl<'a> Batches<'a> {
    async fn delete_all(&mut self) -> Result<(), Halt> {
        if let Some(redis) = self.service.redis_alone() {
            self.delete_redis_layers(&redis).await?;
            if self.sweeps_verifications() {
                self.delete_verifications().await?;
            }
            return Ok(());
        }
        let policy = *self.criteria.policy;
        if policy.clean_expired_tokens {
            self.delete_per_row(RowLayer::Expired).await?;
        }
        let tenants = self.tenants;
        for t in tenants {
            self.tenant_layers(t).await?;
        }
        // A tenant whose policy sets a layer's value was under that layer in its own pass,
        // by its value alone: the global layer leaves its sessions (`Criteria::overrides`).
        let reaches = |layer: Layer| self.criteria.reach(layer) != Reach::Nothing;
        let (absolute, inactive, excess) = (
            reaches(Layer::Absolute),
            reaches(Layer::Inactive),
            reaches(Layer::Excess),
        );
        if self.criteria.absolute_on() && absolute {
            self.delete_per_row(RowLayer::Absolute).await?;
        }
        if policy.clean_inactive_sessions && inactive {
            self.delete_per_row(RowLayer::Inactive).await?;
        }
        if policy.enforce_session_limits && excess {
            self.delete_excess().await?;
        }
        if self.sweeps_verifications() {
            self.delete_verifications().await?;
        }
        if self.criteria.scope.tenant().is_none() {
            self.delete_orphan_activity().await?;
        }
        self.sweep_secondary().await
    }

    /// With the app's Redis: removes there what the layers removed from the database (and
    /// anything an earlier fault left), a `SCAN` page at a time with the lease renewed and
    /// the usual pause between pages. A Redis fault fails the run like a database fault.
    async fn sweep_secondary(&mut self) -> Result<(), Halt> {
        let Some(redis) = self.service.secondary.clone() else {
            return Ok(());
        };
        let store = self.service.store.clone();
        let mut sweep = crate::secondary::reconcile::Sweep::new(&redis);
        loop {
            self.check_stop()?;
            let started = Instant::now();
            let done = sweep
                .next_page(store.as_ref())
                .await
                .map_err(|e| Halt::Failed(e.to_string()))?;
            if done {
                break;
            }
            self.between_batches(started.elapsed()).await?;
        }
        let swept = sweep.counts;
        tracing::info!(
            lists = swept.lists,
            removed = swept.removed,
            floored = swept.floored,
            "secondary storage swept"
        );
        Ok(())
    }

    /// Housekeeping after the layers: the last-activity rows of sessions that are gone
    /// (signed out, revoked, swept). Not counted: they are not sessions. A failure is logged
    /// and ends this step only.
    async fn delete_orphan_activity(&mut self) -> Result<(), Halt> {
        let batch = self.batch();
        loop {
            self.check_stop()?;
            let started = Instant::now();
            match self.service.store.delete_orphan_activity(batch).await {
                Ok(n) if n >= u64::from(batch) => self.between_batches(started.elapsed()).await?,
                Ok(_) => return Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot remove the activity of ended sessions");
                    return Ok(());
                }
            }
        }
    }

    /// The `verifications` layer runs in unscoped runs only: its rows have no tenant.
    fn sweeps_verifications(&self) -> bool {
        self.service.config.clean_expired_verifications && self.criteria.scope.tenant().is_none()
    }

    /// The last layer: expired rows of Better Auth's `verification` table, in batches.
    async fn delete_verifications(&mut self) -> Result<(), Halt> {
        let batch = self.batch();
        loop {
            self.check_stop()?;
            let started = Instant::now();
            let deleted = self
                .service
                .store
                .delete_expired_verifications(self.criteria.now, batch)
                .await;
            // Not a session table, and not checked at start-up (an app may have renamed its
            // columns): a failure here ends this layer, never the sessions' run.
            let n = match deleted {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot sweep expired verification rows");
                    return Ok(());
                }
            };
            self.counts.verifications += n;
            self.service.live().progress = Some(self.counts);
            if n > 0 {
                metrics::counter!(m::VERIFICATIONS_DELETED).increment(n);
            }
            if n < u64::from(batch) {
                return Ok(());
            }
            self.between_batches(started.elapsed()).await?;
        }
    }

    /// A layer decided row by row: in physical order where the store can (PostgreSQL),
    /// otherwise through the layer's index.
    async fn delete_per_row(&mut self, layer: RowLayer) -> Result<(), Halt> {
        let service = self.service;
        if let Some(walk) = service.store.heap_walk()
            && let Some(end) = walk.session_heap_blocks().await?
        {
            return self.walk_heap(walk, layer, end).await;
        }
        self.delete_indexed(layer).await
    }

    /// A per-row layer in batches through the layer's index.
    async fn delete_indexed(&mut self, layer: RowLayer) -> Result<(), Halt> {
        let batch = self.batch();
        loop {
            self.check_stop()?;
            let store = &self.service.store;
            let started = Instant::now();
            let span = batch_span(layer.into());
            let n = match layer {
                RowLayer::Expired => store.delete_expired_batch(&self.criteria, batch),
                RowLayer::Absolute => store.delete_absolute_batch(&self.criteria, batch),
                RowLayer::Inactive => store.delete_inactive_batch(&self.criteria, batch),
            }
            .instrument(span.clone())
            .await?;
            span.record("deleted", n);
            let took = started.elapsed();
            self.deleted(layer.into(), n);
            if n < u64::from(batch) {
                return Ok(());
            }
            self.between_batches(took).await?;
        }
    }

    /// Walks the table's heap from the first block to the last in ranges sized to take about
    /// the target duration each, one short transaction per range. A range holding more than a
    /// batch of the layer's rows is cut after the batch, and the walk goes on from the cut with
    /// capped statements until a range holds no more than a batch again. Blocks added while it
    /// walks are walked too. A row that a concurrent update moves behind the walk is left for
    /// the next run, like any session that turns stale during a run.
    async fn walk_heap(
        &mut self,
        walk: &dyn HeapWalk,
        layer: RowLayer,
        mut end: u64,
    ) -> Result<(), Halt> {
        let limit = self.batch();
        let mut from = HeapPos::block_start(0);
        let mut capped = false;
        self.sizer.next_layer();
        loop {
            self.check_stop()?;
            let to = from
                .block
                .saturating_add(self.sizer.blocks(limit))
                .min(end)
                .max(from.block + 1);
            let c = &self.criteria;
            let started = Instant::now();
            let span = batch_span(layer.into());
            let done = async {
                let uncapped = if capped {
                    None
                } else {
                    walk.delete_layer_range(c, layer, from, to, limit).await?
                };
                Ok::<_, StoreError>(match uncapped {
                    Some(deleted) => CappedBatch { deleted, cut: None },
                    None => walk.delete_layer_capped(c, layer, from, to, limit).await?,
                })
            }
            .instrument(span.clone())
            .await?;
            span.record("deleted", done.deleted);
            let took = started.elapsed();
            self.deleted(layer.into(), done.deleted);
            capped = done.cut.is_some();
            let next = done.cut.unwrap_or(HeapPos::block_start(to));
            match done.cut {
                Some(cut) => self.sizer.observe(cut.block + 1 - from.block, took, None),
                None => self
                    .sizer
                    .observe(to - from.block, took, Some(done.deleted)),
            }
            from = next;
            if from.block >= end {
                match walk.session_heap_blocks().await? {
                    Some(grown) if grown > end => end = grown,
                    _ => return Ok(()),
                }
            }
            self.between_batches(took).await?;
        }
    }

    /// Walks the users over the limit in id order, deleting for a group of users whose excess
    /// adds up to about one batch at a time (one huge user takes several batches).
    async fn delete_excess(&mut self) -> Result<(), Halt> {
        let batch = self.batch();
        let limit = u64::from(self.criteria.policy.max_sessions_per_user);
        let mut after = String::new();
        loop {
            self.check_stop()?;
            let store = &self.service.store;
            let users = store
                .users_over_limit(&self.criteria, &after, batch)
                .await?;
            let Some((last, _)) = users.last() else {
                return Ok(());
            };
            let full_page = users.len() >= batch as usize;
            let last = last.clone();
            let mut start = 0;
            while start < users.len() {
                let mut end = start;
                let mut excess = 0;
                while end < users.len()
                    && (end == start
                        || excess + users[end].1.saturating_sub(limit) <= u64::from(batch))
                {
                    excess += users[end].1.saturating_sub(limit);
                    end += 1;
                }
                let upto = users[end - 1].0.clone();
                let group: Vec<&str> = users[start..end].iter().map(|u| u.0.as_str()).collect();
                loop {
                    self.check_stop()?;
                    let store = &self.service.store;
                    let started = Instant::now();
                    let span = batch_span(Layer::Excess);
                    let n = store
                        .delete_excess_batch(&self.criteria, &after, &upto, &group, batch)
                        .instrument(span.clone())
                        .await?;
                    span.record("deleted", n);
                    let took = started.elapsed();
                    self.deleted(Layer::Excess, n);
                    self.between_batches(took).await?;
                    if n < u64::from(batch) {
                        break;
                    }
                }
                after = upto;
                start = end;
            }
            if !full_page {
                return Ok(());
            }
            after = last;
        }
    }

    fn deleted(&mut self, layer: Layer, n: u64) {
        *self.counts.get_mut(layer) += n;
        self.service.live().progress = Some(self.counts);
        metrics::counter!(m::CLEANUP_BATCHES, "layer" => layer.as_str()).increment(1);
        if n > 0 {
            metrics::counter!(m::DELETED, "layer" => layer.as_str()).increment(n);
            m::sessions_ended(m::EndReason::Cleanup, n);
        }
    }

    /// The most rows one statement removes: `SESSION_CLEANUP_BATCH_SIZE`, smaller under a
    /// rows-per-second cap.
    fn batch(&self) -> u32 {
        let config = &self.service.config;
        pacing::capped_batch(config.batch_size, config.max_rows_per_second)
    }

    fn check_stop(&self) -> Result<(), Halt> {
        if self.token.is_cancelled() {
            return Err(Halt::Stopped);
        }
        Ok(())
    }

    /// Records the counts so far (one row by key), renews the lease once a third of it has
    /// passed, then pauses so other queries get the database (for a share of the batch's
    /// duration `took`, plus any fixed pause, or until the rows so far are due under the
    /// rows-per-second cap, whichever is longer); a stop request cuts the pause short.
    async fn between_batches(&mut self, took: Duration) -> Result<(), Halt> {
        let service = self.service;
        if self.record.counts != self.counts {
            self.record.counts = self.counts;
            self.record.total = self.counts.total();
            if let Err(e) = service
                .store
                .record_cleanup_run(&self.record, &service.instance_id, 0)
                .await
            {
                tracing::debug!(error = %e, "cannot record the cleanup run's progress");
            }
        }
        let lease = service.config.lease_seconds;
        if self.last_renewal.elapsed() >= Duration::from_secs(lease) / 3 {
            let renewed = service
                .store
                .acquire_lease(
                    LEASE_NAME,
                    &service.instance_id,
                    self.run_id,
                    lease,
                    service.clock.now(),
                )
                .await?;
            if let LeaseOutcome::HeldBy { holder, .. } = renewed {
                return Err(Halt::Failed(format!(
                    "lost the cleanup lease to {holder} (a batch took longer than the lease)"
                )));
            }
            self.last_renewal = Instant::now();
        }
        let config = &service.config;
        let removed = self.counts.total() + self.counts.verifications;
        let pause =
            pacing::pause_after(took, config.batch_pause_ms, config.batch_pause_percent).max(
                pacing::wait_for_cap(removed, self.began.elapsed(), config.max_rows_per_second),
            );
        if !pause.is_zero() {
            tokio::select! {
                biased;
                () = self.token.cancelled() => return Err(Halt::Stopped),
                () = tokio::time::sleep(pause) => {}
            }
        }
        Ok(())
    }
}

fn batch_span(layer: Layer) -> tracing::Span {
    crate::spans::cleanup_batch_span(layer.as_str())
}
