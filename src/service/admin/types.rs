//! The admin API's request and response shapes. They derive `ToSchema` so the OpenAPI document
//! is generated from the very types that are (de)serialised.

use crate::domain::session_status::SessionStatus;
use crate::domain::timefmt::{iso, iso_opt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// `admin`, `tenant-admin` or `service`.
    pub kind: String,
    pub user: Option<WhoAmIUser>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WhoAmIUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", into_params(parameter_in = Query))]
pub struct StatsParams {
    /// Limit the statistics to one tenant (tenant admins: only their own).
    pub tenant_id: Option<String>,
    /// Count now instead of answering from the snapshot (a tenant admin: their tenant's count).
    pub fresh: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionStats {
    /// When this answer was made.
    #[serde(with = "iso")]
    pub generated_at: OffsetDateTime,
    /// When the counts were taken: the snapshot's time (at most `STATS_REFRESH_SECONDS` ago),
    /// or now for a fresh count. Ages below are relative to it.
    #[serde(with = "iso")]
    pub as_of: OffsetDateTime,
    pub total_sessions: u64,
    pub total_active_sessions: u64,
    pub expired_sessions: u64,
    pub inactive_sessions: u64,
    pub users_with_sessions: u64,
    /// Users with more unexpired sessions than `maxSessionsPerUser`.
    pub users_over_limit: u64,
    pub max_sessions_per_user: u32,
    pub inactivity_days: u32,
    /// `SESSION_INACTIVITY_TIMEOUT_SECONDS`, which overrides the days; absent when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_seconds: Option<i64>,
    pub sessions_by_tenant: Vec<TenantCount>,
    pub top_users: Vec<UserCount>,
    pub by_browser: Vec<NameCount>,
    pub by_os: Vec<NameCount>,
    pub by_device_type: Vec<NameCount>,
    pub created_last24h: u64,
    /// The last 30 UTC days, oldest first, days without sessions included.
    pub created_per_day: Vec<DayCount>,
    pub oldest_active_session_age_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantCount {
    /// `null` for sessions without a tenant.
    pub tenant_id: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserCount {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", into_params(parameter_in = Query))]
pub struct ListParams {
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<SessionStatus>,
    /// Exact IP address as stored.
    pub ip: Option<String>,
    /// Case-insensitive substring of the user agent.
    pub user_agent: Option<String>,
    /// ISO-8601; `createdAt >= createdFrom`.
    pub created_from: Option<String>,
    /// ISO-8601; `createdAt < createdTo`.
    pub created_to: Option<String>,
    /// ISO-8601; last active (`lastActiveAt`) at or after this.
    pub last_used_from: Option<String>,
    /// ISO-8601; last active (`lastActiveAt`) before this.
    pub last_used_to: Option<String>,
    /// Page size (bounds and default: `limits.page` of the cleanup status).
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    pub next_cursor: Option<String>,
    pub limit: u32,
}

/// A session as the admin views show it. Never carries the token or its hash.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub user_id: String,
    pub user: SessionUser,
    pub tenant_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub browser: String,
    pub os: String,
    pub device_type: String,
    #[serde(with = "iso")]
    pub created_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub updated_at: OffsetDateTime,
    /// Last used: the later of `updatedAt` and the activity recorded at checks (to within
    /// `SESSION_ACTIVITY_RESOLUTION_SECONDS`); `updatedAt` with activity tracking off.
    #[serde(with = "iso")]
    pub last_active_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub expires_at: OffsetDateTime,
    pub status: SessionStatus,
    pub impersonated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SessionUser {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Criteria of a bulk deletion; they combine with AND.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDeleteRequest {
    /// Session ids, at most `limits.bulkDeleteIds` of the cleanup status.
    pub session_ids: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    /// Created more than this many days ago.
    pub older_than_days: Option<u32>,
    /// Last used more than this many days ago.
    pub inactive_days: Option<u32>,
    /// Only sessions past their expiry.
    pub expired_only: Option<bool>,
    pub ip_address: Option<String>,
    pub user_agent_contains: Option<String>,
    /// Count and sample, delete nothing.
    pub dry_run: Option<bool>,
    /// Required (true) to delete without any other criterion.
    pub all: Option<bool>,
    /// Also delete the caller's own current session.
    pub include_current: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BulkDeleteResult {
    pub dry_run: bool,
    pub count: u64,
    /// Only on dry runs: some of the sessions that would go, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<Vec<SampleSession>>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SampleSession {
    pub id: String,
    pub user_id: String,
    #[serde(with = "iso")]
    pub created_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RevokeResult {
    pub deleted: bool,
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", into_params(parameter_in = Query))]
pub struct PageParams {
    /// Page size (bounds and default: `limits.page` of the cleanup status).
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditList {
    pub entries: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: String,
    #[serde(with = "iso")]
    pub at: OffsetDateTime,
    /// `admin:<userId>`, `tenant-admin:<userId>` or `service`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    /// The request's criteria as JSON.
    pub criteria: Option<serde_json::Value>,
    pub count: i64,
}

/// `{message, code}`, the one error body of the API.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub message: String,
    pub code: String,
}

/// 409 of `POST /api/admin/sessions/cleanup`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CleanupConflict {
    pub message: String,
    pub code: String,
    pub run_id: String,
}

/// Better Auth's user object (admin plugin fields included), for the document only: the
/// handlers serialise `domain::User`, and the contract test checks the two agree.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BaUser {
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub role: Option<String>,
    pub banned: Option<bool>,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<String>,
    pub id: String,
}

/// Better Auth's session object, for the document only (see [`BaUser`]). `token` is an opaque
/// `ref_<id>` handle, never a token.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BaSession {
    pub expires_at: String,
    pub token: String,
    pub created_at: String,
    pub updated_at: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: String,
    pub impersonated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_organization_id: Option<String>,
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", into_params(parameter_in = Query))]
pub struct ListUsersParams {
    pub search_value: Option<String>,
    /// `email` (default) or `name`.
    pub search_field: Option<String>,
    /// `contains` (default), `starts_with` or `ends_with`.
    pub search_operator: Option<String>,
    /// Page size (bounds and default: `limits.usersPage` of the cleanup status).
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    /// `createdAt` (default), `updatedAt`, `name`, `email`, `role` or `id`.
    pub sort_by: Option<String>,
    /// `asc` (default) or `desc`.
    pub sort_direction: Option<String>,
    /// `id`, `email`, `name`, `role`, `banned`, `emailVerified`, `createdAt` or `updatedAt`.
    pub filter_field: Option<String>,
    pub filter_value: Option<String>,
    /// `eq` (default), `ne`, `lt`, `lte`, `gt`, `gte`, `contains`, `starts_with`, `ends_with`.
    pub filter_operator: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UserList {
    #[cfg_attr(feature = "server", schema(value_type = Vec<BaUser>))]
    pub users: Vec<crate::domain::User>,
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserIdBody {
    pub user_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionTokenBody {
    /// A `ref_<id>` handle from `list-user-sessions` (or, in shared mode, the stored token).
    pub session_token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BanBody {
    pub user_id: String,
    /// Default "No reason".
    pub ban_reason: Option<String>,
    /// Seconds until the ban lifts; none: permanent.
    pub ban_expires_in: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum RoleValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetRoleBody {
    pub user_id: String,
    /// A role or a list of roles (stored comma-joined).
    pub role: RoleValue,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UserEnvelope {
    #[cfg_attr(feature = "server", schema(value_type = BaUser))]
    pub user: crate::domain::User,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SessionsEnvelope {
    #[cfg_attr(feature = "server", schema(value_type = Vec<BaSession>))]
    pub sessions: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SuccessBody {
    pub success: bool,
}

/// Overrides of the configured policy for one manual cleanup run.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CleanupRequest {
    pub clean_expired_tokens: Option<bool>,
    pub clean_inactive_sessions: Option<bool>,
    /// Days without use after which a session is inactive (bounds: `limits.inactivityDays`
    /// of the cleanup status).
    pub inactivity_days: Option<u32>,
    pub enforce_session_limits: Option<bool>,
    /// Bounds: `limits.maxSessionsPerUser` of the cleanup status.
    pub max_sessions_per_user: Option<u32>,
    /// Count and sample, delete nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CleanupRunList {
    pub runs: Vec<crate::domain::run::CleanupRun>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetUserPasswordBody {
    pub user_id: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct StatusBody {
    pub status: bool,
}

/// An e-mail locked by failed sign-ins (`SIGN_IN_MAX_FAILURES_PER_ACCOUNT`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignInLock {
    pub email: String,
    pub failures: u32,
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    pub last_failure_at: String,
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    pub locked_until: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SignInLockList {
    pub locks: Vec<SignInLock>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ClearedBody {
    /// False when the e-mail had no failures counted.
    pub cleared: bool,
}

/// Filters of `GET /api/admin/sessions/ended`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", into_params(parameter_in = Query))]
pub struct EndedParams {
    pub user_id: Option<String>,
    /// A tenant admin may only name their own.
    pub tenant_id: Option<String>,
    /// `signed-out`, `revoked`, `revoked-by-admin`, `banned`, `evicted-limit`, `expired`,
    /// `inactive`, `absolute-timeout` or `password-changed`.
    pub reason: Option<String>,
    /// ISO-8601; `endedAt >= endedFrom`.
    pub ended_from: Option<String>,
    /// ISO-8601; `endedAt < endedTo`.
    pub ended_to: Option<String>,
    /// Page size (bounds and default: `limits.page` of the cleanup status).
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of termination records, newest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EndedList {
    pub sessions: Vec<EndedView>,
    pub next_cursor: Option<String>,
}

/// A termination record: the session as it was when it ended, and why. Never carries the
/// token or its hash.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EndedView {
    pub session_id: String,
    pub user_id: String,
    pub tenant_id: Option<String>,
    #[serde(with = "iso")]
    pub created_at: OffsetDateTime,
    /// Last used before it ended.
    #[serde(with = "iso")]
    pub last_active_at: OffsetDateTime,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub browser: String,
    pub os: String,
    pub device_type: String,
    #[serde(with = "iso")]
    pub ended_at: OffsetDateTime,
    pub reason: String,
    /// The user's id, the admin's id, `service`, or `cleanup:<run id>`.
    pub actor: String,
}

impl From<crate::domain::ending::EndedSession> for EndedView {
    fn from(r: crate::domain::ending::EndedSession) -> Self {
        let d = crate::domain::device::parse(r.user_agent.as_deref());
        Self {
            session_id: r.session_id,
            user_id: r.user_id,
            tenant_id: r.tenant_id,
            created_at: r.created_at,
            last_active_at: r.last_active_at,
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            browser: d.browser,
            os: d.os,
            device_type: d.device_type,
            ended_at: r.ended_at,
            reason: r.reason,
            actor: r.actor,
        }
    }
}

/// Webhook events that exhausted their attempts, newest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailedEventList {
    pub events: Vec<FailedEventView>,
    pub next_cursor: Option<String>,
}

/// One undelivered event for one receiver, with the body that was sent.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailedEventView {
    /// Pass to `POST /api/admin/webhooks/failed/{id}/resend`; also the delivery's `webhook-id`
    /// as `msg_<id>`.
    pub id: i64,
    /// The receiver's index in `WEBHOOK_URLS`.
    pub endpoint: u32,
    #[serde(rename = "type")]
    pub event_type: String,
    pub tenant_id: Option<String>,
    pub attempts: u32,
    #[serde(with = "iso_opt")]
    pub failed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    /// `{type, timestamp, data}`, as delivered.
    #[cfg_attr(feature = "server", schema(value_type = Object))]
    pub body: serde_json::Value,
}

/// `{resent: true}` once the event is queued again.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ResendResult {
    pub resent: bool,
}

/// A tenant's session policy as stored (`null`: falls back to the global policy), who last
/// set it, and the policy in force for the tenant's sessions.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantPolicyView {
    pub tenant_id: String,
    pub max_sessions_per_user: Option<u32>,
    pub inactivity_timeout_seconds: Option<u32>,
    pub absolute_timeout_seconds: Option<u32>,
    pub max_sessions_per_tenant: Option<u32>,
    /// When the policy was last written (`null`: the tenant has none).
    #[serde(with = "iso_opt")]
    pub updated_at: Option<OffsetDateTime>,
    /// Who last wrote it: `admin:<userId>` or `service`.
    pub updated_by: Option<String>,
    pub effective: EffectiveTenantPolicy,
}

/// What the tenant's sessions are held to: its own values, else the global settings
/// (`null`: no such limit or timeout).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EffectiveTenantPolicy {
    pub max_sessions_per_user: Option<u32>,
    pub inactivity_timeout_seconds: Option<i64>,
    pub absolute_timeout_seconds: Option<i64>,
    pub max_sessions_per_tenant: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DeletedBody {
    /// False when the tenant had no policy.
    pub deleted: bool,
}
