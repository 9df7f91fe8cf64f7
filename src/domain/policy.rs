use serde::{Deserialize, Serialize};

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
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        Self {
            clean_expired_tokens: true,
            clean_inactive_sessions: true,
            inactivity_days: 30,
            enforce_session_limits: true,
            max_sessions_per_user: 10,
        }
    }
}
