//! A run's per-tenant passes: each tenant with a stored policy gets its own absolute, inactive
//! and excess layers and its cap, over its sessions only, before the global layers; a dry run
//! counts and samples what they would remove. A layer whose value the tenant's policy sets
//! (looser or stricter than the global one) is its pass's alone: the global layer leaves
//! the tenant's sessions ([`overrides`]). For the layers it leaves unset, its pass runs the
//! global value, so the global layer then finds none of its sessions to remove.

use super::{Batches, Halt, batch_span};
use crate::cleanup::CleanupService;
use crate::domain::cleanup_plan::Layer;
use crate::domain::run::{LayerCounts, SampleEntry};
use crate::domain::tenant_policy::TenantPolicy;
use crate::domain::{CleanupPolicy, Scope};
use crate::store::StoreError;
use crate::store::cleanup::{Criteria, Overrides, RowLayer};
use std::time::Instant;
use tracing::Instrument;

/// One tenant's own passes in a run: its policy over the global one, confined to its sessions.
pub(super) struct TenantPass {
    pub(super) scope: Scope,
    pub(super) policy: CleanupPolicy,
    /// `maxSessionsPerTenant`.
    pub(super) cap: Option<u32>,
    /// The tenant's stored policy: which values it sets.
    pub(super) own: TenantPolicy,
}

/// The tenants of `passes` whose policy sets each layer's value.
pub(super) fn overrides(passes: &[TenantPass]) -> Overrides {
    let listed = |sets: fn(&TenantPolicy) -> bool| -> Vec<String> {
        passes
            .iter()
            .filter(|t| sets(&t.own))
            .filter_map(|t| t.scope.tenant().map(str::to_owned))
            .collect()
    };
    Overrides {
        absolute: listed(|p| p.absolute_timeout_seconds.is_some()),
        inactive: listed(|p| p.inactivity_timeout_seconds.is_some()),
        excess: listed(|p| p.max_sessions_per_user.is_some()),
    }
}

impl CleanupService {
    /// The tenants with a stored policy that a run in `scope` applies (a tenant-scoped run:
    /// its own tenant's only). With none stored, one read of the small policy table.
    pub(super) async fn tenant_passes(
        &self,
        global: &CleanupPolicy,
        scope: &Scope,
    ) -> Result<Vec<TenantPass>, StoreError> {
        // Sessions kept in Redis alone carry no tenant the passes could select by.
        if self.redis_alone().is_some() {
            return Ok(Vec::new());
        }
        let stored = self.store.list_tenant_policies().await?;
        Ok(stored
            .into_iter()
            .filter(|t| !t.policy.is_empty())
            .filter(|t| scope.tenant().is_none_or(|s| s == t.tenant_id))
            .map(|t| TenantPass {
                policy: t.policy.cleanup_policy(global),
                cap: t.policy.max_sessions_per_tenant,
                own: t.policy,
                scope: Scope::Tenant(t.tenant_id),
            })
            .collect())
    }

    /// Replaces tenant `t`'s share of a dry run's global `counts` by what its own layers
    /// would remove, and adds what its cap would take of what they leave. (The global
    /// counts already leave out the layers it overrides: its share of those is nothing.)
    pub(super) async fn count_tenant(
        &self,
        criteria: &Criteria<'_>,
        t: &TenantPass,
        counts: &mut LayerCounts,
    ) -> Result<(), StoreError> {
        let global = Criteria {
            scope: &t.scope,
            ..*criteria
        };
        let own = Criteria {
            policy: &t.policy,
            overrides: None,
            ..global
        };
        let g = self.store.cleanup_counts(&global).await?;
        let e = self.store.cleanup_counts(&own).await?;
        counts.absolute = (counts.absolute + e.absolute).saturating_sub(g.absolute);
        counts.inactive = (counts.inactive + e.inactive).saturating_sub(g.inactive);
        counts.excess = (counts.excess + e.excess).saturating_sub(g.excess);
        if let (Some(cap), Some(tenant)) = (t.cap, t.scope.tenant()) {
            let active = self.store.count_tenant_active(tenant, criteria.now).await?;
            let left = active.saturating_sub(e.absolute + e.inactive + e.excess);
            counts.excess += left.saturating_sub(u64::from(cap));
        }
        Ok(())
    }

