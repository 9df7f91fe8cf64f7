//! Session statistics, the filtered listing, bulk deletion and single revocation.

use super::audit::Record;
use super::types::*;
use super::{Actor, AdminService, invalid_cursor, page_limit, text};
use crate::domain::Scope;
use crate::domain::cursor::{Cursor, keyset_page};
use crate::domain::device;
use crate::domain::ending::EndReason;
use crate::domain::limits::{
    self, BULK_DELETE_DAYS, BULK_DELETE_IDS, BULK_DELETE_SAMPLE, DELETE_BATCH, ID_LEN, IP_LEN,
    STATS_AGENTS, STATS_DAYS, STATS_TOP_USERS, USER_AGENT_LEN,
};
use crate::domain::session_status::StatusCutoffs;
use crate::domain::timefmt;
use crate::service::{Error, Result};
use crate::store::admin::{AdminSession, DeleteCriteria, SessionFilter, SessionPage, StatsQuery};
use serde_json::json;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime, Time};

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn parse_time(field: &str, value: Option<String>) -> Result<Option<OffsetDateTime>> {
    match value {
        None => Ok(None),
        Some(v) => timefmt::parse(&v).map(Some).ok_or_else(|| {
            Error::Validation(format!(
                "{field} must be an ISO-8601 timestamp such as 2026-01-31T00:00:00Z, got {v:?}"
            ))
        }),
    }
}

fn days(field: &str, value: Option<u32>) -> Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(d) if BULK_DELETE_DAYS.contains(d) => Ok(Some(Duration::days(i64::from(d)))),
        Some(d) => Err(Error::Validation(format!(
            "{field} must be between {} and {}, got {d}",
            BULK_DELETE_DAYS.min, BULK_DELETE_DAYS.max
        ))),
    }
}

