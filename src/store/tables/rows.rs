//! Each table's columns as the queries select them, and how such a row is read: by column
//! name. A mapped (renamed) column is selected `AS` the name its decoder reads, so the
//! decoders never see the mapping; user columns carry a `u_` prefix so that a session joined
//! with its user reads both from one row.

use super::schema::{SessionColumns, UserColumns, q};
use crate::domain::run::{CleanupRun, LayerCounts, Outcome, Trigger};
use crate::domain::{Session, User};
use crate::store::StoreError;
use crate::store::admin::AdminSession;
use crate::store::engine::Read;

/// `(name read back, column)`; `None` for an optional column the database does not have.
pub type Columns<'a, const N: usize> = [(&'static str, Option<&'a str>); N];

pub fn session_columns(s: &SessionColumns) -> Columns<'_, 10> {
    [
        ("id", Some(&s.id)),
        ("token", Some(&s.token)),
        ("expiresAt", Some(&s.expires_at)),
        ("createdAt", Some(&s.created_at)),
        ("updatedAt", Some(&s.updated_at)),
        ("ipAddress", Some(&s.ip_address)),
        ("userAgent", Some(&s.user_agent)),
        ("userId", Some(&s.user_id)),
        ("impersonatedBy", s.impersonated_by.as_ref()),
        ("activeOrganizationId", s.active_organization_id.as_ref()),
    ]
    .map(|(n, c)| (n, c.map(String::as_str)))
}

pub fn user_columns(u: &UserColumns) -> Columns<'_, 12> {
    [
        ("u_id", Some(&u.id)),
        ("u_name", Some(&u.name)),
        ("u_email", Some(&u.email)),
        ("u_emailVerified", Some(&u.email_verified)),
        ("u_image", Some(&u.image)),
        ("u_createdAt", Some(&u.created_at)),
        ("u_updatedAt", Some(&u.updated_at)),
        ("u_role", u.role.as_ref()),
        ("u_banned", u.banned.as_ref()),
        ("u_banReason", u.ban_reason.as_ref()),
        ("u_banExpires", u.ban_expires.as_ref()),
        ("u_tenantId", u.tenant_id.as_ref()),
    ]
    .map(|(n, c)| (n, c.map(String::as_str)))
}

/// `alias."column" AS "name", ...` (`NULL AS "name"` for an absent column).
pub fn select<const N: usize>(alias: &str, cols: &Columns<'_, N>) -> String {
    cols.iter()
        .map(|(name, col)| match col {
            Some(c) => format!("{alias}.{} AS {}", q(c), q(name)),
            None => format!("NULL AS {}", q(name)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of [`select`] named in `names`, in that order.
pub fn pick<'a, const N: usize, const M: usize>(
    cols: &Columns<'a, N>,
    names: [&'static str; M],
) -> Columns<'a, M> {
    names.map(|n| {
        cols.iter()
            .find(|(name, _)| *name == n)
            .copied()
            .unwrap_or((n, None))
    })
}

/// A row of [`session_columns`].
pub fn decode_session<R: Read>(r: &R) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id: r.text("id")?,
        token: r.text("token")?,
        expires_at: r.time("expiresAt")?,
        created_at: r.time("createdAt")?,
        updated_at: r.time("updatedAt")?,
        ip_address: r.opt_text("ipAddress")?,
        user_agent: r.opt_text("userAgent")?,
        user_id: r.text("userId")?,
        impersonated_by: r.opt_text("impersonatedBy")?,
        active_organization_id: r.opt_text("activeOrganizationId")?,
    })
}

/// A row of [`user_columns`].
pub fn decode_user<R: Read>(r: &R) -> Result<User, sqlx::Error> {
    Ok(User {
        id: r.text("u_id")?,
        name: r.text("u_name")?,
        email: r.text("u_email")?,
        email_verified: r.flag("u_emailVerified")?,
        image: r.opt_text("u_image")?,
        created_at: r.time("u_createdAt")?,
        updated_at: r.time("u_updatedAt")?,
        role: r.opt_text("u_role")?,
        banned: r.opt_flag("u_banned")?,
        ban_reason: r.opt_text("u_banReason")?,
        ban_expires: r.opt_time("u_banExpires")?,
        tenant_id: r.opt_text("u_tenantId")?,
    })
}

/// The session columns of the admin view, which adds `u_email` and `u_name` of the user and
/// the session's `tenantId`.
pub const ADMIN_SESSION: [&str; 8] = [
    "id",
    "userId",
    "ipAddress",
    "userAgent",
    "createdAt",
    "updatedAt",
    "expiresAt",
    "impersonatedBy",
];

pub fn decode_admin_session<R: Read>(r: &R) -> Result<AdminSession, sqlx::Error> {
    Ok(AdminSession {
        id: r.text("id")?,
        user_id: r.text("userId")?,
        email: r.opt_text("u_email")?,
        name: r.opt_text("u_name")?,
        tenant_id: r.opt_text("tenantId")?,
        ip_address: r.opt_text("ipAddress")?,
        user_agent: r.opt_text("userAgent")?,
        created_at: r.time("createdAt")?,
        updated_at: r.time("updatedAt")?,
        last_active_at: r.time("lastActiveAt")?,
        expires_at: r.time("expiresAt")?,
        impersonated_by: r.opt_text("impersonatedBy")?,
    })
}

/// `sessionkeeper_cleanup_run`'s columns (our own table: no mapping).
pub const RUN_COLUMNS: [&str; 16] = [
    "id",
    "trigger",
    "dryRun",
    "policy",
    "expired",
    "inactive",
    "excess",
    "total",
    "startedAt",
    "finishedAt",
    "durationMs",
    "outcome",
    "error",
    "verifications",
    "tenantId",
    "absolute",
];

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub fn decode_run<R: Read>(r: &R) -> Result<CleanupRun, StoreError> {
    let bad = |what: &str, v: &str| {
        StoreError::Schema(format!(
            "sessionkeeper_cleanup_run: unreadable {what} {v:?}"
        ))
    };
    let trigger = r.text("trigger")?;
    let policy = r.text("policy")?;
    let outcome = r.text("outcome")?;
    Ok(CleanupRun {
        run_id: r.text("id")?,
        trigger: Trigger::parse(&trigger).ok_or_else(|| bad("trigger", &trigger))?,
        dry_run: r.flag("dryRun")?,
        policy: serde_json::from_str(&policy).map_err(|_| bad("policy", &policy))?,
        counts: LayerCounts {
            expired: count(r.int("expired")?),
            absolute: count(r.int("absolute")?),
            inactive: count(r.int("inactive")?),
            excess: count(r.int("excess")?),
            verifications: count(r.int("verifications")?),
        },
        total: count(r.int("total")?),
        started_at: r.time("startedAt")?,
        finished_at: r.opt_time("finishedAt")?,
        duration_ms: r.opt_int("durationMs")?.map(count),
        outcome: Outcome::parse(&outcome).ok_or_else(|| bad("outcome", &outcome))?,
        error: r.opt_text("error")?,
        tenant_id: r.opt_text("tenantId")?,
        sample: None,
    })
}
