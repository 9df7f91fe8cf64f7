//! The in-memory copy of the per-tenant policies that sign-in and every session check read.
//!
//! The table is read again after each change made through this instance and every
//! [`REFRESH`] in the background, so a change made on another instance takes effect here
//! within that period. With no policy stored, the hot path pays one relaxed atomic load.

use crate::domain::tenant_policy::TenantPolicy;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

/// How often the copy is read again from the store.
pub const REFRESH: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct TenantPolicies {
    /// False while no tenant has a policy: checks skip the map entirely.
    any: AtomicBool,
    map: RwLock<HashMap<String, TenantPolicy>>,
}

impl TenantPolicies {
    /// The policy of `tenant`, when it has one.
    pub fn get(&self, tenant: Option<&str>) -> Option<TenantPolicy> {
        let tenant = tenant?;
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(tenant).copied()
    }

    /// Replaces the copy with what the store holds now.
    pub async fn reload(&self, store: &dyn Store) -> crate::store::Result<()> {
        let rows = store.list_tenant_policies().await?;
        let fresh: HashMap<String, TenantPolicy> = rows
            .into_iter()
            .filter(|r| !r.policy.is_empty())
            .map(|r| (r.tenant_id, r.policy))
            .collect();
        let any = !fresh.is_empty();
        *self.map.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.any.store(any, Ordering::Relaxed);
        Ok(())
    }

    /// Reads the table now and then every [`REFRESH`], for as long as `this` lives.
    pub fn spawn(this: &Arc<Self>, store: Arc<dyn Store>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(this);
        handle.spawn(async move {
            let mut tick = tokio::time::interval(REFRESH);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(policies) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = policies.reload(store.as_ref()).await {
                    // The last copy stays in force until a read succeeds.
                    tracing::warn!(error = %e, "reading the tenant policies failed; retrying");
                }
            }
        });
    }
}
