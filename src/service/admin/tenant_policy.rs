//! Per-tenant session policies: read (global admins, and a tenant admin their own tenant's),
//! write and remove (global admins), every change audited.

use super::audit::Record;
use super::types::{DeletedBody, EffectiveTenantPolicy, TenantPolicyView};
use super::{Actor, AdminService, forbidden_tenant, required};
use crate::domain::Scope;
use crate::domain::limits;
use crate::domain::tenant_policy::TenantPolicy;
use crate::service::{Error, Result};
use crate::store::tenant_policy::StoredTenantPolicy;

fn global_only(actor: &Actor) -> Result<()> {
    match actor.scope {
        Scope::All => Ok(()),
        Scope::Tenant(_) => Err(Error::Forbidden {
            code: "FORBIDDEN",
            message: "Only a global admin may change a tenant's session policy".into(),
        }),
    }
}

impl AdminService {
    pub async fn tenant_policy(&self, actor: &Actor, tenant: &str) -> Result<TenantPolicyView> {
        required("tenantId", tenant, limits::ID_LEN)?;
        if let Scope::Tenant(own) = &actor.scope
            && own != tenant
        {
            return Err(forbidden_tenant());
        }
        let stored = self.core.store().find_tenant_policy(tenant).await?;
        Ok(self.view(tenant, stored))
    }

    /// Replaces the tenant's policy with `policy` (an absent field: unset). A value may be
    /// looser or stricter than the global one: it replaces it for the tenant's sessions at
    /// sign-in, at check time and in the cleanup.
    pub async fn put_tenant_policy(
        &self,
        actor: &Actor,
        tenant: &str,
        policy: TenantPolicy,
    ) -> Result<TenantPolicyView> {
        global_only(actor)?;
        required("tenantId", tenant, limits::ID_LEN)?;
        if let Some((field, range, n)) = policy.out_of_bounds() {
            return Err(Error::Validation(format!(
                "{field} must be between {} and {}, got {n}",
                range.min, range.max
            )));
        }
        if policy.is_empty() {
            return Err(Error::Validation(
                "Set at least one of maxSessionsPerUser, inactivityTimeoutSeconds, \
                 absoluteTimeoutSeconds, maxSessionsPerTenant (DELETE removes a policy)"
                    .into(),
            ));
        }
        let stored = StoredTenantPolicy {
            tenant_id: tenant.to_owned(),
            policy,
            updated_at: self.core.now(),
            updated_by: actor.label(),
        };
        self.core.store().put_tenant_policy(&stored).await?;
        self.refresh_policies().await;
        let record = Record {
            action: "tenant_policy.put",
            target: Some(format!("tenant:{tenant}")),
            criteria: serde_json::to_value(policy).ok(),
            count: 1,
            tenant: Some(tenant),
        };
        self.audit(actor, record).await;
        Ok(self.view(tenant, Some(stored)))
    }

    pub async fn delete_tenant_policy(&self, actor: &Actor, tenant: &str) -> Result<DeletedBody> {
        global_only(actor)?;
        required("tenantId", tenant, limits::ID_LEN)?;
        let deleted = self.core.store().delete_tenant_policy(tenant).await?;
        self.refresh_policies().await;
        let record = Record {
            action: "tenant_policy.delete",
            target: Some(format!("tenant:{tenant}")),
            criteria: None,
            count: u64::from(deleted),
            tenant: Some(tenant),
        };
        self.audit(actor, record).await;
        Ok(DeletedBody { deleted })
    }

    /// The change is stored: a failed re-read leaves it to the periodic refresh.
    async fn refresh_policies(&self) {
        if let Err(e) = self.core.reload_tenant_policies().await {
            tracing::warn!(error = %e, "cannot re-read the tenant policies after a change");
        }
    }

    fn view(&self, tenant: &str, stored: Option<StoredTenantPolicy>) -> TenantPolicyView {
        let config = self.core.config();
        let p = stored.as_ref().map(|s| s.policy).unwrap_or_default();
        let global = &config.cleanup.policy;
        let check = p.check_policy(config.check_policy());
        TenantPolicyView {
            tenant_id: tenant.to_owned(),
            max_sessions_per_user: p.max_sessions_per_user,
            inactivity_timeout_seconds: p.inactivity_timeout_seconds,
            absolute_timeout_seconds: p.absolute_timeout_seconds,
            max_sessions_per_tenant: p.max_sessions_per_tenant,
            updated_at: stored.as_ref().map(|s| s.updated_at),
            updated_by: stored.map(|s| s.updated_by),
            effective: EffectiveTenantPolicy {
                max_sessions_per_user: p.user_limit(
                    global
                        .enforce_session_limits
                        .then_some(global.max_sessions_per_user),
                ),
                inactivity_timeout_seconds: check.inactivity_seconds,
                absolute_timeout_seconds: check.absolute_seconds,
                max_sessions_per_tenant: p.max_sessions_per_tenant,
            },
        }
    }
}
