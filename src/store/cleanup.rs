//! What the cleanup service needs from the database: per-layer counts, a sample, batched
//! deletes per layer, the lease that lets one instance at a time run the cleanup, and the run
//! history. The SQL is in [`cleanup_sql`](super::cleanup_sql); the bodies are written once
//! below for both backends. PostgreSQL's deletes in physical order ([`HeapWalk`]) are in
//! `postgres/heap_walk.rs`.

use super::ended_sql::Del;
use super::engine::{Args, Engine, Read};
use super::outbox::NewEvent;
use super::sql_store::SqlStore;
use super::tables::rows::decode_run;
use super::{Result, StoreError};
use crate::domain::cleanup_plan::{Layer, absolute_cutoff, inactive_cutoff};
use crate::domain::cursor::{Cursor, keyset_page};
use crate::domain::ending::{Actor, EndReason, Ending};
use crate::domain::run::{CleanupRun, LayerCounts, SampleEntry};
use crate::domain::{CleanupPolicy, Scope};
use async_trait::async_trait;
use time::OffsetDateTime;

/// What one run decides by: the policy, the instant it started and the sessions it may touch.
#[derive(Debug, Clone, Copy)]
pub struct Criteria<'a> {
    pub policy: &'a CleanupPolicy,
    pub now: OffsetDateTime,
    pub scope: &'a Scope,
    /// What the deletes write: the actor of the sessions it removes (`cleanup:<run id>`),
    /// whether to write termination records and how many receivers get a `session.ended`
    /// event. `None` writes neither (a dry run, or both off).
    pub actor: Option<RunEndings<'a>>,
    /// The tenants whose own policy sets a layer's value: the global layers leave their
    /// sessions to the tenants' own passes. `None` (a tenant's own pass, or no tenant policy
    /// stored) reaches every session in scope.
    pub overrides: Option<&'a Overrides>,
}

/// Per layer, the tenants whose policy sets that layer's value (`absoluteTimeoutSeconds`,
/// `inactivityTimeoutSeconds`, `maxSessionsPerUser`), so that a looser value than the global
/// one holds: the global layer must not remove what the tenant's policy keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub absolute: Vec<String>,
    pub inactive: Vec<String>,
    pub excess: Vec<String>,
}

impl Overrides {
    fn of(&self, layer: Layer) -> &[String] {
        match layer {
            Layer::Absolute => &self.absolute,
            Layer::Inactive => &self.inactive,
            Layer::Excess => &self.excess,
            Layer::Expired => &[],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.absolute.is_empty() && self.inactive.is_empty() && self.excess.is_empty()
    }
}

/// Which sessions in scope a layer reaches under [`Criteria::overrides`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach<'a> {
    /// All of them: the statements of today (unscoped or scoped).
    All,
    /// None: the run is confined to a tenant that overrides the layer.
    Nothing,
    /// All but those of the listed tenants (an unscoped run).
    Excluding(&'a [String]),
}

/// See [`Criteria::actor`].
#[derive(Debug, Clone, Copy)]
pub struct RunEndings<'a> {
    pub run_id: &'a str,
    pub record: bool,
    pub endpoints: u32,
}

impl Criteria<'_> {
    /// What a layer's deletes record, at the run's instant.
    pub fn ending(&self, layer: Layer) -> Option<Ending> {
        let e = self.actor?;
        Ending::new(
            EndReason::of_layer(layer),
            &Actor::Cleanup(e.run_id.to_owned()),
            self.now,
            e.record,
            e.endpoints,
        )
    }

    pub fn cutoff(&self) -> OffsetDateTime {
        inactive_cutoff(self.policy, self.now)
    }
    /// Sessions created before this are past the absolute timeout (the epoch when it is off).
    pub fn absolute_cutoff(&self) -> OffsetDateTime {
        absolute_cutoff(self.policy, self.now)
    }
    /// Whether the `absolute` layer runs.
    pub fn absolute_on(&self) -> bool {
        self.policy.absolute_timeout_seconds.is_some()
    }

    /// Which sessions in scope `layer` reaches (see [`Overrides`]).
    pub fn reach(&self, layer: Layer) -> Reach<'_> {
        let listed = self.overrides.map_or(&[][..], |o| o.of(layer));
        if listed.is_empty() {
            return Reach::All;
        }
        match self.scope.tenant() {
            Some(t) if listed.iter().any(|l| l == t) => Reach::Nothing,
            Some(_) => Reach::All,
            None => Reach::Excluding(listed),
        }
    }
}

