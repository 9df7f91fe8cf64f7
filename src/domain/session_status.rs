//! The status an operator sees for a session, by the rules of the cleanup layers.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Expired,
    Inactive,
}

/// The two instants that split sessions into the three statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCutoffs {
    /// Sessions expiring before this are expired.
    pub now: OffsetDateTime,
    /// Unexpired sessions last used before this are inactive.
    pub inactive_before: OffsetDateTime,
}

impl StatusCutoffs {
    pub fn new(now: OffsetDateTime, inactivity_days: u32) -> Self {
        Self::idle_for(now, time::Duration::days(i64::from(inactivity_days)))
    }

    /// Inactive past `inactivity` (see `CleanupPolicy::inactivity`).
    pub fn idle_for(now: OffsetDateTime, inactivity: time::Duration) -> Self {
        Self {
            now,
            inactive_before: now - inactivity,
        }
    }

    /// expired = `expiresAt < now`; inactive = not expired and `updatedAt < now − inactivity`;
    /// active = the rest (the same boundaries as `cleanup_plan::plan`).
    pub fn status(&self, expires_at: OffsetDateTime, updated_at: OffsetDateTime) -> SessionStatus {
        if expires_at < self.now {
            SessionStatus::Expired
        } else if updated_at < self.inactive_before {
            SessionStatus::Inactive
        } else {
            SessionStatus::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn boundaries_match_the_cleanup_plan() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let c = StatusCutoffs::new(now, 30);
        let later = now + Duration::days(1);
        assert_eq!(c.status(now, now), SessionStatus::Active);
        assert_eq!(
            c.status(now - Duration::milliseconds(1), now),
            SessionStatus::Expired
        );
        assert_eq!(
            c.status(later, now - Duration::days(30)),
            SessionStatus::Active
        );
        assert_eq!(
            c.status(later, now - Duration::days(30) - Duration::milliseconds(1)),
            SessionStatus::Inactive
        );
        // An expired session is expired even when it is also idle.
        assert_eq!(
            c.status(now - Duration::days(1), now - Duration::days(90)),
            SessionStatus::Expired
        );
    }
}
