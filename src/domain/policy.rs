use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Which stale sessions a cleanup run removes. Serialised into every run result and record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CleanupPolicy {
    pub clean_expired_tokens: bool,
    pub clean_inactive_sessions: bool,
    pub inactivity_days: u32,
    pub enforce_session_limits: bool,
    pub max_sessions_per_user: u32,
    /// The `absolute` layer: sessions older than this since `createdAt`, in seconds
    /// (`SESSION_ABSOLUTE_TIMEOUT_*`); `None` is off. Left out of the JSON when off, so the
    /// policy's shape is unchanged for deployments that do not use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_timeout_seconds: Option<i64>,
    /// `SESSION_INACTIVITY_TIMEOUT_SECONDS`: overrides `inactivity_days` when set (what every
    /// check enforces). Left out of the JSON when unset, as `absolute_timeout_seconds` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_seconds: Option<i64>,
}

impl CleanupPolicy {
    /// How long a session may stay idle: the seconds override, else the days.
    pub fn inactivity(&self) -> Duration {
        match self.inactivity_seconds {
            Some(s) => Duration::seconds(s),
            None => Duration::days(i64::from(self.inactivity_days)),
        }
    }
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        Self {
            clean_expired_tokens: true,
            clean_inactive_sessions: true,
            inactivity_days: 30,
            enforce_session_limits: true,
            max_sessions_per_user: 10,
            absolute_timeout_seconds: None,
            inactivity_seconds: None,
        }
    }
}

/// What a sign-in over the per-user limit does (`SESSION_LIMIT_STRATEGY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitStrategy {
    /// Evict the user's least recently active sessions to make room (Better Auth apps' habit).
    #[default]
    EvictOldest,
    /// Refuse the sign-in (403 `SESSION_LIMIT_REACHED`); the user signs out somewhere first.
    Deny,
}

/// Why a session check refused and removed a live session (see [`check_policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyEnd {
    /// Idle longer than the inactivity timeout.
    Inactive,
    /// Older than the absolute timeout, whatever its activity.
    AbsoluteTimeout,
}

/// The timeouts a session check enforces, in seconds; `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckPolicy {
    pub inactivity_seconds: Option<i64>,
    pub absolute_seconds: Option<i64>,
}

impl CheckPolicy {
    /// Whether a session created at `created_at` and last active at `last_active` has ended at
    /// `now`. Both bounds are exclusive: idle for exactly the timeout is still accepted.
    pub fn check(
        &self,
        created_at: OffsetDateTime,
        last_active: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Option<PolicyEnd> {
        if let Some(abs) = self.absolute_seconds
            && now - created_at > Duration::seconds(abs)
        {
            return Some(PolicyEnd::AbsoluteTimeout);
        }
        if let Some(idle) = self.inactivity_seconds
            && now - last_active > Duration::seconds(idle)
        {
            return Some(PolicyEnd::Inactive);
        }
        None
    }

    /// The expiry a slide at `now` sets: `now + expires_in`, never past the absolute timeout.
    pub fn slid_expiry(
        &self,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
        expires_in: i64,
    ) -> OffsetDateTime {
        let slid = now + Duration::seconds(expires_in);
        match self.absolute_seconds {
            Some(abs) => slid.min(created_at + Duration::seconds(abs)),
            None => slid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timeouts_are_exclusive_and_absolute_wins() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let p = CheckPolicy {
            inactivity_seconds: Some(600),
            absolute_seconds: Some(3600),
        };
        let s = Duration::seconds;
        assert_eq!(p.check(t0, t0, t0 + s(599)), None);
        assert_eq!(p.check(t0, t0, t0 + s(600)), None);
        assert_eq!(p.check(t0, t0, t0 + s(601)), Some(PolicyEnd::Inactive));
        assert_eq!(
            p.check(t0, t0 + s(3600), t0 + s(3601)),
            Some(PolicyEnd::AbsoluteTimeout)
        );
        assert_eq!(p.slid_expiry(t0, t0 + s(60), 86_400), t0 + s(3600));
        assert_eq!(CheckPolicy::default().slid_expiry(t0, t0, 60), t0 + s(60));
    }
}
