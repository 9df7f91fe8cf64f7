//! What the cleanup service needs from the database: per-layer counts, a sample, batched
//! deletes per layer, the lease that lets one instance at a time run the cleanup, and the run
//! history. The SQL is in [`cleanup_queries`](super::cleanup_queries); the method bodies are
//! written once below and expanded for both backends.

use super::Result;
use crate::domain::cleanup_plan::{Layer, inactive_cutoff};
use crate::domain::run::{CleanupRun, LayerCounts, SampleEntry};
use crate::domain::timefmt;
use crate::domain::{CleanupPolicy, Scope};
use async_trait::async_trait;
use time::OffsetDateTime;

/// What one run decides by: the policy, the instant it started and the sessions it may touch.
#[derive(Debug, Clone, Copy)]
pub struct Criteria<'a> {
    pub policy: &'a CleanupPolicy,
    pub now: OffsetDateTime,
    pub scope: &'a Scope,
}

impl Criteria<'_> {
    pub fn cutoff(&self) -> OffsetDateTime {
        inactive_cutoff(self.policy, self.now)
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

/// A position in the run history (newest first), as `<startedAt>_<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCursor {
    pub started_at: OffsetDateTime,
    pub id: String,
}

impl RunCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", timefmt::format(self.started_at), self.id)
    }

    /// `None` for anything [`encode`](Self::encode) does not produce.
    pub fn parse(s: &str) -> Option<Self> {
        let (at, id) = s.split_once('_')?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Self {
            started_at: timefmt::parse(at)?,
            id: id.to_owned(),
        })
    }
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
    ) -> Result<SessionGauges>;
    /// Deletes up to `limit` expired sessions; returns how many went.
    async fn delete_expired_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` inactive (unexpired) sessions.
    async fn delete_inactive_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64>;
    /// The session table's length in heap blocks where the per-row layers can be deleted in
    /// physical order (PostgreSQL 14 or later); `None` elsewhere: SQLite, the embedded store,
    /// deletes through the indexes.
    async fn session_heap_blocks(&self) -> Result<Option<u64>>;
    /// Deletes the sessions of a per-row layer (expired or inactive) stored from `from` up to,
    /// not including, block `to`, in one transaction, unless there are more than `limit`:
    /// then it deletes nothing and returns `None`. PostgreSQL only.
    async fn delete_layer_range(
        &self,
        c: &Criteria<'_>,
        layer: Layer,
        from: HeapPos,
        to: u64,
        limit: u32,
    ) -> Result<Option<u64>>;
    /// Deletes the first `limit` sessions (in physical order) of a per-row layer stored from
    /// `from` up to block `to`. PostgreSQL only.
    async fn delete_layer_capped(
        &self,
        c: &Criteria<'_>,
        layer: Layer,
        from: HeapPos,
        to: u64,
        limit: u32,
    ) -> Result<CappedBatch>;
    /// Users (ids above `after`, in id order) with more surviving sessions than the limit, and
    /// how many they have.
    async fn users_over_limit(
        &self,
        c: &Criteria<'_>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, u64)>>;
    /// Deletes up to `limit` excess sessions of the users with ids in `(after, upto]`.
    async fn delete_excess_batch(
        &self,
        c: &Criteria<'_>,
        after: &str,
        upto: &str,
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
    /// Inserts (or replaces) a run record.
    async fn record_cleanup_run(&self, run: &CleanupRun, instance: &str) -> Result<()>;
    /// The run history, newest first.
    async fn list_cleanup_runs(&self, limit: u32, before: Option<&RunCursor>) -> Result<RunPage>;
}

macro_rules! impl_cleanup_store {
    ($store:ty, $row:ty) => {
        const _: () = {
            use sqlx::Row;
            use time::OffsetDateTime;
            use $crate::domain::cleanup_plan::Layer;
            use $crate::domain::run::{CleanupRun, LayerCounts, Outcome, SampleEntry, Trigger};
            use $crate::store::cleanup::{
                CappedBatch, CleanupStore, Criteria, HeapPos, LeaseOutcome, RunCursor, RunPage,
                SessionGauges,
            };
            use $crate::store::cleanup_queries::{CleanupQueries, queries_for};
            use $crate::store::ts::Ts;
            use $crate::store::{Result, Store, StoreError};

            fn cq(store: &$store) -> &'static CleanupQueries {
                queries_for(&store.schema, store.backend())
            }

            fn pick(sql: &[&'static str; 2], c: &Criteria<'_>) -> &'static str {
                sql[usize::from(c.scope.tenant().is_some())]
            }

            fn count(n: i64) -> u64 {
                u64::try_from(n).unwrap_or(0)
            }

            fn decode_sample(
                row: &$row,
                layer: Layer,
            ) -> std::result::Result<SampleEntry, sqlx::Error> {
                Ok(SampleEntry {
                    session_id: row.try_get(0)?,
                    user_id: row.try_get(1)?,
                    layer,
                    expires_at: row.try_get::<Ts, _>(2)?.0,
                    updated_at: row.try_get::<Ts, _>(3)?.0,
                })
            }

            fn decode_run(row: &$row) -> Result<CleanupRun> {
                let bad = |what: &str, v: &str| {
                    StoreError::Schema(format!(
                        "sessionkeeper_cleanup_run: unreadable {what} {v:?}"
                    ))
                };
                let trigger: String = row.try_get(1)?;
                let policy: String = row.try_get(3)?;
                let outcome: String = row.try_get(11)?;
                Ok(CleanupRun {
                    run_id: row.try_get(0)?,
                    trigger: Trigger::parse(&trigger).ok_or_else(|| bad("trigger", &trigger))?,
                    dry_run: row.try_get(2)?,
                    policy: serde_json::from_str(&policy).map_err(|_| bad("policy", &policy))?,
                    counts: LayerCounts {
                        expired: count(row.try_get(4)?),
                        inactive: count(row.try_get(5)?),
                        excess: count(row.try_get(6)?),
                    },
                    total: count(row.try_get(7)?),
                    started_at: row.try_get::<Ts, _>(8)?.0,
                    finished_at: row.try_get::<Option<Ts>, _>(9)?.map(|t| t.0),
                    duration_ms: row.try_get::<Option<i64>, _>(10)?.map(count),
                    outcome: Outcome::parse(&outcome).ok_or_else(|| bad("outcome", &outcome))?,
                    error: row.try_get(12)?,
                    sample: None,
                })
            }

            /// Binds the layer parameters `$1..$5` every layer statement starts with.
            macro_rules! layer_params {
                ($query:expr, $c:expr) => {
                    $query
                        .bind(Ts($c.now))
                        .bind(Ts($c.cutoff()))
                        .bind(i64::from($c.policy.max_sessions_per_user))
                        .bind($c.policy.clean_expired_tokens)
                        .bind($c.policy.clean_inactive_sessions)
                };
            }

            /// Binds a per-row layer's own parameters: now, and for the inactive layer the cutoff.
            macro_rules! range_layer {
                ($sql:expr, $c:expr, $layer:expr) => {{
                    let query = sqlx::query($sql).bind(Ts($c.now));
                    match $layer {
                        Layer::Inactive => query.bind(Ts($c.cutoff())),
                        _ => query,
                    }
                }};
            }

            fn range_guard(store: &$store, layer: Layer) -> Result<()> {
                if store.backend() != $crate::store::Backend::Postgres {
                    return Err(StoreError::Schema(
                        "deletes by block range need PostgreSQL".into(),
                    ));
                }
                if layer == Layer::Excess {
                    return Err(StoreError::Schema(
                        "the excess layer is not decided row by row".into(),
                    ));
                }
                Ok(())
            }

            #[async_trait::async_trait]
            impl CleanupStore for $store {
                async fn cleanup_counts(&self, c: &Criteria<'_>) -> Result<LayerCounts> {
                    let q = cq(self);
                    let tenant = c.scope.tenant();
                    let mut out = LayerCounts::default();
                    if c.policy.clean_expired_tokens {
                        let n: i64 = sqlx::query_scalar(pick(&q.count_expired, c))
                            .bind(Ts(c.now))
                            .bind(tenant)
                            .fetch_one(&self.pool)
                            .await?;
                        out.expired = count(n);
                    }
                    if c.policy.clean_inactive_sessions {
                        let n: i64 = sqlx::query_scalar(pick(&q.count_inactive, c))
                            .bind(Ts(c.now))
                            .bind(Ts(c.cutoff()))
                            .bind(tenant)
                            .fetch_one(&self.pool)
                            .await?;
                        out.inactive = count(n);
                    }
                    if c.policy.enforce_session_limits {
                        let n: i64 = layer_params!(sqlx::query_scalar(pick(&q.count_excess, c)), c)
                            .bind(tenant)
                            .fetch_one(&self.pool)
                            .await?;
                        out.excess = count(n);
                    }
                    Ok(out)
                }

                async fn cleanup_sample(
                    &self,
                    c: &Criteria<'_>,
                    limit: u32,
                ) -> Result<Vec<SampleEntry>> {
                    let q = cq(self);
                    let tenant = c.scope.tenant();
                    let mut out = Vec::new();
                    let left = |out: &Vec<SampleEntry>| i64::from(limit) - out.len() as i64;
                    if c.policy.clean_expired_tokens && left(&out) > 0 {
                        let rows = sqlx::query(pick(&q.sample_expired, c))
                            .bind(Ts(c.now))
                            .bind(left(&out))
                            .bind(tenant)
                            .fetch_all(&self.pool)
                            .await?;
                        for r in &rows {
                            out.push(decode_sample(r, Layer::Expired)?);
                        }
                    }
                    if c.policy.clean_inactive_sessions && left(&out) > 0 {
                        let rows = sqlx::query(pick(&q.sample_inactive, c))
                            .bind(Ts(c.now))
                            .bind(Ts(c.cutoff()))
                            .bind(left(&out))
                            .bind(tenant)
                            .fetch_all(&self.pool)
                            .await?;
                        for r in &rows {
                            out.push(decode_sample(r, Layer::Inactive)?);
                        }
                    }
                    if c.policy.enforce_session_limits && left(&out) > 0 {
                        let rows = layer_params!(sqlx::query(pick(&q.sample_excess, c)), c)
                            .bind(left(&out))
                            .bind(tenant)
                            .fetch_all(&self.pool)
                            .await?;
                        for r in &rows {
                            out.push(decode_sample(r, Layer::Excess)?);
                        }
                    }
                    Ok(out)
                }

                async fn session_gauges(
                    &self,
                    now: OffsetDateTime,
                    inactivity_days: u32,
                ) -> Result<SessionGauges> {
                    let cutoff = now - time::Duration::days(i64::from(inactivity_days));
                    let query = sqlx::query(cq(self).gauges).bind(Ts(now)).bind(Ts(cutoff));
                    let row = if self.backend() == $crate::store::Backend::Postgres {
                        // One process for the whole table, not a parallel scan: parallel
                        // workers would take both cores of a small server from the traffic the
                        // cleanup must not slow down.
                        let mut tx = self.pool.begin().await?;
                        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
                            .execute(&mut *tx)
                            .await?;
                        let row = query.fetch_one(&mut *tx).await?;
                        tx.commit().await?;
                        row
                    } else {
                        query.fetch_one(&self.pool).await?
                    };
                    let (total, expired, inactive): (i64, i64, i64) =
                        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                    Ok(SessionGauges {
                        active: count(total - expired - inactive),
                        expired: count(expired),
                        inactive: count(inactive),
                    })
                }

                async fn delete_expired_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64> {
                    let done = sqlx::query(pick(&cq(self).delete_expired, c))
                        .bind(Ts(c.now))
                        .bind(i64::from(limit))
                        .bind(c.scope.tenant())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn delete_inactive_batch(&self, c: &Criteria<'_>, limit: u32) -> Result<u64> {
                    let done = sqlx::query(pick(&cq(self).delete_inactive, c))
                        .bind(Ts(c.now))
                        .bind(Ts(c.cutoff()))
                        .bind(i64::from(limit))
                        .bind(c.scope.tenant())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn session_heap_blocks(&self) -> Result<Option<u64>> {
                    if self.backend() != $crate::store::Backend::Postgres {
                        return Ok(None);
                    }
                    let q = cq(self);
                    let blocks: Option<i64> = sqlx::query_scalar(q.heap_blocks)
                        .bind(q.session_table)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(blocks.map(count))
                }

                async fn delete_layer_range(
                    &self,
                    c: &Criteria<'_>,
                    layer: Layer,
                    from: HeapPos,
                    to: u64,
                    limit: u32,
                ) -> Result<Option<u64>> {
                    let q = cq(self);
                    let sql = match layer {
                        Layer::Expired => pick(&q.delete_expired_range, c),
                        _ => pick(&q.delete_inactive_range, c),
                    };
                    range_guard(self, layer)?;
                    let query = range_layer!(sql, c, layer);
                    // Optimistic: the common case (the range holds no more than the cap) costs
                    // one plain range delete; the rare overflow is undone.
                    let mut tx = self.pool.begin().await?;
                    let done = query
                        .bind(from.tid())
                        .bind(HeapPos::block_start(to).tid())
                        .bind(c.scope.tenant())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() > u64::from(limit) {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    tx.commit().await?;
                    Ok(Some(done.rows_affected()))
                }

                async fn delete_layer_capped(
                    &self,
                    c: &Criteria<'_>,
                    layer: Layer,
                    from: HeapPos,
                    to: u64,
                    limit: u32,
                ) -> Result<CappedBatch> {
                    let q = cq(self);
                    let sql = match layer {
                        Layer::Expired => pick(&q.delete_expired_capped, c),
                        _ => pick(&q.delete_inactive_capped, c),
                    };
                    range_guard(self, layer)?;
                    let row = range_layer!(sql, c, layer)
                        .bind(from.tid())
                        .bind(HeapPos::block_start(to).tid())
                        .bind(i64::from(limit))
                        .bind(c.scope.tenant())
                        .fetch_one(&self.pool)
                        .await?;
                    let cut: Option<String> = row.try_get(1)?;
                    let cut =
                        match cut {
                            Some(t) => Some(HeapPos::parse(&t).ok_or_else(|| {
                                StoreError::Schema(format!("unreadable tid {t:?}"))
                            })?),
                            None => None,
                        };
                    Ok(CappedBatch {
                        deleted: count(row.try_get(0)?),
                        cut,
                    })
                }

                async fn users_over_limit(
                    &self,
                    c: &Criteria<'_>,
                    after: &str,
                    limit: u32,
                ) -> Result<Vec<(String, u64)>> {
                    let rows = layer_params!(sqlx::query(cq(self).users_over_limit), c)
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, count(r.try_get(1)?))))
                        .collect()
                }

                async fn delete_excess_batch(
                    &self,
                    c: &Criteria<'_>,
                    after: &str,
                    upto: &str,
                    limit: u32,
                ) -> Result<u64> {
                    let done = layer_params!(sqlx::query(pick(&cq(self).delete_excess, c)), c)
                        .bind(after)
                        .bind(upto)
                        .bind(i64::from(limit))
                        .bind(c.scope.tenant())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn acquire_lease(
                    &self,
                    name: &str,
                    holder: &str,
                    run_id: &str,
                    ttl_seconds: u64,
                    now: OffsetDateTime,
                ) -> Result<LeaseOutcome> {
                    let q = cq(self);
                    let query = sqlx::query(q.acquire_lease)
                        .bind(name)
                        .bind(holder)
                        .bind(run_id);
                    let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX);
                    let query = match self.backend() {
                        $crate::store::Backend::Postgres => query.bind(ttl as f64),
                        $crate::store::Backend::Sqlite => query
                            .bind(Ts(now + time::Duration::seconds(ttl)))
                            .bind(Ts(now)),
                    };
                    if query.execute(&self.pool).await?.rows_affected() > 0 {
                        return Ok(LeaseOutcome::Acquired);
                    }
                    let row = sqlx::query(q.lease_holder)
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(match row {
                        Some(r) => LeaseOutcome::HeldBy {
                            holder: r.try_get(0)?,
                            run_id: r.try_get(1)?,
                        },
                        // Released between our two statements: whoever asks next gets it.
                        None => LeaseOutcome::HeldBy {
                            holder: String::new(),
                            run_id: None,
                        },
                    })
                }

                async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
                    sqlx::query(cq(self).release_lease)
                        .bind(name)
                        .bind(holder)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn record_cleanup_run(&self, run: &CleanupRun, instance: &str) -> Result<()> {
                    let policy = serde_json::to_string(&run.policy)
                        .map_err(|e| StoreError::Schema(e.to_string()))?;
                    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                    sqlx::query(cq(self).record_run)
                        .bind(&run.run_id)
                        .bind(run.trigger.as_str())
                        .bind(run.dry_run)
                        .bind(policy)
                        .bind(signed(run.counts.expired))
                        .bind(signed(run.counts.inactive))
                        .bind(signed(run.counts.excess))
                        .bind(signed(run.total))
                        .bind(Ts(run.started_at))
                        .bind(run.finished_at.map(Ts))
                        .bind(run.duration_ms.map(signed))
                        .bind(run.outcome.as_str())
                        .bind(&run.error)
                        .bind(instance)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn list_cleanup_runs(
                    &self,
                    limit: u32,
                    before: Option<&RunCursor>,
                ) -> Result<RunPage> {
                    let rows = sqlx::query(cq(self).list_runs)
                        .bind(before.map(|c| Ts(c.started_at)))
                        .bind(before.map(|c| c.id.as_str()))
                        .bind(i64::from(limit) + 1)
                        .fetch_all(&self.pool)
                        .await?;
                    let mut runs = rows.iter().map(decode_run).collect::<Result<Vec<_>>>()?;
                    let next_cursor = if runs.len() > limit as usize {
                        runs.truncate(limit as usize);
                        runs.last().map(|r| {
                            RunCursor {
                                started_at: r.started_at,
                                id: r.run_id.clone(),
                            }
                            .encode()
                        })
                    } else {
                        None
                    };
                    Ok(RunPage { runs, next_cursor })
                }
            }
        };
    };
}

impl_cleanup_store!(super::sqlite::SqliteStore, sqlx::sqlite::SqliteRow);
impl_cleanup_store!(super::postgres::PgStore, sqlx::postgres::PgRow);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
    fn gauges_after_a_run_lose_what_each_layer_deleted() {
        let before = SessionGauges {
            active: 100,
            expired: 60,
            inactive: 15,
        };
        let deleted = LayerCounts {
            expired: 50,
            inactive: 15,
            excess: 30,
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

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = RunCursor {
            started_at: datetime!(2026-05-01 10:00:00.123 UTC),
            id: "abc123".into(),
        };
        assert_eq!(RunCursor::parse(&c.encode()), Some(c));
        for junk in [
            "",
            "abc",
            "2026-05-01T10:00:00.123Z_",
            "notadate_abc",
            "2026-05-01T10:00:00.123Z_a'b",
        ] {
            assert_eq!(RunCursor::parse(junk), None, "{junk}");
        }
    }
}
