//! Table and column names. Better Auth lets an app rename both (modelName, `fields`, plural
//! tables); every query is built from this mapping once, at start-up.

/// Names of the Better Auth tables and columns sessionkeeper reads and writes. Optional
/// columns belong to plugins or to our own migration and may be absent in a shared database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub user: UserColumns,
    pub session: SessionColumns,
    pub account: AccountColumns,
    pub tenant: TenantColumn,
    /// Better Auth's `verification` table (e-mail verification, password reset, OTP values),
    /// swept by the cleanup's `verifications` layer; only its `id` and `expiresAt` are read.
    pub verification: String,
    /// Whether a session's last activity is the later of `updatedAt` and our stored activity
    /// (`sessionkeeper_activity`, `SESSION_ACTIVITY_TRACKING`); `updatedAt` alone when off.
    /// Part of the schema so each choice gets its own statements (see `store/last_active.rs`).
    pub activity: bool,
}

/// Where a session's tenant is read from (the `TENANT_SOURCE` setting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantColumn {
    /// A column of the session's user (`user.tenantId` by default).
    User(String),
    /// A column of the session itself (`session.activeOrganizationId`).
    Session(String),
    /// The database has no tenant column (a shared database without a mapped one): every
    /// session is tenant-less and a tenant filter matches nothing.
    Absent,
}

impl Schema {
    /// SQL for the tenant of session alias `s` (joined user alias `u` when needed):
    /// `u."tenantId"` or `s."activeOrganizationId"`.
    pub fn tenant_expr(&self, s: &str, u: &str) -> String {
        match &self.tenant {
            TenantColumn::User(c) => format!("{u}.{}", q(c)),
            TenantColumn::Session(c) => format!("{s}.{}", q(c)),
            TenantColumn::Absent => "CAST(NULL AS TEXT)".to_owned(),
        }
    }

    /// A predicate on session alias `s` that is true when its tenant equals parameter
    /// `$param`, without needing a join.
    pub fn tenant_filter(&self, s: &str, param: usize) -> String {
        match &self.tenant {
            TenantColumn::User(c) => format!(
                "{s}.{} IN (SELECT tu.{} FROM {} tu WHERE tu.{} = ${param})",
                q(&self.session.user_id),
                q(&self.user.id),
                q(&self.user.table),
                q(c)
            ),
            TenantColumn::Session(c) => format!("{s}.{} = ${param}", q(c)),
            // Still names the parameter, so the statement keeps its parameter count and type.
            TenantColumn::Absent => format!("(CAST(${param} AS TEXT) IS NULL AND 1 = 0)"),
        }
    }

    /// A predicate on session alias `s` that is true unless its tenant is one of the list
    /// bound as `$param` (by `Engine::bind_tokens`: a `text[]` on PostgreSQL, a JSON array on
    /// SQLite). Sessions without a tenant pass. The cleanup's global layers use it to leave
    /// the sessions of tenants whose own policy sets the layer's value.
    pub fn tenant_excluded(&self, s: &str, param: usize, backend: crate::store::Backend) -> String {
        let listed = match backend {
            crate::store::Backend::Postgres => format!("= ANY(${param})"),
            crate::store::Backend::Sqlite => format!("IN (SELECT value FROM json_each(${param}))"),
        };
        match &self.tenant {
            // An anti-join through the user's key: no list of the tenants' user ids is built.
            // Measured on PostgreSQL 15 (50,000 users in 20 tenants, 500,000 sessions, a heap
            // walk range of 1,000 blocks matching 8,890 rows): 47-50 ms against 28-34 ms
            // without it, a hash of the listed tenants' users per statement (user has no
            // tenant index). Paid only while some tenant overrides the layer.
            TenantColumn::User(c) => format!(
                "NOT EXISTS (SELECT 1 FROM {} tx WHERE tx.{} = {s}.{} AND tx.{} {listed})",
                q(&self.user.table),
                q(&self.user.id),
                q(&self.session.user_id),
                q(c)
            ),
            TenantColumn::Session(c) => format!("NOT COALESCE({s}.{} {listed}, FALSE)", q(c)),
            // Still names the parameter, so the statement keeps its parameter count and type.
            TenantColumn::Absent => format!("NOT COALESCE(CAST(NULL AS TEXT) {listed}, FALSE)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserColumns {
    pub table: String,
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: String,
    pub image: String,
    pub created_at: String,
    pub updated_at: String,
    pub role: Option<String>,
    pub banned: Option<String>,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<String>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionColumns {
    pub table: String,
    pub id: String,
    pub token: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub ip_address: String,
    pub user_agent: String,
    pub user_id: String,
    pub impersonated_by: Option<String>,
    pub active_organization_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountColumns {
    pub table: String,
    pub id: String,
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub password: String,
    pub created_at: String,
    pub updated_at: String,
}

fn s(v: &str) -> String {
    v.to_owned()
}

impl Default for Schema {
    /// Better Auth's own names, plus the admin plugin, the organization plugin's
    /// `activeOrganizationId` and our `tenantId` (what the owned-mode migration creates).
    fn default() -> Self {
        Self {
            user: UserColumns {
                table: s("user"),
                id: s("id"),
                name: s("name"),
                email: s("email"),
                email_verified: s("emailVerified"),
                image: s("image"),
                created_at: s("createdAt"),
                updated_at: s("updatedAt"),
                role: Some(s("role")),
                banned: Some(s("banned")),
                ban_reason: Some(s("banReason")),
                ban_expires: Some(s("banExpires")),
                tenant_id: Some(s("tenantId")),
            },
            verification: s("verification"),
            activity: true,
            session: SessionColumns {
                table: s("session"),
                id: s("id"),
                token: s("token"),
                expires_at: s("expiresAt"),
                created_at: s("createdAt"),
                updated_at: s("updatedAt"),
                ip_address: s("ipAddress"),
                user_agent: s("userAgent"),
                user_id: s("userId"),
                impersonated_by: Some(s("impersonatedBy")),
                active_organization_id: Some(s("activeOrganizationId")),
            },
            account: AccountColumns {
                table: s("account"),
                id: s("id"),
                account_id: s("accountId"),
                provider_id: s("providerId"),
                user_id: s("userId"),
                password: s("password"),
                created_at: s("createdAt"),
                updated_at: s("updatedAt"),
            },
            tenant: TenantColumn::User(s("tenantId")),
        }
    }
}

/// A double-quoted SQL identifier.
pub fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `alias."column" AS "as"`, or `NULL AS "as"` when the column is absent.
pub fn col_or_null(alias: &str, col: &Option<String>, as_name: &str) -> String {
    match col {
        Some(c) => format!("{alias}.{} AS {}", q(c), q(as_name)),
        None => format!("NULL AS {}", q(as_name)),
    }
}
