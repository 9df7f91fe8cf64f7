//! The cleanup control: the live status, the run history, and manual runs (the request's
//! overrides on the configured policy, confined to the caller's tenant).

use super::audit::Record;
use super::tenant_rule::Target;
use super::types::{CleanupRequest, CleanupRunList, PageParams};
use super::{Actor, AdminService, invalid_cursor, page_limit};
use crate::cleanup::{CleanupError, CleanupStatus};
use crate::domain::CleanupPolicy;
use crate::domain::cursor::Cursor;
use crate::domain::limits::{self, Range};
use crate::domain::run::{CleanupRun, Trigger};
use crate::service::{Error, Result};
use serde_json::json;

impl AdminService {
    /// The service's live state (from memory) and the limits a manual run's policy must keep.
    /// A tenant admin gets the schedule, the policy and the limits, and whether a run is in
    /// progress (a manual run would be refused), but not the runs' ids, counts or totals,
    /// which are the whole server's (the tenant rule: [`Target::Server`]).
    pub async fn cleanup_status(&self, actor: &Actor) -> Result<CleanupStatus> {
        let status = self.cleanup.status();
        if self.authorize(actor, Target::Server).await? {
            Ok(status)
        } else {
            Ok(status.for_tenant())
        }
    }

    /// The run history, newest first; a tenant admin sees only the manual runs confined to
    /// their tenant.
    pub async fn cleanup_runs(&self, actor: &Actor, p: PageParams) -> Result<CleanupRunList> {
        let limit = page_limit(p.limit, limits::PAGE)?;
        let before = match p.cursor.as_deref() {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(invalid_cursor)?),
        };
        let page = self
            .core
            .store()
            .list_cleanup_runs(limit, before.as_ref(), actor.scope.tenant())
            .await?;
        Ok(CleanupRunList {
            runs: page.runs,
            next_cursor: page.next_cursor,
        })
    }

    /// A manual run now; 409 `CLEANUP_ALREADY_RUNNING` (with the running run's id) when one is
    /// in progress here or another instance holds the lease.
    pub async fn run_cleanup(&self, actor: &Actor, req: CleanupRequest) -> Result<CleanupRun> {
        let policy = req.policy(&self.cleanup.config().policy)?;
        let dry_run = req.dry_run.unwrap_or(false);
        let run = match self
            .cleanup
            .run_once(Trigger::Manual, policy, dry_run, actor.scope.clone())
            .await
        {
            Ok(run) => run,
            Err(CleanupError::AlreadyRunning { run_id }) => {
                return Err(Error::Conflict {
                    code: "CLEANUP_ALREADY_RUNNING",
                    message: format!("A cleanup run is already in progress (run {run_id})"),
                    detail: Some(json!({ "runId": run_id })),
                });
            }
            Err(CleanupError::Store(e)) => return Err(e.into()),
        };
        if !dry_run {
            let record = Record {
                action: "cleanup.run",
                target: Some(format!("cleanup:{}", run.run_id)),
                criteria: serde_json::to_value(policy).ok(),
                count: run.total,
                tenant: actor.scope.tenant(),
            };
            self.audit(actor, record).await;
        }
        Ok(run)
    }
}

impl CleanupRequest {
    /// `base` with this request's overrides; 400 for values the configuration would refuse.
    pub fn policy(&self, base: &CleanupPolicy) -> Result<CleanupPolicy> {
        let mut p = *base;
        if let Some(v) = self.clean_expired_tokens {
            p.clean_expired_tokens = v;
        }
        if let Some(v) = self.clean_inactive_sessions {
            p.clean_inactive_sessions = v;
        }
        if let Some(d) = self.inactivity_days {
            p.inactivity_days = bounded("inactivityDays", d, limits::INACTIVITY_DAYS)?;
            // Days asked for by the caller replace the configured seconds.
            p.inactivity_seconds = None;
        }
        if let Some(v) = self.enforce_session_limits {
            p.enforce_session_limits = v;
        }
        if let Some(m) = self.max_sessions_per_user {
            p.max_sessions_per_user =
                bounded("maxSessionsPerUser", m, limits::MAX_SESSIONS_PER_USER)?;
        }
        Ok(p)
    }
}

fn bounded(field: &str, n: u32, range: Range) -> Result<u32> {
    if range.contains(n) {
        Ok(n)
    } else {
        Err(Error::Validation(format!(
            "{field} must be between {} and {}, got {n}",
            range.min, range.max
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_are_bounded() {
        let base = CleanupPolicy::default();
        let req = CleanupRequest {
            inactivity_days: Some(7),
            clean_expired_tokens: Some(false),
            ..Default::default()
        };
        let p = req.policy(&base).unwrap();
        assert_eq!(
            (
                p.inactivity_days,
                p.clean_expired_tokens,
                p.max_sessions_per_user
            ),
            (7, false, 10)
        );
        for bad in [
            CleanupRequest {
                inactivity_days: Some(0),
                ..Default::default()
            },
            CleanupRequest {
                max_sessions_per_user: Some(0),
                ..Default::default()
            },
            CleanupRequest {
                max_sessions_per_user: Some(100_001),
                ..Default::default()
            },
        ] {
            assert!(bad.policy(&base).is_err());
        }
    }
}
