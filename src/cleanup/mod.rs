//! The session cleanup service: runs at start-up and on an interval, one instance at a time
//! (a lease row), in short batches, with a history, live status and metrics.
//!
//! A database failure fails that run only: it is logged, kept in memory until the database
//! answers again, then recorded; the loop goes on.

mod execute;
mod pacing;
mod status;

pub use status::{CleanupStatus, CleanupTotals};

use crate::config::CleanupConfig;
use crate::domain::run::{CleanupRun, LayerCounts, Outcome, Trigger};
use crate::domain::{CleanupPolicy, Clock, Scope};
use crate::secondary::SecondaryStorage;
use crate::store::cleanup::SessionGauges;
use crate::store::{Store, StoreError};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// The lease row's name in `sessionkeeper_lease`.
pub const LEASE_NAME: &str = "session-cleanup";

/// Records that could not be written are kept up to this many, oldest dropped first.
const MAX_PENDING_RECORDS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// A run is in progress here, or (with a shared database) another instance holds the lease.
    #[error("a cleanup run is already in progress (run {run_id})")]
    AlreadyRunning { run_id: String },
    /// Reserved for failures outside a run. A database error during a run does not end up
    /// here: it is the run's outcome (`failed`), so that it is recorded like any other run.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The webhook events a cleanup run writes: receivers of each run's `cleanup.run.finished`,
/// and of a `session.ended` per removed session (0 when off).
#[derive(Debug, Clone, Copy, Default)]
pub struct RunEvents {
    pub finished_endpoints: u32,
    pub session_endpoints: u32,
}

pub struct CleanupService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: CleanupConfig,
    events: RunEvents,
    instance_id: String,
    live: Mutex<Live>,
    /// Held for the whole of a run: one run at a time per instance.
    run_gate: tokio::sync::Mutex<()>,
    /// Cancelled by `stop`; replaced by a fresh one so later manual runs still work.
    cancel: Mutex<CancellationToken>,
    /// The session gauge refresh started after the last run, while it may still be running.
    gauge_refresh: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// What the session gauges were last set to.
    gauges: Arc<Mutex<Option<SessionGauges>>>,
    /// The Better Auth app's Redis: each real run ends with a sweep of it.
    secondary: Option<Arc<SecondaryStorage>>,
}

#[derive(Default)]
struct Live {
    loop_running: bool,
    running_run_id: Option<String>,
    /// Sessions deleted so far by the run in progress.
    progress: Option<LayerCounts>,
    last_run: Option<CleanupRun>,
    next_run_at: Option<OffsetDateTime>,
    totals: CleanupTotals,
    pending: Vec<CleanupRun>,
}

