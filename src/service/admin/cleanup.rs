//! Manual cleanup runs from the admin API: the request's overrides applied to the configured
//! policy, validated the way the configuration validates the same settings.

use super::types::CleanupRequest;
use crate::domain::CleanupPolicy;
use crate::service::{Error, Result};

impl CleanupRequest {
    /// `base` with this request's overrides; 400 for values the configuration would refuse.
    pub fn policy(&self, base: &CleanupPolicy) -> Result<CleanupPolicy> {
        let mut p = *base;
        if let Some(v) = self.clean_expired_tokens {
            p.clean_expired_tokens = v;
        }
        if let Some(v) = self.clean_inactive_sessions {
            p.clean_inactive_sessions = v;
        }
        if let Some(d) = self.inactivity_days {
            if !(1..=36_500).contains(&d) {
                return Err(Error::Validation(format!(
                    "inactivityDays must be between 1 and 36500, got {d}"
                )));
            }
            p.inactivity_days = d;
        }
        if let Some(v) = self.enforce_session_limits {
            p.enforce_session_limits = v;
        }
        if let Some(m) = self.max_sessions_per_user {
            if !(1..=100_000).contains(&m) {
                return Err(Error::Validation(format!(
                    "maxSessionsPerUser must be between 1 and 100000, got {m}"
                )));
            }
            p.max_sessions_per_user = m;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_are_bounded() {
        let base = CleanupPolicy::default();
        let req = CleanupRequest {
            inactivity_days: Some(7),
            clean_expired_tokens: Some(false),
            ..Default::default()
        };
        let p = req.policy(&base).unwrap();
        assert_eq!(
            (
                p.inactivity_days,
                p.clean_expired_tokens,
                p.max_sessions_per_user
            ),
            (7, false, 10)
        );
        for bad in [
            CleanupRequest {
                inactivity_days: Some(0),
                ..Default::default()
            },
            CleanupRequest {
                max_sessions_per_user: Some(0),
                ..Default::default()
            },
            CleanupRequest {
                max_sessions_per_user: Some(100_001),
                ..Default::default()
            },
        ] {
            assert!(bad.policy(&base).is_err());
        }
    }
}