    /// Adds to a dry run's sample what tenant `t`'s own layers and cap would remove, up to
    /// the sample's size.
    pub(super) async fn sample_tenant(
        &self,
        criteria: &Criteria<'_>,
        t: &TenantPass,
        sample: &mut Vec<SampleEntry>,
    ) -> Result<(), StoreError> {
        let limit = self.config.sample_size as usize;
        let own = Criteria {
            policy: &t.policy,
            scope: &t.scope,
            overrides: None,
            ..*criteria
        };
        let e = self.store.cleanup_counts(&own).await?;
        let removed = e.absolute + e.inactive + e.excess;
        // The expired layer comes first in a sample: read past it.
        let wide = u32::try_from(removed + e.expired).unwrap_or(u32::MAX);
        let by_layers = self.store.cleanup_sample(&own, wide).await?;
        let mut gone: std::collections::HashSet<String> =
            by_layers.iter().map(|s| s.session_id.clone()).collect();
        let add = |entry: SampleEntry, sample: &mut Vec<SampleEntry>| {
            if sample.len() < limit && !sample.iter().any(|s| s.session_id == entry.session_id) {
                sample.push(entry);
            }
        };
        for entry in by_layers {
            add(entry, sample);
        }
        let (Some(cap), Some(tenant)) = (t.cap, t.scope.tenant()) else {
            return Ok(());
        };
        let active = self.store.count_tenant_active(tenant, criteria.now).await?;
        let over = active
            .saturating_sub(removed)
            .saturating_sub(u64::from(cap));
        if over == 0 || sample.len() >= limit {
            return Ok(());
        }
        // The least recently active that the tenant's layers leave: read past those they take.
        let n = u32::try_from(over.min(limit as u64) + removed).unwrap_or(u32::MAX);
        let mut taken = 0;
        for entry in self
            .store
            .sample_tenant_least_active(tenant, criteria.now, n)
            .await?
        {
            if taken < over && gone.insert(entry.session_id.clone()) {
                taken += 1;
                add(entry, sample);
            }
        }
        Ok(())
    }
}

impl<'a> Batches<'a> {
    /// A tenant's own layers over its sessions (absolute, inactive, excess by its policy,
    /// then its cap), before the global ones: these then leave its sessions alone where it
    /// overrides the layer, and find none of them to remove where it does not.
    pub(super) async fn tenant_layers(&mut self, t: &'a TenantPass) -> Result<(), Halt> {
        let global = self.criteria;
        self.criteria = Criteria {
            policy: &t.policy,
            scope: &t.scope,
            overrides: None,
            ..global
        };
        let done = self.tenant_layers_scoped(t.cap).await;
        self.criteria = global;
        done
    }

    async fn tenant_layers_scoped(&mut self, cap: Option<u32>) -> Result<(), Halt> {
        let policy = *self.criteria.policy;
        // Through the indexes: a walk of the whole heap for one tenant costs too much.
        if self.criteria.absolute_on() {
            self.delete_indexed(RowLayer::Absolute).await?;
        }
        if policy.clean_inactive_sessions {
            self.delete_indexed(RowLayer::Inactive).await?;
        }
        if policy.enforce_session_limits {
            self.delete_excess().await?;
        }
        if let Some(cap) = cap {
            self.delete_over_cap(cap).await?;
        }
        Ok(())
    }

    /// The tenant cap: its least recently active unexpired sessions over `cap`, counted as
    /// `excess`, a batch at a time.
    async fn delete_over_cap(&mut self, cap: u32) -> Result<(), Halt> {
        let Some(tenant) = self.criteria.scope.tenant() else {
            return Ok(());
        };
        let batch = self.batch();
        loop {
            self.check_stop()?;
            let store = &self.service.store;
            let started = Instant::now();
            let active = store.count_tenant_active(tenant, self.criteria.now).await?;
            let over = active.saturating_sub(u64::from(cap));
            if over == 0 {
                return Ok(());
            }
            let n = u32::try_from(over).unwrap_or(u32::MAX).min(batch);
            let span = batch_span(Layer::Excess);
            let deleted = store
                .delete_tenant_least_active(&self.criteria, n)
                .instrument(span.clone())
                .await?;
            span.record("deleted", deleted);
            self.deleted(Layer::Excess, deleted);
            if deleted == 0 {
                return Ok(());
            }
            self.between_batches(started.elapsed()).await?;
        }
    }
}
