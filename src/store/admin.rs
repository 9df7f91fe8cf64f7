//! What the admin API reads and writes: statistics, filtered listings, bulk deletion, the
//! audit log, and the user changes of Better Auth's admin plugin.
//!
//! The filters are optional and combine freely, so these statements are assembled per request
//! shape by [`AdminSql`](super::admin_sql::AdminSql); values are always bound.

use super::admin_sql::{Arg, Built};
use super::engine::{Args, Engine, Read};
use super::sql_store::SqlStore;
use super::tables::rows::{decode_admin_session, decode_user};
use super::{Result, Store, StoreError};
use crate::domain::User;
use crate::domain::ending::Ending;
use crate::domain::session_status::{SessionStatus, StatusCutoffs};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Filters of the session listing; all combine with AND.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub tenant: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<SessionStatus>,
    pub ip: Option<String>,
    /// Case-insensitive substring of the user agent.
    pub user_agent: Option<String>,
    /// `createdAt >= from` and `createdAt < to`; the same for `updatedAt` (last used).
    pub created_from: Option<OffsetDateTime>,
    pub created_to: Option<OffsetDateTime>,
    pub last_used_from: Option<OffsetDateTime>,
    pub last_used_to: Option<OffsetDateTime>,
}

/// A page of the listing, newest first: `(createdAt, id)` strictly below `after`.
#[derive(Debug, Clone)]
pub struct SessionPage {
    pub filter: SessionFilter,
    pub cutoffs: StatusCutoffs,
    pub after: Option<(OffsetDateTime, String)>,
    pub limit: u32,
}

/// A session with its user and tenant, as the admin views show it. Carries no token.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminSession {
    pub id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub tenant_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The later of `updatedAt` and the stored activity (`updatedAt` with tracking off).
    pub last_active_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub impersonated_by: Option<String>,
}

/// Which sessions a bulk deletion removes; every set field must hold (AND).
#[derive(Debug, Clone, Default)]
pub struct DeleteCriteria {
    pub session_ids: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub tenant: Option<String>,
    /// `createdAt < created_before`.
    pub created_before: Option<OffsetDateTime>,
    /// Last active (`lastActiveAt`) before `used_before`.
    pub used_before: Option<OffsetDateTime>,
    /// `expiresAt < expired_at`.
    pub expired_at: Option<OffsetDateTime>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Never deleted (the caller's own session).
    pub keep_id: Option<String>,
    /// Sessions of users holding this role (case-insensitive, one of the comma-joined roles)
    /// are never deleted: a tenant admin's bulk deletion spares the global admins.
    pub spare_role: Option<String>,
}

/// Inputs of [`AdminStore::session_stats`].
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub tenant: Option<String>,
    pub cutoffs: StatusCutoffs,
    pub created_since: OffsetDateTime,
    pub max_sessions_per_user: u32,
    pub top_users: u32,
    /// Most distinct user agents read back for the device breakdown; the rest are summed.
    pub agent_limit: u32,
    /// Day boundaries, oldest first: `days.len() - 1` buckets `[days[i], days[i+1])`.
    pub days: Vec<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsRaw {
    pub total: i64,
    pub expired: i64,
    pub inactive: i64,
    pub created_since: i64,
    pub oldest_active_created: Option<OffsetDateTime>,
    pub users_with_sessions: i64,
    pub users_over_limit: i64,
    pub top_users: Vec<TopUser>,
    pub by_tenant: Vec<(Option<String>, i64)>,
    /// `(userAgent, count)`, most common first, at most `agent_limit` entries.
    pub by_agent: Vec<(Option<String>, i64)>,
    pub per_day: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopUser {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub count: i64,
}

/// What a bulk deletion did or, on a dry run, would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub count: u64,
    /// Filled on dry runs only.
    pub sample: Vec<AdminSession>,
}

/// One row of `sessionkeeper_audit`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    /// JSON text.
    pub criteria: Option<String>,
    pub count: i64,
    /// The tenant the action was confined to; tenant admins see only their tenant's entries.
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Id,
    Email,
    Name,
    Role,
    Banned,
    EmailVerified,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
    Time(OffsetDateTime),
}

