//! The admin paths over the sessions of an app that keeps them in Redis only (shared mode,
//! `SESSION_STORAGE=secondary`). Redis has no index but the user's list: a removal by user
//! reads that list; one by id, or by criteria spanning users, walks every list a `SCAN` page
//! at a time. Redis sessions carry no tenant of their own, so tenant-scoped admins are
//! refused here.

use super::audit::Record;
use super::types::{BulkDeleteResult, RevokeResult, SampleSession, SuccessBody};
use super::{Actor, AdminService};
use crate::domain::Scope;
use crate::domain::ending::{EndReason, Ending};
use crate::domain::limits::BULK_DELETE_SAMPLE;
use crate::domain::model::Session;
use crate::domain::token::parse_session_ref;
use crate::secondary::SecondaryStorage;
use crate::secondary::sessions::ListWalk;
use crate::service::{Error, Result};
use crate::store::admin::{DeleteCriteria, StatsQuery, StatsRaw, TopUser};
use crate::store::tables::schema::TenantColumn;
use std::collections::HashMap;

/// The error of an admin path that needs what Redis cannot give.
pub(super) fn unavailable(what: &str) -> Error {
    Error::BadRequest {
        code: "NOT_AVAILABLE_WITH_SECONDARY_STORAGE",
        message: format!(
            "{what} is not available with SESSION_STORAGE=secondary: the sessions are in the app's Redis, which has no session table to query"
        ),
    }
}

/// Tenant-scoped admins cannot act on Redis sessions: nothing there says whose tenant they are.
pub(super) fn refuse_tenant_scope(actor: &Actor) -> Result<()> {
    match actor.scope {
        Scope::All => Ok(()),
        Scope::Tenant(_) => Err(unavailable("a tenant-scoped admin action on sessions")),
    }
}

/// The bulk deletion's criteria, as its statement applies them.
fn matches(c: &DeleteCriteria, s: &Session) -> bool {
    c.session_ids.as_ref().is_none_or(|ids| ids.contains(&s.id))
        && c.user_id.as_ref().is_none_or(|u| *u == s.user_id)
        && c.created_before.is_none_or(|t| s.created_at < t)
        && c.used_before.is_none_or(|t| s.updated_at < t)
        && c.expired_at.is_none_or(|t| s.expires_at < t)
        && c.ip
            .as_ref()
            .is_none_or(|ip| s.ip_address.as_deref() == Some(ip.as_str()))
        && c.user_agent.as_ref().is_none_or(|ua| {
            s.user_agent
                .as_deref()
                .is_some_and(|have| have.to_lowercase().contains(&ua.to_lowercase()))
        })
        && c.keep_id.as_ref().is_none_or(|k| *k != s.id)
}

impl AdminService {
    /// The statistics' raw counts from one walk over every list, by the database statistics'
    /// definitions. Sessions per tenant are given where the session carries its tenant (the
    /// organization) or there is no tenant column; with a user-column tenant they are left
    /// out (each user would be one more database read).
    pub(super) async fn stats_in_redis(
        &self,
        redis: &SecondaryStorage,
        q: &StatsQuery,
    ) -> Result<StatsRaw> {
        if q.tenant.is_some() {
            return Err(unavailable("tenant-scoped session statistics"));
        }
        let (now, cut) = (q.cutoffs.now, q.cutoffs.inactive_before);
        let mut raw = StatsRaw {
            per_day: vec![0; q.days.len().saturating_sub(1)],
            ..Default::default()
        };
        // Per user: sessions, and those not expired.
        let mut per_user: Vec<(String, i64, i64)> = Vec::new();
        let mut tenants: HashMap<Option<String>, i64> = HashMap::new();
        let mut agents: HashMap<Option<String>, i64> = HashMap::new();
        let by_org = matches!(self.core.store().schema().tenant, TenantColumn::Session(_));
        let mut walk = ListWalk::new(redis);
        while let Some(page) = walk
            .next_page()
            .await
            .map_err(|e| Error::Secondary(e.to_string()))?
        {
            for user in page {
                if user.sessions.is_empty() {
                    continue;
                }
                let mut live = 0;
                for s in user.sessions.iter().map(|r| &r.session) {
                    raw.total += 1;
                    if s.expires_at < now {
                        raw.expired += 1;
                    } else {
                        live += 1;
                        if s.updated_at < cut {
                            raw.inactive += 1;
                        } else if raw.oldest_active_created.is_none_or(|o| s.created_at < o) {
                            raw.oldest_active_created = Some(s.created_at);
                        }
                    }
                    if s.created_at >= q.created_since {
                        raw.created_since += 1;
                    }
                    if let Some(i) = q
                        .days
                        .windows(2)
                        .position(|w| s.created_at >= w[0] && s.created_at < w[1])
                        && let Some(n) = raw.per_day.get_mut(i)
                    {
                        *n += 1;
                    }
                    let tenant = if by_org {
                        s.active_organization_id.clone()
                    } else {
                        None
                    };
                    *tenants.entry(tenant).or_default() += 1;
                    *agents.entry(s.user_agent.clone()).or_default() += 1;
                }
                per_user.push((user.user_id, user.sessions.len() as i64, live));
            }
        }
        raw.users_with_sessions = per_user.len() as i64;
        let max = i64::from(q.max_sessions_per_user);
        raw.users_over_limit = per_user.iter().filter(|(_, _, live)| *live > max).count() as i64;
        per_user.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (user_id, n, _) in per_user.into_iter().take(q.top_users.max(1) as usize) {
            let user = self.core.store().find_user(&user_id).await?;
            raw.top_users.push(TopUser {
                email: user.as_ref().map(|u| u.email.clone()),
                name: user.map(|u| u.name),
                user_id,
                count: n,
            });
        }
        if !matches!(self.core.store().schema().tenant, TenantColumn::User(_)) {
            raw.by_tenant = ranked(tenants, usize::MAX);
        }
        raw.by_agent = ranked(agents, q.agent_limit as usize);
        Ok(raw)
    }

