//! The cleanup's `absolute` layer (after `expired`): sessions older than the absolute timeout
//! since `createdAt`, however active, counted on their own as `counts.absolute`, and never
//! counted again by the inactive or excess layers. On every store, in several batches.

use crate::all_stores;
use crate::both_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use sessionkeeper::domain::cleanup_plan::{Layer, SessionMeta};
use sessionkeeper::domain::run::{Outcome, Trigger};
use sessionkeeper::domain::{CleanupPolicy, Scope};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

const USERS: [&str; 2] = ["abs-a", "abs-b"];
const TEN_DAYS: i64 = 10 * 86_400;

/// Absolute timeout 10 days, inactivity 1 day, limit 3 (`t` = now).
/// abs-a: expired and old; past the absolute timeout by 1 ms though used an hour ago; exactly
/// at it; past it and idle too (absolute, not inactive); idle but young.
/// abs-b: five recently used sessions, the two least recent of them past the absolute timeout:
/// with the layer on they go as `absolute` and the other three are within the limit.
fn fixture(t: OffsetDateTime) -> Vec<SessionMeta> {
    let (ms, h, d) = (
        Duration::milliseconds(1),
        Duration::hours(1),
        Duration::days(1),
    );
    vec![
        meta("exp-old", "abs-a", t - h, t - 20 * d, t - 2 * d),
        meta("abs-past", "abs-a", t + d, t - 10 * d - ms, t - h),
        meta("abs-edge", "abs-a", t + d, t - 10 * d, t - h),
        meta("abs-idle", "abs-a", t + d, t - 40 * d, t - 31 * d),
        meta("idle", "abs-a", t + d, t - 5 * d, t - 2 * d),
        meta("b1", "abs-b", t + d, t - 2 * d, t - h),
        meta("b2", "abs-b", t + d, t - 2 * d, t - 2 * h),
        meta("b3", "abs-b", t + d, t - 2 * d, t - 3 * h),
        meta("b4", "abs-b", t + d, t - 11 * d, t - 5 * h),
        meta("b5", "abs-b", t + d, t - 12 * d, t - 6 * h),
    ]
}

