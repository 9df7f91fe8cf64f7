//! Precise last activity without a write per check: checks note the time in memory (one map
//! update), and a background task writes what changed every resolution period in one
//! statement per [`FLUSH_ROWS`] sessions. A crash loses at most the last period; a flush never
//! runs on a check's path.

use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use time::OffsetDateTime;

/// Rows per flush statement: one statement for many sessions, its JSON parameter bounded.
pub const FLUSH_ROWS: usize = 5_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Last activity noted here, in milliseconds since the epoch.
    last: i64,
    /// The value last written to the store (`i64::MIN`: never).
    flushed: i64,
}

/// What one flush wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub statements: u64,
    pub rows: u64,
}

pub struct ActivityTracker {
    store: Arc<dyn Store>,
    seen: Mutex<HashMap<String, Seen>>,
    resolution: Duration,
    /// Written entries idle longer than this (two periods) are forgotten at a flush, so the
    /// map holds only the sessions in use. A forgotten session that looks idle by `updatedAt`
    /// costs its next check one read of the stored activity, after which it is noted again.
    keep_ms: i64,
}

pub fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl ActivityTracker {
    pub fn new(store: Arc<dyn Store>, resolution_seconds: u32) -> Self {
        let resolution = Duration::from_secs(u64::from(resolution_seconds.max(1)));
        Self {
            store,
            seen: Mutex::new(HashMap::new()),
            resolution,
            keep_ms: i64::from(resolution_seconds.max(1)) * 2_000,
        }
    }

    /// Notes a check of `session_id` at `now`: the hot path's only cost.
    pub fn record(&self, session_id: &str, now: OffsetDateTime) {
        let t = millis(now);
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        match seen.get_mut(session_id) {
            Some(s) => s.last = s.last.max(t),
            None => {
                seen.insert(
                    session_id.to_owned(),
                    Seen {
                        last: t,
                        flushed: i64::MIN,
                    },
                );
            }
        }
    }

    /// The last activity noted here for `session_id`, in milliseconds.
    pub fn noted(&self, session_id: &str) -> Option<i64> {
        self.seen.lock().ok()?.get(session_id).map(|s| s.last)
    }

    /// Writes every session whose activity moved since the last flush, [`FLUSH_ROWS`] per
    /// statement. A failed statement's rows stay pending for the next flush.
    pub async fn flush(&self, now: OffsetDateTime) -> crate::store::Result<Flushed> {
        let dirty: Vec<(String, i64)> = {
            let Ok(mut seen) = self.seen.lock() else {
                return Ok(Flushed::default());
            };
            let forget_before = millis(now).saturating_sub(self.keep_ms);
            seen.retain(|_, s| s.last > s.flushed || s.last >= forget_before);
            seen.iter()
                .filter(|(_, s)| s.last > s.flushed)
                .map(|(id, s)| (id.clone(), s.last))
                .collect()
        };
        let mut out = Flushed::default();
        for chunk in dirty.chunks(FLUSH_ROWS) {
            self.store.flush_activity(chunk).await?;
            out.statements += 1;
            out.rows += chunk.len() as u64;
            if let Ok(mut seen) = self.seen.lock() {
                for (id, t) in chunk {
                    if let Some(s) = seen.get_mut(id) {
                        s.flushed = s.flushed.max(*t);
                    }
                }
            }
        }
        metrics::counter!(crate::metrics::ACTIVITY_FLUSH_STATEMENTS).increment(out.statements);
        metrics::counter!(crate::metrics::ACTIVITY_FLUSH_ROWS).increment(out.rows);
        Ok(out)
    }

    /// Flushes every resolution period until the tracker is dropped. A failing database is
    /// logged and retried at the next period; it never stops the task.
    pub fn spawn(this: &Arc<Self>, clock: Arc<dyn crate::domain::Clock>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(this);
        let period = this.resolution;
        handle.spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(tracker) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = tracker.flush(clock.now()).await {
                    tracing::warn!(error = %e, "flushing session activity failed; retrying next period");
                }
            }
        });
    }
}
