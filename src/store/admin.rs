//! What the admin API reads and writes: statistics, filtered listings, bulk deletion, the
//! audit log, and the user changes of Better Auth's admin plugin.
//!
//! The filters are optional and combine freely, so these statements are assembled per request
//! shape by [`AdminQueries`](super::admin_queries::AdminQueries); values are always bound.

use super::Result;
use crate::domain::User;
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
    /// `updatedAt < used_before`.
    pub used_before: Option<OffsetDateTime>,
    /// `expiresAt < expired_at`.
    pub expired_at: Option<OffsetDateTime>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Never deleted (the caller's own session).
    pub keep_id: Option<String>,
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
    async fn delete_matching(&self, c: &DeleteCriteria, batch: u32) -> Result<u64>;
    /// Deletes one session when it is in `tenant` (any tenant when `None`).
    async fn delete_admin_session(&self, id: &str, tenant: Option<&str>) -> Result<bool>;

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
    ) -> Result<Option<(User, u64)>>;
}

macro_rules! impl_admin_store {
    ($store:ty, $row:ty, $db:ty) => {
        impl $store {
            fn admin_q(&self) -> &'static $crate::store::admin_queries::AdminQueries {
                $crate::store::admin_queries::AdminQueries::for_schema(
                    &self.schema,
                    $crate::store::Store::backend(self),
                )
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::admin::AdminStore for $store {
            async fn session_stats(
                &self,
                q: &$crate::store::admin::StatsQuery,
            ) -> $crate::store::Result<$crate::store::admin::StatsRaw> {
                use sqlx::Row;
                use $crate::store::ts::Ts;
                let aq = self.admin_q();
                let (users, agents, days) =
                    (aq.stats_users(q), aq.stats_agents(q), aq.stats_days(q));
                let orgs = aq.stats_org_tenants(q);
                // Independent scans: run them side by side on separate connections.
                let org_rows = async {
                    match &orgs {
                        Some(b) => {
                            bind_all(sqlx::query(b.sql), &b.args)
                                .fetch_all(&self.pool)
                                .await
                        }
                        None => Ok(Vec::new()),
                    }
                };
                let (users, agents, days, org_rows) = futures::try_join!(
                    bind_all(sqlx::query(users.sql), &users.args).fetch_all(&self.pool),
                    bind_all(sqlx::query(agents.sql), &agents.args).fetch_all(&self.pool),
                    bind_all(sqlx::query(days.sql), &days.args).fetch_one(&self.pool),
                    org_rows,
                )?;
                let mut out = $crate::store::admin::StatsRaw::default();
                for r in &users {
                    match r.try_get::<i32, _>(0)? {
                        0 => {
                            out.total = r.try_get(4)?;
                            out.expired = r.try_get(5)?;
                            out.inactive = r.try_get(6)?;
                            out.users_with_sessions = r.try_get(7)?;
                            out.users_over_limit = r.try_get(8)?;
                        }
                        1 => out.top_users.push($crate::store::admin::TopUser {
                            user_id: r.try_get(1)?,
                            email: r.try_get(2)?,
                            name: r.try_get(3)?,
                            count: r.try_get(4)?,
                        }),
                        _ => out.by_tenant.push((r.try_get(1)?, r.try_get(4)?)),
                    }
                }
                for r in &org_rows {
                    out.by_tenant.push((r.try_get(0)?, r.try_get(1)?));
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
                    out.by_agent.push((r.try_get(0)?, r.try_get(1)?));
                }
                let buckets = q.days.len().saturating_sub(1);
                for i in 0..buckets {
                    out.per_day
                        .push(days.try_get::<Option<i64>, _>(i)?.unwrap_or(0));
                }
                out.created_since = days.try_get::<Option<i64>, _>(buckets)?.unwrap_or(0);
                out.oldest_active_created =
                    days.try_get::<Option<Ts>, _>(buckets + 1)?.map(|t| t.0);
                Ok(out)
            }

            async fn list_admin_sessions(
                &self,
                page: &$crate::store::admin::SessionPage,
            ) -> $crate::store::Result<Vec<$crate::store::admin::AdminSession>> {
                let built = self.admin_q().list_sessions(page);
                let rows = bind_all(sqlx::query(built.sql), &built.args)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .iter()
                    .map(decode_admin_session)
                    .collect::<Result<_, _>>()?)
            }

            async fn find_admin_session(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::store::admin::AdminSession>> {
                let sql = self.admin_q().find_session;
                let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(decode_admin_session).transpose()?)
            }

            async fn preview_deletion(
                &self,
                c: &$crate::store::admin::DeleteCriteria,
                sample: u32,
            ) -> $crate::store::Result<$crate::store::admin::Deletion> {
                use sqlx::Row;
                let aq = self.admin_q();
                let mut out = $crate::store::admin::Deletion {
                    count: 0,
                    sample: Vec::new(),
                };
                for part in aq.deletion_parts(c) {
                    let count = aq.count_matching(&part);
                    let row = bind_all(sqlx::query(count.sql), &count.args)
                        .fetch_one(&self.pool)
                        .await?;
                    out.count += u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0);
                    let room = sample.saturating_sub(out.sample.len() as u32);
                    if room > 0 {
                        let pick = aq.sample_matching(&part, room);
                        let rows = bind_all(sqlx::query(pick.sql), &pick.args)
                            .fetch_all(&self.pool)
                            .await?;
                        for r in &rows {
                            out.sample.push(decode_admin_session(r)?);
                        }
                    }
                }
                Ok(out)
            }

            async fn delete_matching(
                &self,
                c: &$crate::store::admin::DeleteCriteria,
                batch: u32,
            ) -> $crate::store::Result<u64> {
                let aq = self.admin_q();
                let mut total = 0;
                for part in aq.deletion_parts(c) {
                    let del = aq.delete_batch(&part, batch);
                    loop {
                        let done = bind_all(sqlx::query(del.sql), &del.args)
                            .execute(&self.pool)
                            .await?;
                        total += done.rows_affected();
                        if done.rows_affected() < u64::from(batch) {
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
            ) -> $crate::store::Result<bool> {
                let aq = self.admin_q();
                let done = match tenant {
                    None => {
                        sqlx::query(aq.delete_session)
                            .bind(id)
                            .execute(&self.pool)
                            .await?
                    }
                    Some(t) => {
                        sqlx::query(aq.delete_session_in_tenant)
                            .bind(id)
                            .bind(t)
                            .execute(&self.pool)
                            .await?
                    }
                };
                Ok(done.rows_affected() > 0)
            }

            async fn insert_audit(
                &self,
                e: &$crate::store::admin::AuditEntry,
            ) -> $crate::store::Result<()> {
                use $crate::store::ts::Ts;
                sqlx::query(self.admin_q().insert_audit)
                    .bind(&e.id)
                    .bind(Ts(e.at))
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(&e.target)
                    .bind(&e.criteria)
                    .bind(e.count)
                    .bind(&e.tenant_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_audit(
                &self,
                tenant: Option<&str>,
                after: Option<(time::OffsetDateTime, String)>,
                limit: u32,
            ) -> $crate::store::Result<Vec<$crate::store::admin::AuditEntry>> {
                use sqlx::Row;
                use $crate::store::ts::Ts;
                let built = self.admin_q().list_audit(tenant, after, limit);
                let rows = bind_all(sqlx::query(built.sql), &built.args)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push($crate::store::admin::AuditEntry {
                        id: r.try_get(0)?,
                        at: r.try_get::<Ts, _>(1)?.0,
                        actor: r.try_get(2)?,
                        action: r.try_get(3)?,
                        target: r.try_get(4)?,
                        criteria: r.try_get(5)?,
                        count: r.try_get(6)?,
                        tenant_id: r.try_get(7)?,
                    });
                }
                Ok(out)
            }

            async fn list_users(
                &self,
                q: &$crate::store::admin::UserQuery,
            ) -> $crate::store::Result<(Vec<$crate::domain::User>, u64)> {
                use sqlx::Row;
                let aq = self.admin_q();
                let (page, count) = (aq.list_users(q), aq.count_users(q));
                let (rows, total) = futures::try_join!(
                    bind_all(sqlx::query(page.sql), &page.args).fetch_all(&self.pool),
                    bind_all(sqlx::query(count.sql), &count.args).fetch_one(&self.pool),
                )?;
                let users = rows
                    .iter()
                    .map(|r| decode_user(r, 0))
                    .collect::<Result<_, _>>()?;
                Ok((
                    users,
                    u64::try_from(total.try_get::<i64, _>(0)?).unwrap_or(0),
                ))
            }

            async fn user_in_tenant(
                &self,
                user_id: &str,
                tenant: &str,
            ) -> $crate::store::Result<bool> {
                let row = sqlx::query(self.admin_q().user_in_tenant)
                    .bind(user_id)
                    .bind(tenant)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn set_user_role(
                &self,
                user_id: &str,
                role: &str,
                now: time::OffsetDateTime,
            ) -> $crate::store::Result<Option<$crate::domain::User>> {
                use $crate::store::ts::Ts;
                let Some(sql) = self.admin_q().set_role else {
                    return Err($crate::store::StoreError::Schema(
                        "the user table has no role column".into(),
                    ));
                };
                let done = sqlx::query(sql)
                    .bind(user_id)
                    .bind(role)
                    .bind(Ts(now))
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                $crate::store::Store::find_user(self, user_id).await
            }

            async fn set_user_ban(
                &self,
                user_id: &str,
                ban: Option<&$crate::store::admin::Ban>,
                now: time::OffsetDateTime,
            ) -> $crate::store::Result<Option<($crate::domain::User, u64)>> {
                use $crate::store::ts::Ts;
                let aq = self.admin_q();
                let Some(sql) = aq.set_ban else {
                    return Err($crate::store::StoreError::Schema(
                        "the user table has no ban columns".into(),
                    ));
                };
                // The write comes first, so SQLite takes its write lock before any read.
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(sql)
                    .bind(user_id)
                    .bind(ban.is_some())
                    .bind(ban.map(|b| b.reason.clone()))
                    .bind(ban.and_then(|b| b.expires).map(Ts))
                    .bind(Ts(now))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                let mut deleted = 0;
                if ban.is_some() {
                    deleted = sqlx::query(aq.delete_user_sessions)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                let user = $crate::store::Store::find_user(self, user_id).await?;
                Ok(user.map(|u| (u, deleted)))
            }
        }

        fn bind_all<'q>(
            mut q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            args: &[$crate::store::admin_queries::Arg],
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            use $crate::store::admin_queries::Arg;
            use $crate::store::ts::Ts;
            for a in args {
                q = match a {
                    Arg::Text(v) => q.bind(v.clone()),
                    Arg::Time(v) => q.bind(v.map(Ts)),
                    Arg::Int(v) => q.bind(*v),
                    Arg::Bool(v) => q.bind(*v),
                };
            }
            q
        }

        /// The user columns of `Queries::user_cols`, in order.
        fn decode_user(
            r: &$row,
            o: usize,
        ) -> std::result::Result<$crate::domain::User, sqlx::Error> {
            use sqlx::Row;
            use $crate::store::ts::Ts;
            Ok($crate::domain::User {
                id: r.try_get(o)?,
                name: r.try_get(o + 1)?,
                email: r.try_get(o + 2)?,
                email_verified: r.try_get(o + 3)?,
                image: r.try_get(o + 4)?,
                created_at: r.try_get::<Ts, _>(o + 5)?.0,
                updated_at: r.try_get::<Ts, _>(o + 6)?.0,
                role: r.try_get(o + 7)?,
                banned: r.try_get(o + 8)?,
                ban_reason: r.try_get(o + 9)?,
                ban_expires: r.try_get::<Option<Ts>, _>(o + 10)?.map(|t| t.0),
                tenant_id: r.try_get(o + 11)?,
            })
        }

        fn decode_admin_session(
            r: &$row,
        ) -> std::result::Result<$crate::store::admin::AdminSession, sqlx::Error> {
            use sqlx::Row;
            use $crate::store::ts::Ts;
            Ok($crate::store::admin::AdminSession {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                email: r.try_get(2)?,
                name: r.try_get(3)?,
                tenant_id: r.try_get(4)?,
                ip_address: r.try_get(5)?,
                user_agent: r.try_get(6)?,
                created_at: r.try_get::<Ts, _>(7)?.0,
                updated_at: r.try_get::<Ts, _>(8)?.0,
                expires_at: r.try_get::<Ts, _>(9)?.0,
                impersonated_by: r.try_get(10)?,
            })
        }
    };
}

mod sqlite_impl {
    use crate::store::sqlite::SqliteStore;
    impl_admin_store!(SqliteStore, sqlx::sqlite::SqliteRow, sqlx::Sqlite);
}

mod postgres_impl {
    use crate::store::postgres::PgStore;
    impl_admin_store!(PgStore, sqlx::postgres::PgRow, sqlx::Postgres);
}
