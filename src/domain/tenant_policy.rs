//! A tenant's own session policy: each field overrides the global setting of the same meaning
//! for that tenant's sessions; `None` falls back to the global policy.

use super::limits::{self, Range};
use super::policy::{CheckPolicy, CleanupPolicy};
use serde::{Deserialize, Serialize};

/// `maxSessionsPerTenant`: active sessions of one tenant.
pub const MAX_SESSIONS_PER_TENANT: Range = Range::new(1, 100_000_000);
/// `inactivityTimeoutSeconds` and `absoluteTimeoutSeconds`.
pub const TIMEOUT_SECONDS: Range = Range::new(1, limits::TIMEOUT_SECONDS_MAX);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantPolicy {
    /// Sessions per user of this tenant, higher or lower than `MAX_SESSIONS_PER_USER` (bounds:
    /// as that setting's).
    pub max_sessions_per_user: Option<u32>,
    /// Idle seconds after which a session of this tenant ends, longer or shorter than the
    /// global inactivity timeout.
    pub inactivity_timeout_seconds: Option<u32>,
    /// Seconds since sign-in after which a session of this tenant ends, whatever its activity;
    /// longer or shorter than the global absolute timeout.
    pub absolute_timeout_seconds: Option<u32>,
    /// Active sessions of the whole tenant; over it the least recently active one is evicted
    /// (or the sign-in refused under `SESSION_LIMIT_STRATEGY=deny`).
    pub max_sessions_per_tenant: Option<u32>,
}

impl TenantPolicy {
    /// The first field outside its bounds, as `(field, range, value)`.
    pub fn out_of_bounds(&self) -> Option<(&'static str, Range, u32)> {
        [
            (
                "maxSessionsPerUser",
                limits::MAX_SESSIONS_PER_USER,
                self.max_sessions_per_user,
            ),
            (
                "inactivityTimeoutSeconds",
                TIMEOUT_SECONDS,
                self.inactivity_timeout_seconds,
            ),
            (
                "absoluteTimeoutSeconds",
                TIMEOUT_SECONDS,
                self.absolute_timeout_seconds,
            ),
            (
                "maxSessionsPerTenant",
                MAX_SESSIONS_PER_TENANT,
                self.max_sessions_per_tenant,
            ),
        ]
        .into_iter()
        .find_map(|(field, range, v)| v.filter(|n| !range.contains(*n)).map(|n| (field, range, n)))
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The check policy for this tenant's sessions: its timeouts where set, else `global`'s.
    /// A tenant's own timeout applies even when the global one is off.
    pub fn check_policy(&self, global: CheckPolicy) -> CheckPolicy {
        CheckPolicy {
            inactivity_seconds: self
                .inactivity_timeout_seconds
                .map(i64::from)
                .or(global.inactivity_seconds),
            absolute_seconds: self
                .absolute_timeout_seconds
                .map(i64::from)
                .or(global.absolute_seconds),
        }
    }

    /// The cleanup policy for this tenant's sessions: its values where set, else `global`'s.
    /// A layer the tenant sets runs for it even when the global switch is off.
    pub fn cleanup_policy(&self, global: &CleanupPolicy) -> CleanupPolicy {
        CleanupPolicy {
            clean_inactive_sessions: global.clean_inactive_sessions
                || self.inactivity_timeout_seconds.is_some(),
            inactivity_seconds: self
                .inactivity_timeout_seconds
                .map(i64::from)
                .or(global.inactivity_seconds),
            enforce_session_limits: global.enforce_session_limits
                || self.max_sessions_per_user.is_some(),
            max_sessions_per_user: self
                .max_sessions_per_user
                .unwrap_or(global.max_sessions_per_user),
            absolute_timeout_seconds: self
                .absolute_timeout_seconds
                .map(i64::from)
                .or(global.absolute_timeout_seconds),
            ..*global
        }
    }

    /// The per-user limit for this tenant's users: its own where set, else `global` (`None`:
    /// no limit).
    pub fn user_limit(&self, global: Option<u32>) -> Option<u32> {
        self.max_sessions_per_user.or(global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_fall_back_and_set_ones_win() {
        let global = CheckPolicy {
            inactivity_seconds: Some(600),
            absolute_seconds: None,
        };
        let p = TenantPolicy {
            absolute_timeout_seconds: Some(60),
            ..TenantPolicy::default()
        };
        let c = p.check_policy(global);
        assert_eq!(c.inactivity_seconds, Some(600));
        assert_eq!(c.absolute_seconds, Some(60));
        assert_eq!(p.user_limit(Some(10)), Some(10));
        assert_eq!(p.user_limit(None), None);
        let q = TenantPolicy {
            max_sessions_per_user: Some(2),
            ..TenantPolicy::default()
        };
        assert_eq!(q.user_limit(None), Some(2));
    }

    #[test]
    fn the_cleanup_policy_takes_the_tenants_values_and_turns_their_layers_on() {
        let global = CleanupPolicy {
            clean_inactive_sessions: false,
            enforce_session_limits: false,
            ..CleanupPolicy::default()
        };
        let p = TenantPolicy {
            inactivity_timeout_seconds: Some(60),
            max_sessions_per_user: Some(2),
            ..TenantPolicy::default()
        };
        let c = p.cleanup_policy(&global);
        assert!(c.clean_inactive_sessions && c.enforce_session_limits);
        assert_eq!(c.inactivity(), time::Duration::seconds(60));
        assert_eq!(c.max_sessions_per_user, 2);
        assert_eq!(c.absolute_timeout_seconds, None);
        assert_eq!(TenantPolicy::default().cleanup_policy(&global), global);
        let abs = TenantPolicy {
            absolute_timeout_seconds: Some(3600),
            ..TenantPolicy::default()
        };
        assert_eq!(
            abs.cleanup_policy(&global).absolute_timeout_seconds,
            Some(3600)
        );
    }

    #[test]
    fn bounds_name_the_field() {
        let p = TenantPolicy {
            max_sessions_per_tenant: Some(0),
            ..TenantPolicy::default()
        };
        assert_eq!(
            p.out_of_bounds().map(|(f, _, n)| (f, n)),
            Some(("maxSessionsPerTenant", 0))
        );
        assert!(TenantPolicy::default().is_empty());
        assert_eq!(TenantPolicy::default().out_of_bounds(), None);
    }
}
