//! Every bound a user can hit, defined once: the configuration, the admin API and the
//! dashboard (which reads [`LIMITS`] from the cleanup status) all take them from here.

use serde::Serialize;

/// An inclusive range of whole numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

impl Range {
    pub const fn new(min: u32, max: u32) -> Self {
        Self { min, max }
    }

    pub fn contains(self, n: u32) -> bool {
        (self.min..=self.max).contains(&n)
    }
}

/// A page size: what an absent `limit` gives, and the largest accepted (the smallest is 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PageSize {
    pub default: u32,
    pub max: u32,
}

// The cleanup policy, in the configuration and in a manual run's overrides.
/// `SESSION_INACTIVITY_TIMEOUT_DAYS` and a run's `inactivityDays`: up to a hundred years.
pub const INACTIVITY_DAYS: Range = Range::new(1, 36_500);
/// The longest timeout given in seconds (100 years, as [`INACTIVITY_DAYS`]).
pub const TIMEOUT_SECONDS_MAX: u32 = 3_153_600_000;
/// `MAX_SESSIONS_PER_USER` and a run's `maxSessionsPerUser`.
pub const MAX_SESSIONS_PER_USER: Range = Range::new(1, 100_000);
/// `SESSION_CLEANUP_BATCH_SIZE`: rows deleted per statement by the cleanup service.
pub const CLEANUP_BATCH_SIZE: Range = Range::new(1, 100_000);
/// `SESSION_CLEANUP_SAMPLE_SIZE`: sessions shown by a dry run.
pub const CLEANUP_SAMPLE_SIZE: Range = Range::new(0, 1000);

// Listing pages.
/// The admin API's keyset pages: sessions, audit entries, cleanup runs.
pub const PAGE: PageSize = PageSize {
    default: 50,
    max: 500,
};
/// Better Auth's `list-users` (offset pages).
pub const USERS_PAGE: PageSize = PageSize {
    default: 100,
    max: 1000,
};
/// The largest `offset` of `list-users`.
pub const USERS_MAX_OFFSET: u64 = 10_000_000;
/// Better Auth reads at most this many sessions for `list-sessions` and the admin plugin's
/// `list-user-sessions` (its `defaultFindManyLimit`, docs/better-auth-compat.md §4.1, §4.2).
pub const USER_SESSIONS_CAP: u32 = 100;

// Bulk deletion (`DELETE /api/admin/sessions`).
/// At most this many `sessionIds` in one request.
pub const BULK_DELETE_IDS: u32 = 1000;
/// `olderThanDays` and `inactiveDays`.
pub const BULK_DELETE_DAYS: Range = Range::new(1, 36_500);
/// Sessions of a bulk deletion shown by its dry run.
pub const BULK_DELETE_SAMPLE: u32 = 20;
/// Rows deleted per statement by a bulk deletion (and by revoke-user-sessions).
pub const DELETE_BATCH: u32 = 1000;

// Free-text and id inputs of the admin API, in bytes.
/// Ids (user, session) in a request.
pub const ID_LEN: usize = 128;
/// An IP address filter.
pub const IP_LEN: usize = 64;
/// A user agent filter.
pub const USER_AGENT_LEN: usize = 512;
/// `list-users`'s `searchValue` and `filterValue`.
pub const SEARCH_LEN: usize = 256;
/// A session token or `ref_<id>` handle in `revoke-user-session`.
pub const TOKEN_LEN: usize = 256;
/// A ban reason.
pub const BAN_REASON_LEN: usize = 1000;

// Statistics.
/// Most distinct user agents parsed for the device breakdown; sessions with rarer agents are
/// counted under "other" (keeps stats bounded when every session has its own agent string).
pub const STATS_AGENTS: u32 = 2000;
/// Users listed under "top users".
pub const STATS_TOP_USERS: u32 = 10;
/// Days of the "created per day" series.
pub const STATS_DAYS: i64 = 30;
/// Tenants listed under "sessions by tenant" (the store's statistics query caps the list).
pub const STATS_TENANTS: u32 = 1000;

// Better Auth's admin plugin.
/// The longest `banExpiresIn`, in seconds (a hundred years).
pub const MAX_BAN_SECONDS: i64 = 100 * 366 * 86_400;
/// Roles in one `set-role`.
pub const MAX_ROLES: usize = 16;
/// Bytes in one role name.
pub const ROLE_LEN: usize = 64;

/// The limits a client may need to build a form, as the cleanup status reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub inactivity_days: Range,
    pub max_sessions_per_user: Range,
    pub cleanup_batch_size: Range,
    pub page: PageSize,
    pub users_page: PageSize,
    pub bulk_delete_ids: u32,
    pub bulk_delete_days: Range,
}

pub const LIMITS: Limits = Limits {
    inactivity_days: INACTIVITY_DAYS,
    max_sessions_per_user: MAX_SESSIONS_PER_USER,
    cleanup_batch_size: CLEANUP_BATCH_SIZE,
    page: PAGE,
    users_page: USERS_PAGE,
    bulk_delete_ids: BULK_DELETE_IDS,
    bulk_delete_days: BULK_DELETE_DAYS,
};

/// Receivers `WEBHOOK_URLS` may name (the outbox writes one row per event and receiver).
pub const WEBHOOK_URLS: usize = 16;