impl CleanupService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: CleanupConfig) -> Arc<Self> {
        Self::with_parts(store, clock, config, RunEvents::default(), None)
    }

    /// [`Self::new`], writing webhook events for what its runs do and, with the app's Redis,
    /// ending each real run with a sweep of it.
    pub fn with_parts(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: CleanupConfig,
        events: RunEvents,
        secondary: Option<Arc<SecondaryStorage>>,
    ) -> Arc<Self> {
        crate::metrics::handle();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let instance_id = format!(
            "{host}:{}:{}",
            std::process::id(),
            crate::domain::ids::generate_id(8)
        );
        Arc::new(Self {
            store,
            clock,
            config,
            events,
            instance_id,
            live: Mutex::new(Live::default()),
            run_gate: tokio::sync::Mutex::new(()),
            cancel: Mutex::new(CancellationToken::new()),
            gauge_refresh: Mutex::new(None),
            gauges: Arc::new(Mutex::new(None)),
            secondary,
        })
    }

    pub fn config(&self) -> &CleanupConfig {
        &self.config
    }

    /// `host:pid:random`, written as the lease holder and into each run record.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cancel_token(&self) -> CancellationToken {
        self.cancel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Starts the background loop: a run at start-up when configured, then one every interval
    /// (with jitter).
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let token = self.cancel_token();
        self.live().loop_running = true;
        let this = self.clone();
        tokio::spawn(async move {
            if this.config.on_startup && !token.is_cancelled() {
                this.scheduled_run(Trigger::Startup, &token).await;
            }
            while !token.is_cancelled() {
                let delay = this.next_delay();
                this.live().next_run_at = Some(this.clock.now() + delay);
                tokio::select! {
                    biased;
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
                this.scheduled_run(Trigger::Interval, &token).await;
            }
            let mut live = this.live();
            live.loop_running = false;
            live.next_run_at = None;
        })
    }

    /// Stops the loop; a run in progress stops at its next batch boundary (outcome
    /// "stopped") and this returns once it has.
    pub async fn stop(&self) {
        let old = {
            let mut token = self.cancel.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *token, CancellationToken::new())
        };
        old.cancel();
        let _wait_for_run = self.run_gate.lock().await;
        self.gauges_refreshed().await;
        let mut live = self.live();
        live.loop_running = false;
        live.next_run_at = None;
    }

    /// One run now, on this instance. `scope` limits it to one tenant's sessions.
    pub async fn run_once(
        &self,
        trigger: Trigger,
        policy: CleanupPolicy,
        dry_run: bool,
        scope: Scope,
    ) -> Result<CleanupRun, CleanupError> {
        let token = self.cancel_token();
        self.run_with(trigger, policy, dry_run, scope, &token).await
    }

    /// Returns once the session gauges refresh that follows a run whose policy does not let
    /// the gauges be derived (in the background, after the run has returned) is done; at once
    /// when none is pending.
    pub async fn gauges_refreshed(&self) {
        let pending = self
            .gauge_refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = pending
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "the session gauges refresh did not finish");
        }
    }

    /// The session counts by status that the `sessionkeeper_sessions` gauges were last set to
    /// (by a run, or the refresh after it); `None` before the first.
    pub fn session_gauges(&self) -> Option<SessionGauges> {
        *self.gauges.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn status(&self) -> CleanupStatus {
        let live = self.live();
        CleanupStatus {
            enabled: live.loop_running,
            running: live.running_run_id.is_some(),
            running_run_id: live.running_run_id.clone(),
            running_counts: live.progress,
            instance_id: self.instance_id.clone(),
            policy: self.config.policy,
            interval_minutes: self.config.interval_minutes,
            interval_seconds: self.config.interval().as_secs(),
            last_run: live.last_run.clone(),
            next_run_at: live.next_run_at,
            totals: live.totals,
            unrecorded_runs: live.pending.len(),
            limits: crate::domain::limits::LIMITS,
        }
    }

    /// A scheduled run in its own task, so that even a panic in a run cannot end the loop.
    async fn scheduled_run(self: &Arc<Self>, trigger: Trigger, token: &CancellationToken) {
        if token.is_cancelled() {
            return;
        }
        let this = self.clone();
        let token = token.clone();
        let policy = self.config.policy;
        let task = tokio::spawn(async move {
            this.run_with(trigger, policy, false, Scope::All, &token)
                .await
        });
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(CleanupError::AlreadyRunning { run_id })) => {
                tracing::debug!(%run_id, "cleanup skipped: a run is in progress elsewhere");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cleanup run could not start"),
            Err(e) => tracing::error!(error = %e, "cleanup run panicked; the schedule goes on"),
        }
    }

    fn next_delay(&self) -> std::time::Duration {
        let base = self.config.interval().as_secs_f64();
        let spread = f64::from(self.config.jitter_percent) / 100.0;
        let factor = if spread > 0.0 {
            1.0 + rand::random_range(-spread..=spread)
        } else {
            1.0
        };
        std::time::Duration::from_secs_f64((base * factor).max(0.001))
    }

    /// Writes the records that failed earlier; stops at the first failure.
    async fn flush_pending(&self) {
        let pending = std::mem::take(&mut self.live().pending);
        let mut rest = pending.into_iter();
        while let Some(run) = rest.next() {
            let endpoints = self.events.finished_endpoints;
            if let Err(e) = self
                .store
                .record_cleanup_run(&run, &self.instance_id, endpoints)
                .await
            {
                tracing::debug!(error = %e, "cleanup history still unavailable");
                let mut live = self.live();
                let mut keep = vec![run];
                keep.extend(rest);
                keep.append(&mut live.pending);
                live.pending = keep;
                return;
            }
            tracing::info!(run_id = %run.run_id, outcome = run.outcome.as_str(), "recorded an earlier cleanup run");
        }
    }

    /// Records the run, or keeps it for later when the database is away.
    async fn record(&self, run: &CleanupRun) {
        let endpoints = self.events.finished_endpoints;
        match self
            .store
            .record_cleanup_run(run, &self.instance_id, endpoints)
            .await
        {
            Ok(()) => self.flush_pending().await,
            Err(e) => {
                tracing::warn!(run_id = %run.run_id, error = %e, "cannot record the cleanup run yet; will retry");
                let mut live = self.live();
                if live.pending.len() >= MAX_PENDING_RECORDS {
                    live.pending.remove(0);
                }
                live.pending.push(run.clone());
            }
        }
    }

    fn finish(&self, run: &CleanupRun) {
        let mut live = self.live();
        live.running_run_id = None;
        live.progress = None;
        live.totals.runs += 1;
        if run.outcome == Outcome::Failed {
            live.totals.failed_runs += 1;
        }
        if !run.dry_run {
            live.totals.deleted.expired += run.counts.expired;
            live.totals.deleted.inactive += run.counts.inactive;
            live.totals.deleted.excess += run.counts.excess;
        }
        live.last_run = Some(run.clone());
    }
}
