//! Why a session ended and who ended it: what a termination record holds besides the session's
//! own columns. Never the token or its hash.

use crate::domain::cleanup_plan::Layer;
use time::OffsetDateTime;

/// Why a session ended, written as the record's `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    SignedOut,
    /// By the user, from one of their sessions.
    Revoked,
    RevokedByAdmin,
    Banned,
    /// Over `MAX_SESSIONS_PER_USER`: at sign-in, or by the cleanup's excess layer.
    EvictedLimit,
    Expired,
    Inactive,
    AbsoluteTimeout,
    PasswordChanged,
}

impl EndReason {
    pub const ALL: [EndReason; 9] = [
        EndReason::SignedOut,
        EndReason::Revoked,
        EndReason::RevokedByAdmin,
        EndReason::Banned,
        EndReason::EvictedLimit,
        EndReason::Expired,
        EndReason::Inactive,
        EndReason::AbsoluteTimeout,
        EndReason::PasswordChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed-out",
            EndReason::Revoked => "revoked",
            EndReason::RevokedByAdmin => "revoked-by-admin",
            EndReason::Banned => "banned",
            EndReason::EvictedLimit => "evicted-limit",
            EndReason::Expired => "expired",
            EndReason::Inactive => "inactive",
            EndReason::AbsoluteTimeout => "absolute-timeout",
            EndReason::PasswordChanged => "password-changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason a cleanup layer records.
    pub fn of_layer(layer: Layer) -> Self {
        match layer {
            Layer::Expired => EndReason::Expired,
            Layer::Absolute => EndReason::AbsoluteTimeout,
            Layer::Inactive => EndReason::Inactive,
            Layer::Excess => EndReason::EvictedLimit,
        }
    }
}

/// Who ended a session, written as the record's `actor`: the user's id, the admin's id,
/// `service` (sessionkeeper on its own: an expired session met at a check, an eviction at
/// sign-in) or `cleanup:<run id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The session's own user, whose id the delete itself reads (sign-out knows only a token).
    Owner,
    User(String),
    Admin(String),
    Service,
    Cleanup(String),
}

impl Actor {
    /// The stored text; `None` for [`Actor::Owner`] (the record takes the session's user id).
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Actor::Owner => return None,
            Actor::User(id) | Actor::Admin(id) => id.clone(),
            Actor::Service => "service".into(),
            Actor::Cleanup(run) => format!("cleanup:{run}"),
        })
    }
}

/// One ending, applied to every session a delete removes: the same reason, actor and instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub reason: EndReason,
    /// `None`: the session's own user.
    pub actor: Option<String>,
    pub at: OffsetDateTime,
    /// Whether to write termination records.
    pub record: bool,
    /// How many webhook receivers get a `session.ended` event per session (0: none).
    pub endpoints: u32,
}

impl Ending {
    /// `None` when it would write nothing (records off and no receiver).
    pub fn new(
        reason: EndReason,
        actor: &Actor,
        at: OffsetDateTime,
        record: bool,
        endpoints: u32,
    ) -> Option<Self> {
        (record || endpoints > 0).then(|| Self {
            reason,
            actor: actor.to_text(),
            at,
            record,
            endpoints,
        })
    }
}

/// A termination record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    pub session_id: String,
    pub user_id: String,
    pub tenant_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_active_at: OffsetDateTime,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub ended_at: OffsetDateTime,
    /// The stored reason; one of [`EndReason`]'s names.
    pub reason: String,
    pub actor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_through_their_names() {
        for r in EndReason::ALL {
            assert_eq!(EndReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(EndReason::parse("deleted"), None);
    }

    #[test]
    fn actors_are_written_as_the_issue_names_them() {
        assert_eq!(
            Actor::Cleanup("r1".into()).to_text().as_deref(),
            Some("cleanup:r1")
        );
        assert_eq!(Actor::Service.to_text().as_deref(), Some("service"));
        assert_eq!(Actor::Admin("a".into()).to_text().as_deref(), Some("a"));
        assert_eq!(Actor::Owner.to_text(), None);
    }
}