/// Session counts by status (the definitions of the admin statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionGauges {
    pub active: u64,
    pub expired: u64,
    pub inactive: u64,
}

impl SessionGauges {
    /// The counts after deleting `deleted` from a table these counts describe, for a run whose
    /// excess layer removed only active sessions (it keeps the other layers' rows when they
    /// are on).
    pub fn after_deleting(self, deleted: LayerCounts) -> Self {
        Self {
            active: self.active.saturating_sub(deleted.excess),
            expired: self.expired.saturating_sub(deleted.expired),
            inactive: self.inactive.saturating_sub(deleted.inactive),
        }
    }
}

/// A layer decided row by row, which a heap walk can delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLayer {
    Expired,
    Absolute,
    Inactive,
}

impl From<RowLayer> for Layer {
    fn from(l: RowLayer) -> Layer {
        match l {
            RowLayer::Expired => Layer::Expired,
            RowLayer::Absolute => Layer::Absolute,
            RowLayer::Inactive => Layer::Inactive,
        }
    }
}

/// Deletes of a per-row layer in the table's physical order (PostgreSQL's `ctid`), through
/// [`CleanupStore::heap_walk`].
#[async_trait]
pub trait HeapWalk: Send + Sync {
    /// The session table's length in heap blocks; `None` where a block range would read the
    /// whole table (before PostgreSQL 14: no TID Range Scan).
    async fn session_heap_blocks(&self) -> Result<Option<u64>>;
    /// Deletes the layer's sessions stored from `from` up to, not including, block `to`, in
    /// one transaction, unless there are more than `limit`: then it deletes nothing and
    /// returns `None`.
    async fn delete_layer_range(
        &self,
        c: &Criteria<'_>,
        layer: RowLayer,
        from: HeapPos,
        to: u64,
        limit: u32,
    ) -> Result<Option<u64>>;
    /// Deletes the first `limit` sessions (in physical order) of the layer stored from `from`
    /// up to block `to`.
    async fn delete_layer_capped(
        &self,
        c: &Criteria<'_>,
        layer: RowLayer,
        from: HeapPos,
        to: u64,
        limit: u32,
    ) -> Result<CappedBatch>;
}

/// A row's place in a PostgreSQL table (its `ctid`): heap block and line pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeapPos {
    pub block: u64,
    pub offset: u32,
}

impl HeapPos {
    pub fn block_start(block: u64) -> Self {
        Self { block, offset: 0 }
    }

    /// The position right after this one.
    pub fn next(self) -> Self {
        Self {
            block: self.block,
            offset: self.offset + 1,
        }
    }

    /// As a `tid` literal.
    pub fn tid(self) -> String {
        format!("({},{})", self.block, self.offset)
    }

    /// `None` for anything but a `tid`'s text form `(block,offset)`.
    pub fn parse(s: &str) -> Option<Self> {
        let (block, offset) = s.strip_prefix('(')?.strip_suffix(')')?.split_once(',')?;
        Some(Self {
            block: block.parse().ok()?,
            offset: offset.parse().ok()?,
        })
    }
}

