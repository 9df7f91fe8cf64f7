//! The per-row layers over a table of many blocks with a tiny batch-duration target, so that on
//! PostgreSQL the physical-order walk takes many ranges of changing size (SQLite takes its
//! index path): exactly the stale sessions go, counted per layer, as the dry run said.

use crate::all_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use sessionkeeper::domain::cleanup_plan::SessionMeta;
use sessionkeeper::domain::run::{Outcome, Trigger};
use sessionkeeper::domain::{CleanupPolicy, Scope};
use std::collections::BTreeSet;
use time::Duration;

const SESSIONS: usize = 3000;

all_stores!(
    many_ranges_delete_exactly_the_stale_sessions,
    Settings::new()
        .set("SESSION_CLEANUP_BATCH_SIZE", "400")
        .set("SESSION_CLEANUP_BATCH_TARGET_MS", "1")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "0")
        .set("SESSION_CLEANUP_BATCH_PAUSE_PERCENT", "0"),
    |app| async move {
        let users = ["walk-a", "walk-b", "walk-c"];
        for u in users {
            add_user(&app, u, None).await;
        }
        let t = app.clock_now();
        let d = Duration::days(1);
        // Interleaved, so that every block holds some of each kind.
        let sessions: Vec<SessionMeta> = (0..SESSIONS)
            .map(|i| {
                let (expires, updated) = match i % 3 {
                    0 => (t - Duration::seconds(i as i64 + 1), t - 2 * d),
                    1 => (t + d, t - 31 * d - Duration::seconds(i as i64)),
                    _ => (t + d, t - Duration::seconds(i as i64)),
                };
                meta(&format!("w{i:05}"), users[i % 2], expires, updated, updated)
            })
            .collect();
        seed(&app, &sessions).await;
        let policy = CleanupPolicy {
            clean_expired_tokens: true,
            clean_inactive_sessions: true,
            inactivity_days: 30,
            enforce_session_limits: false,
            max_sessions_per_user: 10,
            absolute_timeout_seconds: None,
            inactivity_seconds: None,
        };

        let dry = app
            .cleanup
            .run_once(Trigger::Manual, policy, true, Scope::All)
            .await
            .unwrap();
        let run = app
            .cleanup
            .run_once(Trigger::Manual, policy, false, Scope::All)
            .await
            .unwrap();
        assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
        assert_eq!((run.counts.expired, run.counts.inactive), (1000, 1000));
        assert_eq!(run.counts, dry.counts);

        let kept: BTreeSet<String> = (0..SESSIONS)
            .filter(|i| i % 3 == 2)
            .map(|i| format!("w{i:05}"))
            .collect();
        assert_eq!(remaining(&app, &users).await, kept);
    }
);
