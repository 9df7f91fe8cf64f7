//! The cleanup semantics as a pure function. The stores implement the same rules in SQL; the
//! property tests check that both agree.

use super::policy::CleanupPolicy;
use serde::Serialize;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// The layers of a run, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Expired,
    Absolute,
    Inactive,
    Excess,
}

impl Layer {
    pub const ALL: [Layer; 4] = [
        Layer::Expired,
        Layer::Absolute,
        Layer::Inactive,
        Layer::Excess,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Expired => "expired",
            Layer::Absolute => "absolute",
            Layer::Inactive => "inactive",
            Layer::Excess => "excess",
        }
    }
}

/// The columns a cleanup decision reads.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMeta {
    pub id: String,
    pub user_id: String,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Sessions whose last activity is before this instant are inactive.
pub fn inactive_cutoff(policy: &CleanupPolicy, now: OffsetDateTime) -> OffsetDateTime {
    now - policy.inactivity()
}

/// Sessions created before this instant are past the absolute timeout. With the layer off, the
/// epoch: no session is created before it, so the statements need no separate switch.
pub fn absolute_cutoff(policy: &CleanupPolicy, now: OffsetDateTime) -> OffsetDateTime {
    match policy.absolute_timeout_seconds {
        Some(s) => now - Duration::seconds(s),
        None => OffsetDateTime::UNIX_EPOCH,
    }
}

/// The layer (if any) that removes each session, by these rules:
/// 1. expired: `expiresAt < now`;
/// 2. absolute: not expired and `createdAt < now - absolute timeout` (when it is set);
/// 3. inactive: not expired, not past the absolute timeout, and `updatedAt < now - inactivity`;
/// 4. excess: among each user's sessions that no enabled earlier layer removes, all but the
///    `max` most recently active (by `updatedAt`, then `createdAt`, then `id`, newest first).
pub fn plan(
    sessions: &[SessionMeta],
    policy: &CleanupPolicy,
    now: OffsetDateTime,
) -> Vec<(String, Layer)> {
    let cutoff = inactive_cutoff(policy, now);
    let absolute = absolute_cutoff(policy, now);
    let mut out = Vec::new();
    let mut survivors: HashMap<&str, Vec<&SessionMeta>> = HashMap::new();
    for s in sessions {
        let expired = s.expires_at < now;
        if policy.clean_expired_tokens && expired {
            out.push((s.id.clone(), Layer::Expired));
        } else if !expired && s.created_at < absolute {
            out.push((s.id.clone(), Layer::Absolute));
        } else if policy.clean_inactive_sessions && !expired && s.updated_at < cutoff {
            out.push((s.id.clone(), Layer::Inactive));
        } else {
            survivors.entry(&s.user_id).or_default().push(s);
        }
    }
    if policy.enforce_session_limits {
        let keep = policy.max_sessions_per_user as usize;
        for list in survivors.values_mut() {
            if list.len() > keep {
                list.sort_by(|a, b| {
                    (b.updated_at, b.created_at, &b.id).cmp(&(a.updated_at, a.created_at, &a.id))
                });
                out.extend(list[keep..].iter().map(|s| (s.id.clone(), Layer::Excess)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn meta(id: &str, user: &str, expires: OffsetDateTime, updated: OffsetDateTime) -> SessionMeta {
        SessionMeta {
            id: id.into(),
            user_id: user.into(),
            expires_at: expires,
            created_at: updated,
            updated_at: updated,
        }
    }

    #[test]
    fn boundaries_are_exclusive() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let p = CleanupPolicy {
            max_sessions_per_user: 100,
            ..Default::default()
        };
        let sessions = vec![
            meta("at-expiry", "u", now, now),
            meta("just-expired", "u", now - Duration::milliseconds(1), now),
            meta(
                "at-timeout",
                "u",
                now + Duration::days(1),
                now - Duration::days(30),
            ),
            meta(
                "past-timeout",
                "u",
                now + Duration::days(1),
                now - Duration::days(30) - Duration::milliseconds(1),
            ),
        ];
        let got = plan(&sessions, &p, now);
        assert_eq!(
            got,
            vec![
                ("just-expired".to_string(), Layer::Expired),
                ("past-timeout".to_string(), Layer::Inactive)
            ]
        );
    }

    #[test]
    fn absolute_comes_after_expired_and_before_the_others() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let p = CleanupPolicy {
            max_sessions_per_user: 1,
            absolute_timeout_seconds: Some(86_400),
            ..Default::default()
        };
        let (d, ms) = (Duration::days(1), Duration::milliseconds(1));
        let m = |id: &str, expires, created, updated| SessionMeta {
            id: String::from(id),
            user_id: "u".into(),
            expires_at: expires,
            created_at: created,
            updated_at: updated,
        };
        let sessions = vec![
            m("expired-old", now - ms, now - 9 * d, now - 9 * d),
            m("at-edge", now + d, now - d, now),
            m("past", now + d, now - d - ms, now),
            m("past-and-idle", now + d, now - 40 * d, now - 31 * d),
        ];
        assert_eq!(
            plan(&sessions, &p, now),
            vec![
                ("expired-old".to_string(), Layer::Expired),
                ("past".to_string(), Layer::Absolute),
                ("past-and-idle".to_string(), Layer::Absolute),
            ],
            "the edge survives, alone within the limit"
        );
        assert_eq!(
            absolute_cutoff(&CleanupPolicy::default(), now),
            OffsetDateTime::UNIX_EPOCH
        );
    }

    #[test]
    fn excess_keeps_most_recent_with_ties_broken_by_created_then_id() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let p = CleanupPolicy {
            max_sessions_per_user: 2,
            ..Default::default()
        };
        let t = now - Duration::hours(1);
        let sessions = vec![
            meta("a", "u", now + Duration::days(1), t),
            meta("b", "u", now + Duration::days(1), t),
            meta("c", "u", now + Duration::days(1), t),
        ];
        assert_eq!(
            plan(&sessions, &p, now),
            vec![("a".to_string(), Layer::Excess)]
        );
    }
}
