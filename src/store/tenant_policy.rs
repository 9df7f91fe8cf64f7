//! Per-tenant session policies (`sessionkeeper_tenant_policy`, our own table) and the sign-in
//! that enforces a tenant-wide cap on active sessions.

use super::Result;
use super::SessionEvents;
use super::cleanup::Criteria;
use super::ended_sql::Del;
use super::engine::{Args, Dialect, Engine, Read};
use super::sql_store::SqlStore;
use super::statements::leak;
use super::tables::rows::{pick, select, session_columns};
use super::tables::{Schema, q};
use crate::domain::Session;
use crate::domain::cleanup_plan::Layer;
use crate::domain::ending::Ending;
use crate::domain::run::SampleEntry;
use crate::domain::tenant_policy::TenantPolicy;
use time::OffsetDateTime;

const TABLE: &str = "\"sessionkeeper_tenant_policy\"";
const COLUMNS: &str = "\"tenantId\", \"maxSessionsPerUser\", \"inactivityTimeoutSeconds\", \
                       \"absoluteTimeoutSeconds\", \"maxSessionsPerTenant\", \"updatedAt\", \"updatedBy\"";

/// A tenant's stored policy and who last set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTenantPolicy {
    pub tenant_id: String,
    pub policy: TenantPolicy,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

/// The caps a sign-in into a tenant with `maxSessionsPerTenant` keeps.
#[derive(Debug, Clone, Copy)]
pub struct TenantCaps<'a> {
    /// The per-user limit in force for the user (`None`: none).
    pub user_max: Option<u32>,
    pub tenant: &'a str,
    pub tenant_max: u32,
    /// `SESSION_LIMIT_STRATEGY=deny`: refuse rather than evict.
    pub deny: bool,
}

/// What a capped sign-in evicted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evicted {
    pub count: u64,
    /// The users whose sessions went (the signing-in user's own included), so that their
    /// copies in the app's Redis can go too.
    pub users: Vec<String>,
}

/// The tenant statements of one schema.
#[derive(Debug, Clone)]
pub struct TenantSql {
    /// `$1` tenant, `$2` now: the tenant's unexpired sessions as `n`.
    pub count_active: &'static str,
    /// `$1` tenant, `$2` now, `$3` how many: the users of the sessions
    /// [`evict_least_active`](Self::evict_least_active) deletes, as `u`.
    pub least_active_users: &'static str,
    /// `$1` tenant, `$2` now, `$3` how many: evicts the tenant's least recently active.
    pub evict_least_active: Del,
    /// `$1` tenant, `$2` now, `$3` how many: the sessions `evict_least_active` would take
    /// first, as the cleanup's sample rows.
    pub sample_least_active: &'static str,
    /// Serialises one tenant's capped sign-ins (PostgreSQL; SQLite's write transaction
    /// already serialises every sign-in).
    pub lock_tenant: &'static str,
}

impl TenantSql {
    pub fn new(schema: &Schema, dialect: &Dialect) -> Self {
        let s = &schema.session;
        let st = q(&s.table);
        let (id, exp) = (q(&s.id), q(&s.expires_at));
        let tenant = schema.tenant_filter("k", 1);
        let last = super::last_active::LastActive::new(schema, dialect.backend);
        // Least recently active first, by the stored activity too, as the per-user eviction.
        let order = format!(
            "{} ASC, k.{} ASC, k.{id} ASC",
            last.value("k"),
            q(&s.created_at)
        );
        let sample_columns = format!(
            "{}, {} AS \"lastActiveAt\"",
            select(
                "k",
                &pick(
                    &session_columns(s),
                    ["id", "userId", "expiresAt", "updatedAt"]
                )
            ),
            last.value("k")
        );
        let least_active =
            format!("FROM {st} k WHERE {tenant} AND k.{exp} >= $2 ORDER BY {order} LIMIT $3");
        Self {
            sample_least_active: leak(format!("SELECT {sample_columns} {least_active}")),
            least_active_users: leak(format!(
                "SELECT k.{} AS \"u\" {least_active}",
                q(&s.user_id)
            )),
            count_active: leak(format!(
                "SELECT COUNT(*) AS \"n\" FROM {st} k WHERE {tenant} AND k.{exp} >= $2"
            )),
            evict_least_active: Del::new(
                schema,
                dialect,
                format!("DELETE FROM {st} WHERE {id} IN (SELECT k.{id} {least_active})"),
                4,
            ),
            lock_tenant: "SELECT COUNT(*) AS \"n\" FROM (SELECT pg_advisory_xact_lock(hashtext('sessionkeeper.tenant'), hashtext($1))) l",
        }
    }
}