    /// Better Auth's `revoke-user-session` by token (or listed handle) on Redis.
    pub(super) async fn revoke_user_session_in_redis(
        &self,
        redis: &SecondaryStorage,
        actor: &Actor,
        token: &str,
    ) -> Result<SuccessBody> {
        refuse_tenant_scope(actor)?;
        let found = match parse_session_ref(token) {
            Some(id) => self.core.redis_session_by_id(redis, id).await?,
            None => self.core.find_session(token).await?.map(|f| f.session),
        };
        let Some(session) = found else {
            return Ok(SuccessBody { success: true });
        };
        let end = actor.ending(&self.core, EndReason::RevokedByAdmin);
        let n = self
            .core
            .end_in_redis(redis, std::slice::from_ref(&session), end.as_ref())
            .await?;
        if n > 0 {
            let record = Record {
                action: "user.revoke_session",
                target: Some(format!("session:{}", session.id)),
                criteria: None,
                count: 1,
                tenant: None,
            };
            self.audit(actor, record).await;
        }
        Ok(SuccessBody { success: true })
    }

    /// `DELETE /api/admin/sessions/{id}` on Redis.
    pub(super) async fn revoke_session_in_redis(
        &self,
        redis: &SecondaryStorage,
        actor: &Actor,
        id: &str,
    ) -> Result<RevokeResult> {
        refuse_tenant_scope(actor)?;
        let Some(session) = self.core.redis_session_by_id(redis, id).await? else {
            return Err(Error::NotFound {
                code: "SESSION_NOT_FOUND",
                message: "Session not found".into(),
            });
        };
        let end = actor.ending(&self.core, EndReason::RevokedByAdmin);
        self.core
            .end_in_redis(redis, std::slice::from_ref(&session), end.as_ref())
            .await?;
        let record = Record {
            action: "sessions.revoke",
            target: Some(format!("session:{id}")),
            criteria: None,
            count: 1,
            tenant: None,
        };
        self.audit(actor, record).await;
        Ok(RevokeResult {
            deleted: true,
            id: id.to_owned(),
        })
    }

    /// The bulk deletion on Redis: the user's list when the criteria name a user, else every
    /// list a page at a time, each page's matches removed before the next page is read.
    /// Returns the count, and for a dry run the sample.
    pub(super) async fn bulk_in_redis(
        &self,
        redis: &SecondaryStorage,
        c: &DeleteCriteria,
        dry_run: bool,
        end: Option<&Ending>,
    ) -> Result<BulkDeleteResult> {
        if c.tenant.is_some() || c.spare_role.is_some() {
            return Err(unavailable("a tenant-scoped bulk deletion"));
        }
        let mut count = 0;
        let mut sample = Vec::new();
        let mut handle = |page: Vec<Session>| {
            let hits: Vec<Session> = page.into_iter().filter(|s| matches(c, s)).collect();
            count += hits.len() as u64;
            for s in &hits {
                if dry_run && sample.len() < BULK_DELETE_SAMPLE as usize {
                    sample.push(SampleSession {
                        id: s.id.clone(),
                        user_id: s.user_id.clone(),
                        created_at: s.created_at,
                        updated_at: s.updated_at,
                        expires_at: s.expires_at,
                    });
                }
            }
            hits
        };
        let mut removed = 0;
        if let Some(user) = &c.user_id {
            let hits = handle(self.core.redis_user_sessions(redis, user).await?);
            if !dry_run {
                removed += self.core.end_in_redis(redis, &hits, end).await?;
            }
        } else {
            let mut walk = ListWalk::new(redis);
            while let Some(page) = walk
                .next_page()
                .await
                .map_err(|e| Error::Secondary(e.to_string()))?
            {
                let sessions = page
                    .into_iter()
                    .flat_map(|u| u.sessions)
                    .map(|s| s.session)
                    .collect();
                let hits = handle(sessions);
                if !dry_run && !hits.is_empty() {
                    removed += self.core.end_in_redis(redis, &hits, end).await?;
                }
            }
        }
        Ok(BulkDeleteResult {
            dry_run,
            count: if dry_run { count } else { removed },
            sample: dry_run.then_some(sample),
        })
    }
}

/// Counts, largest first (ties by key), at most `limit`.
fn ranked(counts: HashMap<Option<String>, i64>, limit: usize) -> Vec<(Option<String>, i64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}
