use crate::domain::CleanupPolicy;
use crate::domain::limits::Limits;
use crate::domain::run::{CleanupRun, LayerCounts};
use crate::domain::timefmt::iso_opt;
use serde::Serialize;
use time::OffsetDateTime;

/// The service's live state, for the admin API. Read from memory, never from the database.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CleanupStatus {
    /// The background loop is running.
    pub enabled: bool,
    pub running: bool,
    pub running_run_id: Option<String>,
    /// What the run in progress has deleted so far.
    pub running_counts: Option<LayerCounts>,
    pub instance_id: String,
    pub policy: CleanupPolicy,
    pub interval_minutes: u64,
    /// The effective interval (`SESSION_CLEANUP_INTERVAL_SECONDS` or the minutes).
    pub interval_seconds: u64,
    pub last_run: Option<CleanupRun>,
    #[serde(with = "iso_opt")]
    pub next_run_at: Option<OffsetDateTime>,
    pub totals: CleanupTotals,
    /// Finished runs waiting for the database to be recorded.
    pub unrecorded_runs: usize,
    /// What the server accepts: a manual run's policy must keep within these (the dashboard
    /// builds its form from them).
    pub limits: Limits,
}

/// Since this process started.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CleanupTotals {
    pub runs: u64,
    pub failed_runs: u64,
    pub deleted: LayerCounts,
}

impl CleanupStatus {
    /// What a tenant admin may see: no run ids, counts or totals, which cover every tenant.
    pub fn for_tenant(self) -> Self {
        Self {
            running_run_id: None,
            running_counts: None,
            instance_id: String::new(),
            last_run: None,
            totals: CleanupTotals::default(),
            unrecorded_runs: 0,
            ..self
        }
    }
}