/// A bulk deletion's `sessionIds`, checked, sorted and without duplicates.
fn session_ids(mut ids: Vec<String>) -> Result<Vec<String>> {
    if ids.is_empty() || ids.len() > BULK_DELETE_IDS as usize {
        return Err(Error::Validation(format!(
            "sessionIds must hold 1 to {BULK_DELETE_IDS} ids"
        )));
    }
    for id in &ids {
        super::required("sessionIds[]", id, ID_LEN)?;
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Sorted by count, then name, with `extra` unparsed sessions under "other".
fn ranked(map: HashMap<String, u64>, extra: u64) -> Vec<NameCount> {
    let mut map = map;
    if extra > 0 {
        *map.entry("other".into()).or_default() += extra;
    }
    let mut v: Vec<NameCount> = map
        .into_iter()
        .map(|(name, count)| NameCount { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

pub(crate) fn view(s: AdminSession, cutoffs: &StatusCutoffs) -> SessionView {
    let d = device::parse(s.user_agent.as_deref());
    SessionView {
        status: cutoffs.status(s.expires_at, s.last_active_at),
        user: SessionUser {
            id: s.user_id.clone(),
            email: s.email,
            name: s.name,
        },
        id: s.id,
        user_id: s.user_id,
        tenant_id: s.tenant_id,
        ip_address: s.ip_address,
        user_agent: s.user_agent,
        browser: d.browser,
        os: d.os,
        device_type: d.device_type,
        created_at: s.created_at,
        updated_at: s.updated_at,
        last_active_at: s.last_active_at,
        expires_at: s.expires_at,
        impersonated_by: s.impersonated_by,
    }
}

impl AdminService {
    pub fn status_cutoffs(&self) -> StatusCutoffs {
        StatusCutoffs::idle_for(
            self.core.now(),
            self.core.config().cleanup.policy.inactivity(),
        )
    }

    /// Counts `scope`'s sessions now (a full scan: see `stats_snapshot.rs` for who calls it).
    pub(super) async fn count_stats(&self, scope: &Scope) -> Result<SessionStats> {
        let cutoffs = self.status_cutoffs();
        let now = cutoffs.now;
        let policy = &self.core.config().cleanup.policy;
        let today = now.replace_time(Time::MIDNIGHT);
        let first_day = today - Duration::days(STATS_DAYS - 1);
        let q = StatsQuery {
            tenant: scope.tenant().map(str::to_owned),
            cutoffs,
            created_since: now - Duration::hours(24),
            max_sessions_per_user: policy.max_sessions_per_user,
            top_users: STATS_TOP_USERS,
            agent_limit: STATS_AGENTS,
            days: (0..=STATS_DAYS)
                .map(|i| first_day + Duration::days(i))
                .collect(),
        };
        let raw = match self.core.redis_alone() {
            Some(redis) => self.stats_in_redis(redis, &q).await?,
            None => self.core.store().session_stats(&q).await?,
        };

        let (mut browsers, mut systems, mut kinds) =
            (HashMap::new(), HashMap::new(), HashMap::new());
        let mut parsed = 0u64;
        for (agent, n) in &raw.by_agent {
            let d = device::parse(agent.as_deref());
            let n = count(*n);
            parsed += n;
            *browsers.entry(d.browser).or_default() += n;
            *systems.entry(d.os).or_default() += n;
            *kinds.entry(d.device_type).or_default() += n;
        }
        let unparsed = count(raw.total).saturating_sub(parsed);

        let (total, expired, inactive) =
            (count(raw.total), count(raw.expired), count(raw.inactive));
        Ok(SessionStats {
            generated_at: now,
            as_of: now,
            total_sessions: total,
            total_active_sessions: total.saturating_sub(expired + inactive),
            expired_sessions: expired,
            inactive_sessions: inactive,
            users_with_sessions: count(raw.users_with_sessions),
            users_over_limit: count(raw.users_over_limit),
            max_sessions_per_user: policy.max_sessions_per_user,
            inactivity_days: policy.inactivity_days,
            inactivity_seconds: policy.inactivity_seconds,
            sessions_by_tenant: raw
                .by_tenant
                .into_iter()
                .map(|(tenant_id, n)| TenantCount {
                    tenant_id,
                    count: count(n),
                })
                .collect(),
            top_users: raw
                .top_users
                .into_iter()
                .map(|u| UserCount {
                    user_id: u.user_id,
                    email: u.email,
                    name: u.name,
                    count: count(u.count),
                })
                .collect(),
            by_browser: ranked(browsers, unparsed),
            by_os: ranked(systems, unparsed),
            by_device_type: ranked(kinds, unparsed),
            created_last24h: count(raw.created_since),
            created_per_day: q
                .days
                .iter()
                .zip(raw.per_day.iter())
                .map(|(day, n)| DayCount {
                    date: timefmt::format(*day)[..10].to_owned(),
                    count: count(*n),
                })
                .collect(),
            oldest_active_session_age_seconds: raw
                .oldest_active_created
                .map(|t| (now - t).whole_seconds()),
        })
    }

    pub async fn list_sessions(&self, actor: &Actor, p: ListParams) -> Result<SessionList> {
        let scope = actor.narrow(p.tenant_id.as_deref())?;
        let limit = page_limit(p.limit, limits::PAGE)?;
        let filter = SessionFilter {
            tenant: scope.tenant().map(str::to_owned),
            user_id: text("userId", p.user_id, ID_LEN)?,
            status: p.status,
            ip: text("ip", p.ip, IP_LEN)?,
            user_agent: text("userAgent", p.user_agent, USER_AGENT_LEN)?,
            created_from: parse_time("createdFrom", p.created_from)?,
            created_to: parse_time("createdTo", p.created_to)?,
            last_used_from: parse_time("lastUsedFrom", p.last_used_from)?,
            last_used_to: parse_time("lastUsedTo", p.last_used_to)?,
        };
        let cutoffs = self.status_cutoffs();
        if let Some(redis) = self.core.redis_alone() {
            return self
                .list_in_redis(redis, &filter, &cutoffs, limit, p.cursor.as_deref())
                .await;
        }
        let after = match p.cursor.as_deref() {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(invalid_cursor)?),
        };
        let page = SessionPage {
            filter,
            cutoffs,
            after: after.map(|c| (c.at, c.id)),
            limit: limit + 1,
        };
        let rows = self.core.store().list_admin_sessions(&page).await?;
        let (rows, next_cursor) = keyset_page(rows, limit, |r| Cursor {
            at: r.created_at,
            id: r.id.clone(),
        });
        let sessions = rows.into_iter().map(|s| view(s, &cutoffs)).collect();
        Ok(SessionList {
            sessions,
            next_cursor,
            limit,
        })
    }

    pub async fn bulk_delete(
        &self,
        actor: &Actor,
        req: BulkDeleteRequest,
    ) -> Result<BulkDeleteResult> {
        let criteria_json = serde_json::to_value(CriteriaEcho(&req)).unwrap_or_default();
        let scope = actor.narrow(req.tenant_id.as_deref())?;
        let now = self.core.now();
        let session_ids = req.session_ids.map(session_ids).transpose()?;
        let mut c = DeleteCriteria {
            session_ids,
            user_id: text("userId", req.user_id, ID_LEN)?,
            tenant: None,
            created_before: days("olderThanDays", req.older_than_days)?.map(|d| now - d),
            used_before: days("inactiveDays", req.inactive_days)?.map(|d| now - d),
            expired_at: req.expired_only.unwrap_or(false).then_some(now),
            ip: text("ipAddress", req.ip_address, IP_LEN)?,
            user_agent: text("userAgentContains", req.user_agent_contains, USER_AGENT_LEN)?,
            keep_id: None,
            spare_role: Self::spared_role(actor),
        };
        let has_criteria = c.session_ids.is_some()
            || c.user_id.is_some()
            || req.tenant_id.is_some()
            || c.created_before.is_some()
            || c.used_before.is_some()
            || c.expired_at.is_some()
            || c.ip.is_some()
            || c.user_agent.is_some();
        if !has_criteria && req.all != Some(true) {
            return Err(Error::BadRequest {
                code: "EMPTY_CRITERIA",
                message: "No criteria given: name at least one, or send {\"all\": true} to delete every session in scope".into(),
            });
        }
        c.tenant = scope.tenant().map(str::to_owned);
        if req.include_current != Some(true) {
            c.keep_id = actor.session_id.clone();
        }
        let dry_run = req.dry_run.unwrap_or(false);
        if let Some(redis) = self.core.redis_alone() {
            let end = actor.ending(&self.core, EndReason::RevokedByAdmin);
            let result = self.bulk_in_redis(redis, &c, dry_run, end.as_ref()).await?;
            if !dry_run {
                let record = Record {
                    action: "sessions.bulk_delete",
                    target: Some("sessions".to_owned()),
                    criteria: Some(criteria_json),
                    count: result.count,
                    tenant: None,
                };
                self.audit(actor, record).await;
                self.stats_changed().await;
            }
            return Ok(result);
        }
        if dry_run {
            let preview = self
                .core
                .store()
                .preview_deletion(&c, BULK_DELETE_SAMPLE)
                .await?;
            let sample = preview
                .sample
                .into_iter()
                .map(|s| SampleSession {
                    id: s.id,
                    user_id: s.user_id,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    expires_at: s.expires_at,
                })
                .collect();
            return Ok(BulkDeleteResult {
                dry_run,
                count: preview.count,
                sample: Some(sample),
            });
        }
        let record = actor.ending(&self.core, EndReason::RevokedByAdmin);
        let deleted = self
            .core
            .store()
            .delete_matching(&c, DELETE_BATCH, record.as_ref())
            .await?;
        let record = Record {
            action: "sessions.bulk_delete",
            target: Some(
                scope
                    .tenant()
                    .map_or_else(|| "sessions".to_owned(), |t| format!("tenant:{t}")),
            ),
            criteria: Some(criteria_json),
            count: deleted,
            tenant: scope.tenant(),
        };
        self.audit(actor, record).await;
        if deleted > 0 {
            self.stats_changed().await;
            // The deletion may span any users: a sweep finds what the database lost.
            self.core.secondary_sweep().await?;
        }
        Ok(BulkDeleteResult {
            dry_run,
            count: deleted,
            sample: None,
        })
    }

    /// Deletes one session. Another tenant's session reads as missing, so ids cannot be probed.
    pub async fn revoke_session(&self, actor: &Actor, id: &str) -> Result<RevokeResult> {
        super::required("the session id", id, ID_LEN)?;
        let not_found = || Error::NotFound {
            code: "SESSION_NOT_FOUND",
            message: "Session not found".into(),
        };
        if let Some(redis) = self.core.redis_alone() {
            let revoked = self.revoke_session_in_redis(redis, actor, id).await?;
            self.stats_changed().await;
            return Ok(revoked);
        }
        // Read first, so that the audit entry names the session's tenant for a global admin too.
        let found = self
            .core
            .store()
            .find_admin_session(id)
            .await?
            .ok_or_else(not_found)?;
        // The tenant rule: a global admin's session reads as missing to a tenant admin.
        if !self.may_end_session_of(actor, &found.user_id).await? {
            return Err(not_found());
        }
        if !self
            .core
            .store()
            .delete_admin_session(
                id,
                actor.scope.tenant(),
                actor.ending(&self.core, EndReason::RevokedByAdmin).as_ref(),
            )
            .await?
        {
            return Err(not_found());
        }
        let record = Record {
            action: "sessions.revoke",
            target: Some(format!("session:{id}")),
            criteria: None,
            count: 1,
            tenant: found.tenant_id.as_deref().or(actor.scope.tenant()),
        };
        self.audit(actor, record).await;
        self.stats_changed().await;
        self.core.secondary_reconcile_user(&found.user_id).await?;
        Ok(RevokeResult {
            deleted: true,
            id: id.to_owned(),
        })
    }
}

/// The request's criteria as they go into the audit log (the flags included, ids counted
/// rather than listed when there are many).
struct CriteriaEcho<'a>(&'a BulkDeleteRequest);

impl serde::Serialize for CriteriaEcho<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = self.0;
        let ids = r.session_ids.as_ref().map(|ids| {
            if ids.len() <= 20 {
                json!(ids)
            } else {
                json!({ "count": ids.len() })
            }
        });
        let mut v = json!({
            "sessionIds": ids,
            "userId": r.user_id,
            "tenantId": r.tenant_id,
            "olderThanDays": r.older_than_days,
            "inactiveDays": r.inactive_days,
            "expiredOnly": r.expired_only,
            "ipAddress": r.ip_address,
            "userAgentContains": r.user_agent_contains,
            "all": r.all,
            "includeCurrent": r.include_current,
        });
        if let Some(map) = v.as_object_mut() {
            map.retain(|_, value| !value.is_null());
        }
        v.serialize(s)
    }
}