fn policy(expired: bool, absolute: bool) -> CleanupPolicy {
    CleanupPolicy {
        clean_expired_tokens: expired,
        clean_inactive_sessions: true,
        inactivity_days: 1,
        enforce_session_limits: true,
        max_sessions_per_user: 3,
        absolute_timeout_seconds: absolute.then_some(TEN_DAYS),
        inactivity_seconds: None,
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

all_stores!(
    the_absolute_layer_runs_after_expired_and_counts_on_its_own,
    Settings::new()
        .set("SESSION_CLEANUP_BATCH_SIZE", "2")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "0"),
    |app| async move {
        for u in USERS {
            add_user(&app, u, None).await;
        }
        let t = app.clock_now();
        let sessions = fixture(t);
        let all: BTreeSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
        // (policy, expired, absolute, inactive, excess), by hand and checked against `plan`.
        let cases = [
            (
                policy(true, true),
                set(&["exp-old"]),
                set(&["abs-past", "abs-idle", "b4", "b5"]),
                set(&["idle"]),
                set(&[]),
            ),
            // Expired rows are the expired layer's even when it is off: never `absolute`.
            (
                policy(false, true),
                set(&[]),
                set(&["abs-past", "abs-idle", "b4", "b5"]),
                set(&["idle"]),
                set(&[]),
            ),
            // Off: today's layers and counts, unchanged.
            (
                policy(true, false),
                set(&["exp-old"]),
                set(&[]),
                set(&["abs-idle", "idle"]),
                set(&["b4", "b5"]),
            ),
        ];
        for (p, expired, absolute, inactive, excess) in cases {
            let planned = planned(&sessions, &p, t);
            let get = |l: Layer| planned.get(&l).cloned().unwrap_or_default();
            assert_eq!(
                (
                    get(Layer::Expired),
                    get(Layer::Absolute),
                    get(Layer::Inactive),
                    get(Layer::Excess)
                ),
                (
                    expired.clone(),
                    absolute.clone(),
                    inactive.clone(),
                    excess.clone()
                ),
                "{p:?}"
            );

            seed(&app, &sessions).await;
            let dry = app
                .cleanup
                .run_once(Trigger::Manual, p, true, Scope::All)
                .await
                .unwrap();
            assert_eq!(dry.outcome, Outcome::Ok, "{:?}", dry.error);
            assert_eq!(remaining(&app, &USERS).await, all, "a dry run deleted");
            let sample = dry.sample.clone().unwrap();
            let sampled = |l: Layer| -> BTreeSet<String> {
                sample
                    .iter()
                    .filter(|s| s.layer == l)
                    .map(|s| s.session_id.clone())
                    .collect()
            };
            assert_eq!(sampled(Layer::Absolute), absolute, "{p:?}");

            let run = app
                .cleanup
                .run_once(Trigger::Manual, p, false, Scope::All)
                .await
                .unwrap();
            assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
            let c = run.counts;
            assert_eq!(
                (c.expired, c.absolute, c.inactive, c.excess),
                (
                    expired.len() as u64,
                    absolute.len() as u64,
                    inactive.len() as u64,
                    excess.len() as u64
                ),
                "{p:?}"
            );
            assert_eq!(run.total, c.expired + c.absolute + c.inactive + c.excess);
            assert_eq!((dry.counts, dry.total), (run.counts, run.total));
            let gone: BTreeSet<String> = expired
                .iter()
                .chain(&absolute)
                .chain(&inactive)
                .chain(&excess)
                .cloned()
                .collect();
            let left: BTreeSet<String> = all.difference(&gone).cloned().collect();
            assert_eq!(remaining(&app, &USERS).await, left, "{p:?}");

            // The result JSON: `counts.absolute` (and the policy's timeout) only when on.
            let json = serde_json::to_value(&run).unwrap();
            if p.absolute_timeout_seconds.is_some() {
                assert_eq!(json["counts"]["absolute"], 4);
                assert_eq!(json["policy"]["absoluteTimeoutSeconds"], TEN_DAYS);
            } else {
                assert!(json["counts"].get("absolute").is_none(), "{json}");
                assert!(json["policy"].get("absoluteTimeoutSeconds").is_none());
            }
            // The run history keeps the count.
            let page = app
                .store()
                .list_cleanup_runs(100, None, None)
                .await
                .unwrap();
            let recorded = page.runs.iter().find(|r| r.run_id == run.run_id).unwrap();
            assert_eq!((recorded.counts, recorded.policy), (run.counts, p));
            // The gauges, counted again after a run with the layer on: the same numbers.
            let counted = app.store().session_gauges(t, 1).await.unwrap();
            app.cleanup.gauges_refreshed().await;
            assert_eq!(app.cleanup.session_gauges(), Some(counted), "{p:?}");
        }
    }
);

both_stores!(
    the_configured_absolute_timeout_drives_the_layer,
    Settings::new().set("SESSION_ABSOLUTE_TIMEOUT_SECONDS", "3600"),
    |app| async move {
        let policy = app.cleanup.status().policy;
        assert_eq!(policy.absolute_timeout_seconds, Some(3600));
        add_user(&app, "abs-cfg", None).await;
        let t = app.clock_now();
        let (h, s) = (Duration::hours(1), Duration::seconds(1));
        seed(
            &app,
            &[
                meta("old", "abs-cfg", t + h, t - h - s, t - s),
                meta("young", "abs-cfg", t + h, t - h + s, t - s),
            ],
        )
        .await;
        let run = app
            .cleanup
            .run_once(Trigger::Manual, policy, false, Scope::All)
            .await
            .unwrap();
        assert_eq!((run.counts.absolute, run.total), (1, 1));
        assert_eq!(remaining(&app, &["abs-cfg"]).await, set(&["young"]));
    }
);