#[async_trait::async_trait]
pub trait TenantPolicyStore: Send + Sync {
    /// Every stored policy (the in-memory copy is refreshed from this).
    async fn list_tenant_policies(&self) -> Result<Vec<StoredTenantPolicy>>;
    async fn find_tenant_policy(&self, tenant_id: &str) -> Result<Option<StoredTenantPolicy>>;
    /// Writes (inserts or replaces) a tenant's policy.
    async fn put_tenant_policy(&self, p: &StoredTenantPolicy) -> Result<()>;
    /// Removes a tenant's policy; false when it had none.
    async fn delete_tenant_policy(&self, tenant_id: &str) -> Result<bool>;
    /// Inserts a session of a tenant with a tenant-wide cap, in one transaction serialised per
    /// user and per tenant: first the per-user limit, then the tenant cap, each evicting the
    /// least recently active (recorded with `evicted`) or, under `deny`, refusing. `None` when
    /// refused (nothing written), else what was evicted.
    async fn insert_session_capped(
        &self,
        session: &Session,
        caps: TenantCaps<'_>,
        now: OffsetDateTime,
        evicted: Option<&Ending>,
        events: Option<&SessionEvents>,
    ) -> Result<Option<Evicted>>;
    /// The unexpired sessions of `tenant` at `now`.
    async fn count_tenant_active(&self, tenant: &str, now: OffsetDateTime) -> Result<u64>;
    /// The cleanup's tenant cap: deletes the `n` least recently active unexpired sessions of
    /// the run's tenant (`c.scope`), recorded as the `excess` layer's.
    async fn delete_tenant_least_active(&self, c: &Criteria<'_>, n: u32) -> Result<u64>;
    /// The `n` sessions [`Self::delete_tenant_least_active`] would take first, as sample
    /// entries of the `excess` layer.
    async fn sample_tenant_least_active(
        &self,
        tenant: &str,
        now: OffsetDateTime,
        n: u32,
    ) -> Result<Vec<SampleEntry>>;
}

fn decode<R: Read>(r: &R) -> std::result::Result<StoredTenantPolicy, sqlx::Error> {
    // Written through the admin API's bounds, so every stored value fits; one that does not
    // (a hand-edited row) reads as unset rather than failing every check.
    let n = |c: &str| -> std::result::Result<Option<u32>, sqlx::Error> {
        Ok(r.opt_int(c)?.and_then(|v| u32::try_from(v).ok()))
    };
    Ok(StoredTenantPolicy {
        tenant_id: r.text("tenantId")?,
        policy: TenantPolicy {
            max_sessions_per_user: n("maxSessionsPerUser")?,
            inactivity_timeout_seconds: n("inactivityTimeoutSeconds")?,
            absolute_timeout_seconds: n("absoluteTimeoutSeconds")?,
            max_sessions_per_tenant: n("maxSessionsPerTenant")?,
        },
        updated_at: r.time("updatedAt")?,
        updated_by: r.text("updatedBy")?,
    })
}

#[async_trait::async_trait]
impl<DB: Engine> TenantPolicyStore for SqlStore<DB> {
    async fn list_tenant_policies(&self) -> Result<Vec<StoredTenantPolicy>> {
        let sql = leak_once(&LIST, || {
            format!("SELECT {COLUMNS} FROM {TABLE} ORDER BY \"tenantId\"")
        });
        let rows = self.fetch_all(sql, Args::new()).await?;
        Ok(rows
            .iter()
            .map(decode)
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn find_tenant_policy(&self, tenant_id: &str) -> Result<Option<StoredTenantPolicy>> {
        let sql = leak_once(&FIND, || {
            format!("SELECT {COLUMNS} FROM {TABLE} WHERE \"tenantId\" = $1")
        });
        let row = self
            .fetch_optional(sql, Args::new().text(tenant_id))
            .await?;
        Ok(row.as_ref().map(decode).transpose()?)
    }

    async fn put_tenant_policy(&self, p: &StoredTenantPolicy) -> Result<()> {
        let sql = leak_once(&PUT, || {
            format!(
                "INSERT INTO {TABLE} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (\"tenantId\") DO UPDATE SET \
                 \"maxSessionsPerUser\" = excluded.\"maxSessionsPerUser\", \
                 \"inactivityTimeoutSeconds\" = excluded.\"inactivityTimeoutSeconds\", \
                 \"absoluteTimeoutSeconds\" = excluded.\"absoluteTimeoutSeconds\", \
                 \"maxSessionsPerTenant\" = excluded.\"maxSessionsPerTenant\", \
                 \"updatedAt\" = excluded.\"updatedAt\", \"updatedBy\" = excluded.\"updatedBy\""
            )
        });
        let n = |v: Option<u32>| v.map(i64::from);
        let t = &p.policy;
        let args = Args::new()
            .text(&p.tenant_id)
            .opt_int(n(t.max_sessions_per_user))
            .opt_int(n(t.inactivity_timeout_seconds))
            .opt_int(n(t.absolute_timeout_seconds))
            .opt_int(n(t.max_sessions_per_tenant))
            .time(p.updated_at)
            .text(&p.updated_by);
        self.execute(sql, args).await?;
        Ok(())
    }

    async fn delete_tenant_policy(&self, tenant_id: &str) -> Result<bool> {
        let sql = leak_once(&DELETE, || {
            format!("DELETE FROM {TABLE} WHERE \"tenantId\" = $1")
        });
        Ok(self.execute(sql, Args::new().text(tenant_id)).await? > 0)
    }

    async fn insert_session_capped(
        &self,
        session: &Session,
        caps: TenantCaps<'_>,
        now: OffsetDateTime,
        evicted_end: Option<&Ending>,
        events: Option<&SessionEvents>,
    ) -> Result<Option<Evicted>> {
        let q = &self.sql.tenant;
        self.note_general_wait();
        let mut tx = self.begin_write().await?;
        // Always user first, then tenant: every capped sign-in takes the two in this order.
        let mine = self.active_after_insert(&mut tx, session, now).await?;
        DB::lock_user(&mut *tx, q.lock_tenant, caps.tenant, self.pooler).await?;
        let mut evicted = Evicted::default();
        if let Some(max) = caps.user_max {
            let over = mine - i64::from(max);
            if over > 0 && caps.deny {
                tx.rollback().await?;
                return Ok(None);
            }
            if over > 0 {
                let args = || Args::new().text(&session.user_id).time(now).int(over);
                evicted.users.push(session.user_id.clone());
                evicted.count += self
                    .delete_ending_in(
                        &mut *tx,
                        &self.sql.auth.evict_least_active,
                        &args,
                        evicted_end,
                    )
                    .await?;
            }
        }
        let args = Args::new().text(caps.tenant).time(now);
        let in_tenant = self
            .fetch_one_in(&mut *tx, q.count_active, args)
            .await?
            .int("n")?;
        let over = in_tenant + 1 - i64::from(caps.tenant_max);
        if over > 0 && caps.deny {
            tx.rollback().await?;
            return Ok(None);
        }
        if over > 0 {
            let args = || Args::new().text(caps.tenant).time(now).int(over);
            // Read under the tenant's lock: every capped sign-in of the tenant waits for it.
            let rows = self
                .fetch_all_in(&mut *tx, q.least_active_users, args())
                .await?;
            for r in &rows {
                evicted.users.push(r.text("u")?);
            }
            evicted.count += self
                .delete_ending_in(&mut *tx, &q.evict_least_active, &args, evicted_end)
                .await?;
        }
        self.write_session(&mut tx, session, now, events).await?;
        tx.commit().await?;
        Ok(Some(evicted))
    }

    async fn count_tenant_active(&self, tenant: &str, now: OffsetDateTime) -> Result<u64> {
        let args = Args::new().text(tenant).time(now);
        let n = self
            .fetch_one(self.sql.tenant.count_active, args)
            .await?
            .int("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn sample_tenant_least_active(
        &self,
        tenant: &str,
        now: OffsetDateTime,
        n: u32,
    ) -> Result<Vec<SampleEntry>> {
        let args = Args::new().text(tenant).time(now).int(i64::from(n));
        let rows = self
            .fetch_all(self.sql.tenant.sample_least_active, args)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SampleEntry {
                    session_id: r.text("id")?,
                    user_id: r.text("userId")?,
                    layer: Layer::Excess,
                    expires_at: r.time("expiresAt")?,
                    updated_at: r.time("updatedAt")?,
                    last_active_at: r.time("lastActiveAt")?,
                })
            })
            .collect()
    }

    async fn delete_tenant_least_active(&self, c: &Criteria<'_>, n: u32) -> Result<u64> {
        let Some(tenant) = c.scope.tenant() else {
            return Ok(0);
        };
        let args = || Args::new().text(tenant).time(c.now).int(i64::from(n));
        let end = c.ending(Layer::Excess);
        Ok(self
            .delete_ending(&self.sql.tenant.evict_least_active, args, end.as_ref())
            .await?)
    }
}

static LIST: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
static FIND: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
static PUT: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
static DELETE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The policy table's statements name no schema-mapped column: one text for every store.
fn leak_once(
    cell: &'static std::sync::OnceLock<&'static str>,
    build: impl FnOnce() -> String,
) -> &'static str {
    cell.get_or_init(|| leak(build()))
}
