//! A run over the sessions of a Redis-only app (`SESSION_STORAGE=secondary`): the same layers,
//! decided a page of users at a time (one `SCAN` call and pipelined reads, so Redis is never
//! held for long), each page's removals done as Better Auth's `deleteSession` does, with the
//! lease renewed and the usual pause between pages. A Redis fault fails the run.

use super::{Batches, Halt};
use crate::cleanup::CleanupService;
use crate::domain::cleanup_plan::{Layer, inactive_cutoff};
use crate::domain::run::{LayerCounts, SampleEntry};
use crate::secondary::SecondaryStorage;
use crate::secondary::layers::{count_page, plan_page, tenant_of};
use crate::secondary::sessions::ListWalk;
use crate::store::StoreError;
use crate::store::cleanup::{Criteria, SessionGauges};
use std::time::Instant;
use time::OffsetDateTime;

/// Redis sessions carry no tenant: a tenant-scoped run cannot choose among them.
const NO_TENANT: &str = "a tenant-scoped cleanup run is not available with SESSION_STORAGE=secondary (sessions in Redis carry no tenant)";

fn redis_error(e: crate::secondary::SecondaryError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl Batches<'_> {
    pub(super) async fn delete_redis_layers(
        &mut self,
        redis: &SecondaryStorage,
    ) -> Result<(), Halt> {
        if self.criteria.scope.tenant().is_some() {
            return Err(Halt::Failed(NO_TENANT.into()));
        }
        let policy = *self.criteria.policy;
        let mut walk = ListWalk::new(redis);
        loop {
            self.check_stop()?;
            let started = Instant::now();
            let fail = |e: crate::secondary::SecondaryError| Halt::Failed(e.to_string());
            let Some(page) = walk.next_page().await.map_err(fail)? else {
                return Ok(());
            };
            let plan = plan_page(&page, &policy, self.criteria.now);
            redis.remove_sessions(&plan.removals).await.map_err(fail)?;
            let schema = self.service.store.schema();
            for layer in Layer::ALL {
                let gone: Vec<_> = plan
                    .removed
                    .iter()
                    .filter(|(_, l)| *l == layer)
                    .map(|(s, _)| (&s.session, tenant_of(schema, &s.session)))
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                if let Some(end) = self.criteria.ending(layer) {
                    // After the removal: a record never claims a session that is still there.
                    self.service.store.record_ended(&gone, &end).await?;
                }
                self.deleted(layer, gone.len() as u64);
            }
            self.between_batches(started.elapsed()).await?;
        }
    }
}

impl CleanupService {
    /// A dry run's counts and sample, read from Redis.
    pub(super) async fn redis_preview(
        &self,
        redis: &SecondaryStorage,
        criteria: &Criteria<'_>,
    ) -> Result<(LayerCounts, Vec<SampleEntry>), StoreError> {
        if criteria.scope.tenant().is_some() {
            return Err(StoreError::Unavailable(NO_TENANT.into()));
        }
        let sample_size = self.config.sample_size as usize;
        let mut counts = LayerCounts::default();
        let mut sample = Vec::new();
        let mut walk = ListWalk::new(redis);
        while let Some(page) = walk.next_page().await.map_err(redis_error)? {
            let plan = plan_page(&page, criteria.policy, criteria.now);
            counts.expired += plan.counts.expired;
            counts.absolute += plan.counts.absolute;
            counts.inactive += plan.counts.inactive;
            counts.excess += plan.counts.excess;
            let room = sample_size.saturating_sub(sample.len());
            sample.extend(plan.sample(room));
        }
        sample.sort_by_key(|e: &SampleEntry| e.layer);
        Ok((counts, sample))
    }
}

/// The session gauges of a Redis-only app, by the database gauges' definitions.
pub(crate) async fn redis_gauges(
    redis: &SecondaryStorage,
    now: OffsetDateTime,
    inactivity_days: u32,
) -> Result<SessionGauges, StoreError> {
    let policy = crate::domain::CleanupPolicy {
        inactivity_days,
        ..Default::default()
    };
    let before = inactive_cutoff(&policy, now);
    let mut g = SessionGauges::default();
    let mut walk = ListWalk::new(redis);
    while let Some(page) = walk.next_page().await.map_err(redis_error)? {
        count_page(&mut g, &page, now, before);
    }
    Ok(g)
}