/// Better Auth's `list-users` query, validated.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub tenant: Option<String>,
    /// Case-insensitive match of `email` or `name` (Contains, StartsWith or EndsWith).
    pub search: Option<(UserField, Operator, String)>,
    pub filter: Option<(UserField, Operator, FilterValue)>,
    /// Field and descending; always tie-broken by id.
    pub sort: Option<(UserField, bool)>,
    pub limit: u32,
    pub offset: u64,
}

/// The admin plugin's ban fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Ban {
    pub reason: String,
    pub expires: Option<OffsetDateTime>,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    async fn session_stats(&self, q: &StatsQuery) -> Result<StatsRaw>;
    async fn list_admin_sessions(&self, page: &SessionPage) -> Result<Vec<AdminSession>>;
    async fn find_admin_session(&self, id: &str) -> Result<Option<AdminSession>>;
    /// Counts matches and returns up to `sample` of them, newest first, deleting nothing.
    async fn preview_deletion(&self, c: &DeleteCriteria, sample: u32) -> Result<Deletion>;
    /// Deletes matches in batches of `batch` rows, so no statement holds many row locks long.
    async fn delete_matching(
        &self,
        c: &DeleteCriteria,
        batch: u32,
        end: Option<&Ending>,
    ) -> Result<u64>;
    /// Deletes one session when it is in `tenant` (any tenant when `None`).
    async fn delete_admin_session(
        &self,
        id: &str,
        tenant: Option<&str>,
        end: Option<&Ending>,
    ) -> Result<bool>;

    async fn insert_audit(&self, e: &AuditEntry) -> Result<()>;
    /// Newest first, strictly below `after`; only `tenant`'s entries when given.
    async fn list_audit(
        &self,
        tenant: Option<&str>,
        after: Option<(OffsetDateTime, String)>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>>;

    /// One page of users and the number of users matching.
    async fn list_users(&self, q: &UserQuery) -> Result<(Vec<User>, u64)>;
    /// Whether the user belongs to `tenant` (user column, or any session in the organisation).
    async fn user_in_tenant(&self, user_id: &str, tenant: &str) -> Result<bool>;
    async fn set_user_role(
        &self,
        user_id: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>>;
    /// Sets or lifts a ban; setting one deletes the user's sessions in the same transaction.
    /// Returns the user and how many sessions went.
    async fn set_user_ban(
        &self,
        user_id: &str,
        ban: Option<&Ban>,
        now: OffsetDateTime,
        end: Option<&Ending>,
    ) -> Result<Option<(User, u64)>>;
    /// Sets a ban and leaves the sessions alone (an app that keeps them in Redis only, where
    /// the caller removes them).
    async fn set_user_ban_only(
        &self,
        user_id: &str,
        ban: &Ban,
        now: OffsetDateTime,
    ) -> Result<Option<User>>;
}

/// Binds an assembled statement's arguments.
fn bind_all<DB: Engine>(args: &[Arg]) -> Args<DB> {
    args.iter().fold(Args::new(), |a, arg| match arg {
        Arg::Text(v) => a.opt_text(v.as_deref()),
        Arg::Time(v) => a.opt_time(*v),
        Arg::Int(v) => a.int(*v),
        Arg::Bool(v) => a.flag(*v),
    })
}

impl<DB: Engine> SqlStore<DB> {
    async fn fetch_built(&self, b: &Built) -> std::result::Result<Vec<DB::Row>, sqlx::Error> {
        self.fetch_all(b.sql, bind_all(&b.args)).await
    }

    async fn fetch_built_one(&self, b: &Built) -> std::result::Result<DB::Row, sqlx::Error> {
        self.fetch_one(b.sql, bind_all(&b.args)).await
    }

    async fn count_built(&self, b: &Built) -> Result<u64> {
        let n = self.fetch_built_one(b).await?.int("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// The rows of [`AdminSql::stats_users`], told apart by `kind`.
fn read_user_stats<R: Read>(
    rows: &[R],
    out: &mut StatsRaw,
) -> std::result::Result<(), sqlx::Error> {
    for r in rows {
        match r.int4("kind")? {
            0 => {
                out.total = r.int("n")?;
                out.expired = r.int("expired")?;
                out.inactive = r.int("inactive")?;
                out.users_with_sessions = r.int("users")?;
                out.users_over_limit = r.int("over")?;
            }
            1 => out.top_users.push(TopUser {
                user_id: r.text("id")?,
                email: r.opt_text("email")?,
                name: r.opt_text("name")?,
                count: r.int("n")?,
            }),
            _ => out.by_tenant.push((r.opt_text("id")?, r.int("n")?)),
        }
    }
    Ok(())
}

/// The row of [`AdminSql::stats_days`]: `d0..`, `since`, `oldest`.
fn read_day_stats<R: Read>(
    row: &R,
    buckets: usize,
    out: &mut StatsRaw,
) -> std::result::Result<(), sqlx::Error> {
    for i in 0..buckets {
        out.per_day
            .push(row.opt_int(&format!("d{i}"))?.unwrap_or(0));
    }
    out.created_since = row.opt_int("since")?.unwrap_or(0);
    out.oldest_active_created = row.opt_time("oldest")?;
    Ok(())
}

#[async_trait]
impl<DB: Engine> AdminStore for SqlStore<DB> {
    async fn session_stats(&self, q: &StatsQuery) -> Result<StatsRaw> {
        let aq = &self.sql.admin;
        let (users, agents, days) = (aq.stats_users(q), aq.stats_agents(q), aq.stats_days(q));
        let orgs = aq.stats_org_tenants(q);
        // Independent scans: run them side by side on separate connections.
        let org_rows = async {
            match &orgs {
                Some(b) => self.fetch_built(b).await,
                None => Ok(Vec::new()),
            }
        };
        let (users, agents, days, org_rows) = futures::try_join!(
            self.fetch_built(&users),
            self.fetch_built(&agents),
            self.fetch_built_one(&days),
            org_rows,
        )?;
        let mut out = StatsRaw::default();
        read_user_stats(&users, &mut out)?;
        for r in &org_rows {
            out.by_tenant.push((r.opt_text("tenant")?, r.int("n")?));
        }
        // UNION ALL keeps no order: most sessions first, ties by id / tenant.
        out.top_users.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.user_id.cmp(&b.user_id))
        });
        out.by_tenant
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for r in &agents {
            out.by_agent.push((r.opt_text("agent")?, r.int("n")?));
        }
        read_day_stats(&days, q.days.len().saturating_sub(1), &mut out)?;
        Ok(out)
    }

    async fn list_admin_sessions(&self, page: &SessionPage) -> Result<Vec<AdminSession>> {
        let rows = self
            .fetch_built(&self.sql.admin.list_sessions(page))
            .await?;
        Ok(rows
            .iter()
            .map(decode_admin_session)
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn find_admin_session(&self, id: &str) -> Result<Option<AdminSession>> {
        let row = self
            .fetch_optional(self.sql.admin.find_session, Args::new().text(id))
            .await?;
        Ok(row.as_ref().map(decode_admin_session).transpose()?)
    }

    async fn preview_deletion(&self, c: &DeleteCriteria, sample: u32) -> Result<Deletion> {
        let aq = &self.sql.admin;
        let mut out = Deletion {
            count: 0,
            sample: Vec::new(),
        };
        for part in aq.deletion_parts(c) {
            out.count += self.count_built(&aq.count_matching(&part)).await?;
            let room = sample.saturating_sub(out.sample.len() as u32);
            if room > 0 {
                let rows = self.fetch_built(&aq.sample_matching(&part, room)).await?;
                for r in &rows {
                    out.sample.push(decode_admin_session(r)?);
                }
            }
        }
        Ok(out)
    }

    async fn delete_matching(
        &self,
        c: &DeleteCriteria,
        batch: u32,
        end: Option<&Ending>,
    ) -> Result<u64> {
        let aq = &self.sql.admin;
        let mut total = 0;
        for part in aq.deletion_parts(c) {
            let (del, del_pair) = aq.delete_batch(&part, batch);
            let args = || bind_all(&del.args);
            loop {
                let done = self.delete_ending(&del_pair, args, end).await?;
                total += done;
                if done < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(total)
    }

    async fn delete_admin_session(
        &self,
        id: &str,
        tenant: Option<&str>,
        end: Option<&Ending>,
    ) -> Result<bool> {
        let aq = &self.sql.admin;
        let done = match tenant {
            None => {
                let args = || Args::new().text(id);
                self.delete_ending(&aq.delete_session, args, end).await?
            }
            Some(t) => {
                let args = || Args::new().text(id).text(t);
                self.delete_ending(&aq.delete_session_in_tenant, args, end)
                    .await?
            }
        };
        Ok(done > 0)
    }

    async fn insert_audit(&self, e: &AuditEntry) -> Result<()> {
        let args = Args::new()
            .text(&e.id)
            .time(e.at)
            .text(&e.actor)
            .text(&e.action)
            .opt_text(e.target.as_deref())
            .opt_text(e.criteria.as_deref())
            .int(e.count)
            .opt_text(e.tenant_id.as_deref());
        self.execute(self.sql.admin.insert_audit, args).await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        tenant: Option<&str>,
        after: Option<(OffsetDateTime, String)>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let built = self.sql.admin.list_audit(tenant, after, limit);
        let rows = self.fetch_built(&built).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(AuditEntry {
                id: r.text("id")?,
                at: r.time("at")?,
                actor: r.text("actor")?,
                action: r.text("action")?,
                target: r.opt_text("target")?,
                criteria: r.opt_text("criteria")?,
                count: r.int("count")?,
                tenant_id: r.opt_text("tenantId")?,
            });
        }
        Ok(out)
    }

    async fn list_users(&self, q: &UserQuery) -> Result<(Vec<User>, u64)> {
        let aq = &self.sql.admin;
        let (page, count) = (aq.list_users(q), aq.count_users(q));
        let (rows, total) =
            futures::try_join!(self.fetch_built(&page), self.fetch_built_one(&count))?;
        let users = rows
            .iter()
            .map(decode_user)
            .collect::<std::result::Result<_, _>>()?;
        Ok((users, u64::try_from(total.int("n")?).unwrap_or(0)))
    }

    async fn user_in_tenant(&self, user_id: &str, tenant: &str) -> Result<bool> {
        let args = Args::new().text(user_id).text(tenant);
        let row = self
            .fetch_optional(self.sql.admin.user_in_tenant, args)
            .await?;
        Ok(row.is_some())
    }

    async fn set_user_role(
        &self,
        user_id: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>> {
        let Some(sql) = self.sql.admin.set_role else {
            return Err(StoreError::Schema(
                "the user table has no role column".into(),
            ));
        };
        let args = Args::new().text(user_id).text(role).time(now);
        if self.execute(sql, args).await? == 0 {
            return Ok(None);
        }
        self.find_user(user_id).await
    }

    async fn set_user_ban(
        &self,
        user_id: &str,
        ban: Option<&Ban>,
        now: OffsetDateTime,
        end: Option<&Ending>,
    ) -> Result<Option<(User, u64)>> {
        let aq = &self.sql.admin;
        let Some(sql) = aq.set_ban else {
            return Err(StoreError::Schema(
                "the user table has no ban columns".into(),
            ));
        };
        let args = Args::new()
            .text(user_id)
            .flag(ban.is_some())
            .opt_text(ban.map(|b| b.reason.as_str()))
            .opt_time(ban.and_then(|b| b.expires))
            .time(now);
        // The write comes first, so SQLite takes its write lock before any read.
        let mut tx = self.begin().await?;
        if self.execute_in(&mut *tx, sql, args).await? == 0 {
            return Ok(None);
        }
        let mut deleted = 0;
        if ban.is_some() {
            let args = || Args::new().text(user_id);
            deleted = self
                .delete_ending_in(&mut *tx, &aq.delete_user_sessions, &args, end)
                .await?;
        }
        tx.commit().await?;
        let user = self.find_user(user_id).await?;
        Ok(user.map(|u| (u, deleted)))
    }

    async fn set_user_ban_only(
        &self,
        user_id: &str,
        ban: &Ban,
        now: OffsetDateTime,
    ) -> Result<Option<User>> {
        let Some(sql) = self.sql.admin.set_ban else {
            return Err(StoreError::Schema(
                "the user table has no ban columns".into(),
            ));
        };
        let args = Args::new()
            .text(user_id)
            .flag(true)
            .opt_text(Some(ban.reason.as_str()))
            .opt_time(ban.expires)
            .time(now);
        if self.execute(sql, args).await? == 0 {
            return Ok(None);
        }
        self.find_user(user_id).await
    }
}
