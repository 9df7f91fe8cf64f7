//! The record of one cleanup run: the one shape used by the CLI's `--json`, the admin API and
//! the run history.

use super::cleanup_plan::Layer;
use super::policy::CleanupPolicy;
use super::timefmt::{iso, iso_opt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Startup,
    Interval,
    Manual,
    Cli,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Interval => "interval",
            Trigger::Manual => "manual",
            Trigger::Cli => "cli",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "startup" => Trigger::Startup,
            "interval" => Trigger::Interval,
            "manual" => Trigger::Manual,
            "cli" => Trigger::Cli,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Running,
    Ok,
    Failed,
    Stopped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Stopped => "stopped",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => Outcome::Running,
            "ok" => Outcome::Ok,
            "failed" => Outcome::Failed,
            "stopped" => Outcome::Stopped,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LayerCounts {
    pub expired: u64,
    /// Sessions past the absolute timeout (the `absolute` layer). Left out of the JSON when 0,
    /// like `verifications`, so the shape clients know is unchanged until it counts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub absolute: u64,
    pub inactive: u64,
    pub excess: u64,
    /// Expired rows of Better Auth's `verification` table. Not sessions: not in `total`.
    /// Left out of the JSON when 0, so the shape clients know is unchanged until it counts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub verifications: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl LayerCounts {
    pub fn total(&self) -> u64 {
        self.expired + self.absolute + self.inactive + self.excess
    }
    pub fn get_mut(&mut self, layer: Layer) -> &mut u64 {
        match layer {
            Layer::Expired => &mut self.expired,
            Layer::Absolute => &mut self.absolute,
            Layer::Inactive => &mut self.inactive,
            Layer::Excess => &mut self.excess,
        }
    }
    pub fn get(&self, layer: Layer) -> u64 {
        match layer {
            Layer::Expired => self.expired,
            Layer::Absolute => self.absolute,
            Layer::Inactive => self.inactive,
            Layer::Excess => self.excess,
        }
    }
}

/// One session a dry run would remove. Never carries a token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SampleEntry {
    pub session_id: String,
    pub user_id: String,
    pub layer: Layer,
    #[serde(with = "iso")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "iso")]
    pub updated_at: OffsetDateTime,
    /// Last used: the later of `updatedAt` and the stored activity.
    #[serde(with = "iso")]
    pub last_active_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CleanupRun {
    pub run_id: String,
    pub trigger: Trigger,
    pub dry_run: bool,
    pub policy: CleanupPolicy,
    pub counts: LayerCounts,
    pub total: u64,
    #[serde(with = "iso")]
    pub started_at: OffsetDateTime,
    #[serde(with = "iso_opt")]
    pub finished_at: Option<OffsetDateTime>,
    pub duration_ms: Option<u64>,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// The tenant a manual run was confined to; absent for runs over every tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Dry runs list a few of the sessions they would remove.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<Vec<SampleEntry>>,
}