/// What one capped delete over a block range did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CappedBatch {
    pub deleted: u64,
    /// The first matching row the cap left, where the walk goes on; `None` when the range
    /// held no more than the cap.
    pub cut: Option<HeapPos>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    Acquired,
    /// Another holder's lease has not expired.
    HeldBy {
        holder: String,
        run_id: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct RunPage {
    pub runs: Vec<CleanupRun>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait CleanupStore: Send + Sync {
    /// How many sessions each enabled layer would delete now (0 for a disabled layer).
    async fn cleanup_counts(&self, c: &Criteria<'_>) -> Result<LayerCounts>;
    /// Up to `limit` of the sessions a run would delete, earlier layers first.
    async fn cleanup_sample(&self, c: &Criteria<'_>, limit: u32) -> Result<Vec<SampleEntry>>;
    /// Counts of all sessions by status, whatever the policy's switches.
    async fn session_gauges(
        &self,
        now: OffsetDateTime,
        inactivity_days: u32,
    ) -> Result<SessionGauges> {
        let before = now - time::Duration::days(i64::from(inactivity_days));
        self.session_gauges_at(now, before).await
    }
    /// [`Self::session_gauges`], unexpired sessions last active before `inactive_before`
    /// counting as inactive.
    async fn session_gauges_at(
        &self,
        now: OffsetDateTime,
        inactive_before: OffsetDateTime,
    ) -> Result<SessionGauges>;
    /// Deletes up to `limit` expired sessions; returns how many went.
    async fn delete_expired_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` unexpired sessions past the absolute timeout.
    async fn delete_absolute_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` inactive (unexpired) sessions.
    async fn delete_inactive_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64>;
    /// The cleanup's deletes in physical order, where the backend has them (PostgreSQL);
    /// `None` elsewhere: SQLite, the embedded store, deletes through the indexes.
    fn heap_walk(&self) -> Option<&dyn HeapWalk>;
    /// Users (ids above `after`, in id order) with more surviving sessions than the limit, and
    /// how many they have.
    async fn users_over_limit(
        &self,
        c: &Criteria<'_>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, u64)>>;
    /// Deletes up to `limit` excess sessions of the users with ids in `(after, upto]`:
    /// those of `users` (what [`Self::users_over_limit`] found there) on PostgreSQL, any
    /// user of the range on SQLite. A user that goes over the limit during a run is left
    /// to the next run on PostgreSQL, like one past the run's last page.
    async fn delete_excess_batch(
        &self,
        c: &Criteria<'_>,
        after: &str,
        upto: &str,
        users: &[&str],
        limit: u32,
    ) -> Result<u64>;
    /// Takes or renews the named lease for `ttl_seconds`. Needs no session state (no advisory
    /// locks), so it works through a transaction-mode pooler. PostgreSQL times the lease by
    /// the database clock; SQLite by `now`.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &str,
        ttl_seconds: u64,
        now: OffsetDateTime,
    ) -> Result<LeaseOutcome>;
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
    /// Deletes up to `limit` rows of our activity table whose session is gone.
    async fn delete_orphan_activity(&self, limit: u32) -> Result<u64>;
    /// Expired rows of Better Auth's `verification` table at `now`.
    async fn count_expired_verifications(&self, now: OffsetDateTime) -> Result<u64>;
    /// Deletes up to `limit` expired `verification` rows; returns how many went.
    async fn delete_expired_verifications(&self, now: OffsetDateTime, limit: u32) -> Result<u64>;
    /// Inserts (or replaces) a run record: as `running` when a run starts and after each of
    /// its batches, with its outcome when it ends. With `endpoints`, its
    /// `cleanup.run.finished` event for that many receivers goes in the same transaction
    /// (only the final record passes a non-zero count).
    async fn record_cleanup_run(
        &self,
        run: &CleanupRun,
        instance: &str,
        endpoints: u32,
    ) -> Result<()>;
    /// Marks every run still recorded as `running` as `failed` with `error`, keeping the
    /// counts it last recorded. Called by the holder of a freshly taken lease: a run still
    /// `running` then is one whose instance died (or lost the database) mid-run. Returns
    /// how many runs were marked.
    async fn abandon_running_runs(&self, now: OffsetDateTime, error: &str) -> Result<u64>;
    /// The run history, newest first; with `tenant`, only the runs confined to it.
    async fn list_cleanup_runs(
        &self,
        limit: u32,
        before: Option<&Cursor>,
        tenant: Option<&str>,
    ) -> Result<RunPage>;
}

fn pick(sql: &[&'static str; 2], c: &Criteria<'_>) -> &'static str {
    sql[usize::from(c.scope.tenant().is_some())]
}

fn pick_del<'d>(del: &'d [Del; 2], c: &Criteria<'_>) -> &'d Del {
    &del[usize::from(c.scope.tenant().is_some())]
}

/// The variant of a layer's `[unscoped, scoped, excluding]` statements for `c`.
pub(crate) fn pick_reach<'s, T>(sql: &'s [T; 3], c: &Criteria<'_>, layer: Layer) -> &'s T {
    match c.reach(layer) {
        Reach::Excluding(_) => &sql[2],
        _ => &sql[usize::from(c.scope.tenant().is_some())],
    }
}

/// Binds the tenant's place of a layer statement: the scope's tenant (NULL unscoped, as
/// today), or the excluded tenants as one list.
pub(crate) fn tenant_slot<DB: Engine>(args: Args<DB>, c: &Criteria<'_>, layer: Layer) -> Args<DB> {
    match c.reach(layer) {
        Reach::Excluding(list) => {
            let ids: Vec<&str> = list.iter().map(String::as_str).collect();
            args.with(|a| DB::bind_tokens(a, &ids))
        }
        _ => args.opt_text(c.scope.tenant()),
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn decode_sample<R: Read>(row: &R, layer: Layer) -> std::result::Result<SampleEntry, sqlx::Error> {
    Ok(SampleEntry {
        session_id: row.text("id")?,
        user_id: row.text("userId")?,
        layer,
        expires_at: row.time("expiresAt")?,
        updated_at: row.time("updatedAt")?,
        last_active_at: row.time("lastActiveAt")?,
    })
}

/// The parameters `$1..$5` every layer statement starts with (see
/// [`cleanup_sql`](super::cleanup_sql)).
fn layer_args<DB: Engine>(c: &Criteria<'_>) -> Args<DB> {
    Args::new()
        .time(c.now)
        .time(c.cutoff())
        .int(i64::from(c.policy.max_sessions_per_user))
        .flag(c.policy.clean_expired_tokens)
        .flag(c.policy.clean_inactive_sessions)
        .time(c.absolute_cutoff())
}

impl<DB: Engine> SqlStore<DB> {
    async fn count_rows(&self, sql: &'static str, args: Args<DB>) -> Result<u64> {
        Ok(count(self.fetch_one(sql, args).await?.int("n")?))
    }

    async fn sample_rows(
        &self,
        sql: &'static str,
        args: Args<DB>,
        layer: Layer,
        out: &mut Vec<SampleEntry>,
    ) -> Result<()> {
        for r in &self.fetch_all(sql, args).await? {
            out.push(decode_sample(r, layer)?);
        }
        Ok(())
    }
}

#[async_trait]
impl<DB: Engine> CleanupStore for SqlStore<DB> {
    async fn cleanup_counts(&self, c: &Criteria<'_>) -> Result<LayerCounts> {
        let q = &self.sql.cleanup;
        let tenant = c.scope.tenant();
        let mut out = LayerCounts::default();
        if c.policy.clean_expired_tokens {
            let args = Args::new().time(c.now).opt_text(tenant);
            out.expired = self.count_rows(pick(&q.count_expired, c), args).await?;
        }
        let (absolute, inactive, excess) = (Layer::Absolute, Layer::Inactive, Layer::Excess);
        if c.absolute_on() && c.reach(absolute) != Reach::Nothing {
            let args = Args::new().time(c.now).time(c.absolute_cutoff());
            let sql = pick_reach(&q.count_absolute, c, absolute);
            out.absolute = self.count_rows(sql, tenant_slot(args, c, absolute)).await?;
        }
        if c.policy.clean_inactive_sessions && c.reach(inactive) != Reach::Nothing {
            let args = Args::new()
                .time(c.now)
                .time(c.cutoff())
                .time(c.absolute_cutoff());
            let sql = pick_reach(&q.count_inactive, c, inactive);
            out.inactive = self.count_rows(sql, tenant_slot(args, c, inactive)).await?;
        }
        if c.policy.enforce_session_limits && c.reach(excess) != Reach::Nothing {
            let sql = pick_reach(&q.count_excess, c, excess);
            out.excess = self
                .count_rows(sql, tenant_slot(layer_args(c), c, excess))
                .await?;
        }
        Ok(out)
    }

    async fn cleanup_sample(&self, c: &Criteria<'_>, limit: u32) -> Result<Vec<SampleEntry>> {
        let q = &self.sql.cleanup;
        let tenant = c.scope.tenant();
        let mut out = Vec::new();
        let left = |out: &Vec<SampleEntry>| i64::from(limit) - out.len() as i64;
        if c.policy.clean_expired_tokens && left(&out) > 0 {
            let args = Args::new().time(c.now).int(left(&out)).opt_text(tenant);
            let sql = pick(&q.sample_expired, c);
            self.sample_rows(sql, args, Layer::Expired, &mut out)
                .await?;
        }
        let (absolute, inactive, excess) = (Layer::Absolute, Layer::Inactive, Layer::Excess);
        if c.absolute_on() && c.reach(absolute) != Reach::Nothing && left(&out) > 0 {
            let args = Args::new()
                .time(c.now)
                .time(c.absolute_cutoff())
                .int(left(&out));
            let sql = pick_reach(&q.sample_absolute, c, absolute);
            self.sample_rows(sql, tenant_slot(args, c, absolute), absolute, &mut out)
                .await?;
        }
        if c.policy.clean_inactive_sessions && c.reach(inactive) != Reach::Nothing && left(&out) > 0
        {
            let args = Args::new()
                .time(c.now)
                .time(c.cutoff())
                .time(c.absolute_cutoff())
                .int(left(&out));
            let sql = pick_reach(&q.sample_inactive, c, inactive);
            self.sample_rows(sql, tenant_slot(args, c, inactive), inactive, &mut out)
                .await?;
        }
        if c.policy.enforce_session_limits && c.reach(excess) != Reach::Nothing && left(&out) > 0 {
            let args = layer_args(c).int(left(&out));
            let sql = pick_reach(&q.sample_excess, c, excess);
            self.sample_rows(sql, tenant_slot(args, c, excess), excess, &mut out)
                .await?;
        }
        Ok(out)
    }

    async fn session_gauges_at(
        &self,
        now: OffsetDateTime,
        cutoff: OffsetDateTime,
    ) -> Result<SessionGauges> {
        let args = Args::<DB>::new().time(now).time(cutoff).finish()?;
        let row = DB::scan_table(&self.pool, self.sql.cleanup.gauges, args, self.pooler).await?;
        let (total, expired, inactive) =
            (row.int("total")?, row.int("expired")?, row.int("inactive")?);
        Ok(SessionGauges {
            active: count(total - expired - inactive),
            expired: count(expired),
            inactive: count(inactive),
        })
    }

    async fn delete_expired_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64> {
        let args = || {
            Args::new()
                .time(c.now)
                .int(i64::from(limit))
                .opt_text(c.scope.tenant())
        };
        let del = pick_del(&self.sql.cleanup.delete_expired, c);
        let end = c.ending(Layer::Expired);
        Ok(self.delete_ending(del, args, end.as_ref()).await?)
    }

    async fn delete_absolute_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64> {
        if c.reach(Layer::Absolute) == Reach::Nothing {
            return Ok(0);
        }
        let args = || {
            let args = Args::new()
                .time(c.now)
                .time(c.absolute_cutoff())
                .int(i64::from(limit));
            tenant_slot(args, c, Layer::Absolute)
        };
        let del = pick_reach(&self.sql.cleanup.delete_absolute, c, Layer::Absolute);
        let end = c.ending(Layer::Absolute);
        Ok(self.delete_ending(del, args, end.as_ref()).await?)
    }

    async fn delete_inactive_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64> {
        if c.reach(Layer::Inactive) == Reach::Nothing {
            return Ok(0);
        }
        let args = || {
            let args = Args::new()
                .time(c.now)
                .time(c.cutoff())
                .time(c.absolute_cutoff())
                .int(i64::from(limit));
            tenant_slot(args, c, Layer::Inactive)
        };
        let del = pick_reach(&self.sql.cleanup.delete_inactive, c, Layer::Inactive);
        let end = c.ending(Layer::Inactive);
        Ok(self.delete_ending(del, args, end.as_ref()).await?)
    }

    fn heap_walk(&self) -> Option<&dyn HeapWalk> {
        DB::heap_walk(self)
    }

    async fn users_over_limit(
        &self,
        c: &Criteria<'_>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, u64)>> {
        let args = layer_args(c).text(after).int(i64::from(limit));
        let (sql, args) = match c.reach(Layer::Excess) {
            Reach::Nothing => return Ok(Vec::new()),
            Reach::All => (self.sql.cleanup.users_over_limit[0], args),
            Reach::Excluding(_) => (
                self.sql.cleanup.users_over_limit[1],
                tenant_slot(args, c, Layer::Excess),
            ),
        };
        let rows = self.fetch_all(sql, args).await?;
        rows.iter()
            .map(|r| Ok((r.text("userId")?, count(r.int("n")?))))
            .collect()
    }

    async fn delete_excess_batch(
        &self,
        c: &Criteria<'_>,
        after: &str,
        upto: &str,
        users: &[&str],
        limit: u32,
    ) -> Result<u64> {
        if c.reach(Layer::Excess) == Reach::Nothing {
            return Ok(0);
        }
        let args = || {
            let args = layer_args(c).text(after).text(upto).int(i64::from(limit));
            tenant_slot(args, c, Layer::Excess).with(|a| DB::bind_tokens(a, users))
        };
        let del = pick_reach(&self.sql.cleanup.delete_excess, c, Layer::Excess);
        let end = c.ending(Layer::Excess);
        Ok(self.delete_ending(del, args, end.as_ref()).await?)
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &str,
        ttl_seconds: u64,
        now: OffsetDateTime,
    ) -> Result<LeaseOutcome> {
        let q = &self.sql.cleanup;
        let args = Args::new()
            .text(name)
            .text(holder)
            .text(run_id)
            .with(|a| DB::bind_lease_expiry(a, ttl_seconds, now));
        if self.execute(q.acquire_lease, args).await? > 0 {
            return Ok(LeaseOutcome::Acquired);
        }
        let row = self
            .fetch_optional(q.lease_holder, Args::new().text(name))
            .await?;
        Ok(match row {
            Some(r) => LeaseOutcome::HeldBy {
                holder: r.text("holder")?,
                run_id: r.opt_text("runId")?,
            },
            // Released between our two statements: whoever asks next gets it.
            None => LeaseOutcome::HeldBy {
                holder: String::new(),
                run_id: None,
            },
        })
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let args = Args::new().text(name).text(holder);
        self.execute(self.sql.cleanup.release_lease, args).await?;
        Ok(())
    }

    async fn delete_orphan_activity(&self, limit: u32) -> Result<u64> {
        let args = Args::new().int(i64::from(limit));
        Ok(self
            .execute(self.sql.cleanup.delete_orphan_activity, args)
            .await?)
    }

    async fn count_expired_verifications(&self, now: OffsetDateTime) -> Result<u64> {
        let args = Args::new().time(now);
        self.count_rows(self.sql.cleanup.count_verifications, args)
            .await
    }

    async fn delete_expired_verifications(&self, now: OffsetDateTime, limit: u32) -> Result<u64> {
        let args = Args::new().time(now).int(i64::from(limit));
        Ok(self
            .execute(self.sql.cleanup.delete_verifications, args)
            .await?)
    }

    async fn record_cleanup_run(
        &self,
        run: &CleanupRun,
        instance: &str,
        endpoints: u32,
    ) -> Result<()> {
        let policy =
            serde_json::to_string(&run.policy).map_err(|e| StoreError::Schema(e.to_string()))?;
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let args = Args::new()
            .text(&run.run_id)
            .text(run.trigger.as_str())
            .flag(run.dry_run)
            .text(&policy)
            .int(signed(run.counts.expired))
            .int(signed(run.counts.inactive))
            .int(signed(run.counts.excess))
            .int(signed(run.total))
            .time(run.started_at)
            .opt_time(run.finished_at)
            .opt_int(run.duration_ms.map(signed))
            .text(run.outcome.as_str())
            .opt_text(run.error.as_deref())
            .int(signed(run.counts.verifications))
            .opt_text(run.tenant_id.as_deref())
            .int(signed(run.counts.absolute))
            .text(instance);
        if endpoints == 0 {
            self.execute(self.sql.cleanup.record_run, args).await?;
            return Ok(());
        }
        // The run without its sample, which names sessions and can be long.
        let mut result = run.clone();
        result.sample = None;
        let event = NewEvent {
            event_type: "cleanup.run.finished",
            order_key: &run.run_id,
            session_id: None,
            user_id: None,
            tenant_id: None,
            data: Some(
                serde_json::to_string(&result).map_err(|e| StoreError::Schema(e.to_string()))?,
            ),
            at: run.finished_at.unwrap_or(run.started_at),
            endpoints,
        };
        let mut tx = self.begin_write().await?;
        self.execute_in(&mut *tx, self.sql.cleanup.record_run, args)
            .await?;
        self.enqueue_in(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn abandon_running_runs(&self, now: OffsetDateTime, error: &str) -> Result<u64> {
        let args = Args::new().time(now).text(error);
        Ok(self.execute(self.sql.cleanup.abandon_runs, args).await?)
    }

    async fn list_cleanup_runs(
        &self,
        limit: u32,
        before: Option<&Cursor>,
        tenant: Option<&str>,
    ) -> Result<RunPage> {
        let args = Args::new()
            .opt_time(before.map(|c| c.at))
            .opt_text(before.map(|c| c.id.as_str()))
            .int(i64::from(limit) + 1)
            .opt_text(tenant);
        let rows = self.fetch_all(self.sql.cleanup.list_runs, args).await?;
        let runs = rows.iter().map(decode_run).collect::<Result<Vec<_>>>()?;
        let (runs, next_cursor) = keyset_page(runs, limit, |r| Cursor {
            at: r.started_at,
            id: r.run_id.clone(),
        });
        Ok(RunPage { runs, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_positions_round_trip_and_reject_junk() {
        let p = HeapPos {
            block: 4_294_967_295,
            offset: 291,
        };
        assert_eq!(p.tid(), "(4294967295,291)");
        assert_eq!(HeapPos::parse(&p.tid()), Some(p));
        assert_eq!(p.next().tid(), "(4294967295,292)");
        assert!(
            HeapPos::block_start(3)
                < HeapPos {
                    block: 3,
                    offset: 1
                }
        );
        for junk in ["", "(1,2", "1,2)", "(1;2)", "(a,2)", "(1,-2)", "(,)"] {
            assert_eq!(HeapPos::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_global_layer_reaches_around_the_tenants_that_set_its_value() {
        let policy = CleanupPolicy::default();
        let overrides = Overrides {
            inactive: vec!["A".into()],
            ..Overrides::default()
        };
        let (all, a, b) = (
            Scope::All,
            Scope::Tenant("A".into()),
            Scope::Tenant("B".into()),
        );
        let c = |scope, overrides| Criteria {
            policy: &policy,
            now: OffsetDateTime::UNIX_EPOCH,
            scope,
            actor: None,
            overrides,
        };
        let listed = ["A".to_owned()];
        assert_eq!(
            c(&all, Some(&overrides)).reach(Layer::Inactive),
            Reach::Excluding(&listed)
        );
        assert_eq!(
            c(&a, Some(&overrides)).reach(Layer::Inactive),
            Reach::Nothing
        );
        assert_eq!(c(&b, Some(&overrides)).reach(Layer::Inactive), Reach::All);
        for layer in [Layer::Expired, Layer::Absolute, Layer::Excess] {
            assert_eq!(
                c(&all, Some(&overrides)).reach(layer),
                Reach::All,
                "{layer:?}"
            );
        }
        assert_eq!(c(&all, None).reach(Layer::Inactive), Reach::All);
        assert!(Overrides::default().is_empty() && !overrides.is_empty());
    }

    #[test]
    fn gauges_after_a_run_lose_what_each_layer_deleted() {
        let before = SessionGauges {
            active: 100,
            expired: 60,
            inactive: 15,
        };
        let deleted = LayerCounts {
            expired: 50,
            absolute: 0,
            inactive: 15,
            excess: 30,
            verifications: 0,
        };
        let after = SessionGauges {
            active: 70,
            expired: 10,
            inactive: 0,
        };
        assert_eq!(before.after_deleting(deleted), after);
        // Rows that arrived during the run may be deleted too: never below zero.
        let more = LayerCounts {
            expired: 61,
            ..deleted
        };
        assert_eq!(before.after_deleting(more).expired, 0);
    }
}
