//! The cleanup layers at their boundaries, dry runs, tenant scope, stop, the lease, history
//! and status, on both stores.

use crate::all_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use sessionkeeper::cleanup::CleanupError;
use sessionkeeper::domain::cleanup_plan::{Layer, SessionMeta};
use sessionkeeper::domain::cursor::Cursor;
use sessionkeeper::domain::run::{Outcome, Trigger};
use sessionkeeper::domain::{CleanupPolicy, Scope};
use sessionkeeper::store::cleanup::LeaseOutcome;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

const USERS: [&str; 4] = ["u-a", "u-b", "u-c", "u-d"];

fn settings() -> Settings {
    Settings::new()
        .set("MAX_SESSIONS_PER_USER", "3")
        .set("SESSION_INACTIVITY_TIMEOUT_DAYS", "30")
        .set("SESSION_CLEANUP_BATCH_SIZE", "2")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "0")
}

/// Every boundary in one set (limit 3, inactivity 30 days, `t` = now):
/// u-a: expired by 1 ms, expiring exactly now, inactive by 1 ms, inactive exactly at the
/// timeout, and one both expired and idle for 40 days.
/// u-b: five active sessions with ties on updatedAt (broken by createdAt, then id).
/// u-c: exactly at the limit. u-d: under it.
fn fixture(t: OffsetDateTime) -> Vec<SessionMeta> {
    let (ms, h, d) = (
        Duration::milliseconds(1),
        Duration::hours(1),
        Duration::days(1),
    );
    let m = |id: &str, user: &str, expires: OffsetDateTime, updated: OffsetDateTime| {
        meta(id, user, expires, updated - h, updated)
    };
    vec![
        m("exp-past", "u-a", t - ms, t - d),
        m("exp-now", "u-a", t, t - d),
        m("inact-past", "u-a", t + d, t - 30 * d - ms),
        m("inact-edge", "u-a", t + d, t - 30 * d),
        m("exp-and-old", "u-a", t - d, t - 40 * d),
        meta("b1", "u-b", t + d, t - 2 * h, t - h),
        meta("b2", "u-b", t + d, t - 3 * h, t - 2 * h),
        meta("b3", "u-b", t + d, t - 5 * h, t - 3 * h),
        meta("b4", "u-b", t + d, t - 4 * h, t - 3 * h),
        meta("b5", "u-b", t + d, t - 4 * h, t - 3 * h),
        m("c1", "u-c", t + d, t - h),
        m("c2", "u-c", t + d, t - 2 * h),
        m("c3", "u-c", t + d, t - 3 * h),
        m("d1", "u-d", t + d, t - h),
        m("d2", "u-d", t + d, t - 2 * h),
    ]
}

fn policy(expired: bool, inactive: bool, excess: bool) -> CleanupPolicy {
    CleanupPolicy {
        clean_expired_tokens: expired,
        clean_inactive_sessions: inactive,
        inactivity_days: 30,
        enforce_session_limits: excess,
        max_sessions_per_user: 3,
        absolute_timeout_seconds: None,
        inactivity_seconds: None,
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

all_stores!(
    each_layer_alone_and_together_at_the_boundaries,
    settings(),
    |app| async move {
        for u in USERS {
            add_user(&app, u, None).await;
        }
        let t = app.clock_now();
        let sessions = fixture(t);
        let all: BTreeSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
        // (policy, expired, inactive, excess): written out by hand, and checked against `plan`.
        let cases = [
            (
                policy(true, false, false),
                set(&["exp-past", "exp-and-old"]),
                set(&[]),
                set(&[]),
            ),
            (
                policy(false, true, false),
                set(&[]),
                set(&["inact-past"]),
                set(&[]),
            ),
            (
                policy(false, false, true),
                set(&[]),
                set(&[]),
                set(&["inact-past", "exp-and-old", "b4", "b3"]),
            ),
            (
                policy(false, true, true),
                set(&[]),
                set(&["inact-past"]),
                set(&["exp-and-old", "b4", "b3"]),
            ),
            (
                policy(true, true, true),
                set(&["exp-past", "exp-and-old"]),
                set(&["inact-past"]),
                set(&["b4", "b3"]),
            ),
            (policy(false, false, false), set(&[]), set(&[]), set(&[])),
        ];
        for (p, expired, inactive, excess) in cases {
            let planned = planned(&sessions, &p, t);
            let get = |l: Layer| planned.get(&l).cloned().unwrap_or_default();
            assert_eq!(
                (
                    get(Layer::Expired),
                    get(Layer::Inactive),
                    get(Layer::Excess)
                ),
                (expired.clone(), inactive.clone(), excess.clone()),
                "{p:?}"
            );

            seed(&app, &sessions).await;
            let dry = app
                .cleanup
                .run_once(Trigger::Manual, p, true, Scope::All)
                .await
                .unwrap();
            assert_eq!(dry.outcome, Outcome::Ok, "{:?}", dry.error);
            assert_eq!(
                remaining(&app, &USERS).await,
                all,
                "a dry run deleted something"
            );
            let counted = app.store().session_gauges(t, 30).await.unwrap();
            app.cleanup.gauges_refreshed().await;
            assert_eq!(app.cleanup.session_gauges(), Some(counted), "{p:?}");
            let sample = dry.sample.clone().unwrap();
            let gone: BTreeSet<String> = expired
                .iter()
                .chain(&inactive)
                .chain(&excess)
                .cloned()
                .collect();
            assert_eq!(sample.len(), gone.len().min(20));
            assert!(
                sample.iter().all(|s| gone.contains(&s.session_id)),
                "{sample:?}"
            );
            let json = serde_json::to_string(&dry).unwrap();
            assert!(
                !json.contains("token-"),
                "a token leaked into the run: {json}"
            );

            let run = app
                .cleanup
                .run_once(Trigger::Manual, p, false, Scope::All)
                .await
                .unwrap();
            assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
            let counts = (run.counts.expired, run.counts.inactive, run.counts.excess);
            assert_eq!(
                counts,
                (
                    expired.len() as u64,
                    inactive.len() as u64,
                    excess.len() as u64
                ),
                "{p:?}"
            );
            assert_eq!(
                (dry.counts, dry.total),
                (run.counts, run.total),
                "dry run disagrees with the real run"
            );
            let left: BTreeSet<String> = all.difference(&gone).cloned().collect();
            assert_eq!(remaining(&app, &USERS).await, left, "{p:?}");
            // Derived from the count before the deletes, or counted again after the run when
            // the policy does not tell which status the excess rows had: the same numbers.
            let counted = app.store().session_gauges(t, 30).await.unwrap();
            app.cleanup.gauges_refreshed().await;
            assert_eq!(app.cleanup.session_gauges(), Some(counted), "{p:?}");
            assert!(run.sample.is_none());
        }
    }
);

all_stores!(
    a_tenant_scoped_run_touches_only_that_tenant,
    settings(),
    |app| async move {
        add_user(&app, "t1-user", Some("t1")).await;
        add_user(&app, "t2-user", Some("t2")).await;
        let t = app.clock_now();
        let d = Duration::days(1);
        let mut sessions = Vec::new();
        for (user, prefix) in [("t1-user", "x"), ("t2-user", "y")] {
            sessions.push(meta(
                &format!("{prefix}-expired"),
                user,
                t - d,
                t - 2 * d,
                t - 2 * d,
            ));
            sessions.push(meta(
                &format!("{prefix}-idle"),
                user,
                t + d,
                t - 60 * d,
                t - 40 * d,
            ));
            for i in 0..5 {
                let at = t - Duration::minutes(i);
                sessions.push(meta(&format!("{prefix}-active{i}"), user, t + d, at, at));
            }
        }
        seed(&app, &sessions).await;
        let p = policy(true, true, true);
        let scope = Scope::Tenant("t1".into());
        let dry = app
            .cleanup
            .run_once(Trigger::Manual, p, true, scope.clone())
            .await
            .unwrap();
        assert_eq!(
            (dry.counts.expired, dry.counts.inactive, dry.counts.excess),
            (1, 1, 2)
        );
        assert!(dry.sample.unwrap().iter().all(|s| s.user_id == "t1-user"));
        let run = app
            .cleanup
            .run_once(Trigger::Manual, p, false, scope)
            .await
            .unwrap();
        assert_eq!(
            (run.counts.expired, run.counts.inactive, run.counts.excess),
            (1, 1, 2)
        );
        let planned: BTreeSet<String> = planned(&sessions, &p, t).into_values().flatten().collect();
        let t1_gone: BTreeSet<String> = planned
            .iter()
            .filter(|id| id.starts_with("x-"))
            .cloned()
            .collect();
        let all: BTreeSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
        let left = remaining(&app, &["t1-user", "t2-user"]).await;
        assert_eq!(
            left,
            all.difference(&t1_gone).cloned().collect::<BTreeSet<_>>()
        );
        // The other tenant's share goes in a global run.
        app.cleanup
            .run_once(Trigger::Manual, p, false, Scope::All)
            .await
            .unwrap();
        let left = remaining(&app, &["t1-user", "t2-user"]).await;
        assert_eq!(
            left,
            all.difference(&planned).cloned().collect::<BTreeSet<_>>()
        );
    }
);

fn slow() -> Settings {
    Settings::new()
        .set("SESSION_CLEANUP_BATCH_SIZE", "10")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "40")
}

async fn seed_expired(app: &TestApp, n: usize) {
    add_user(app, "bulk", None).await;
    let t = app.clock_now();
    let sessions: Vec<SessionMeta> = (0..n)
        .map(|i| {
            let at = t - Duration::days(2) + Duration::seconds(i as i64);
            meta(
                &format!("old{i:04}"),
                "bulk",
                at + Duration::days(1),
                at,
                at,
            )
        })
        .collect();
    seed(app, &sessions).await;
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

all_stores!(
    a_stopped_run_ends_between_batches_and_the_next_run_finishes,
    slow(),
    |app| async move {
        seed_expired(&app, 120).await;
        let service = app.cleanup.clone();
        let task = tokio::spawn(async move {
            service
                .run_once(Trigger::Manual, CleanupPolicy::default(), false, Scope::All)
                .await
        });
        let cleanup = app.cleanup.clone();
        wait_until("the first batches", || {
            cleanup
                .status()
                .running_counts
                .is_some_and(|c| c.expired >= 20)
        })
        .await;

        // A second run on this instance is refused with the running run's id.
        let running = app.cleanup.status().running_run_id.unwrap();
        match app
            .cleanup
            .run_once(Trigger::Manual, CleanupPolicy::default(), false, Scope::All)
            .await
        {
            Err(CleanupError::AlreadyRunning { run_id }) => assert_eq!(run_id, running),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }

        app.cleanup.stop().await;
        let stopped = task.await.unwrap().unwrap();
        assert_eq!(stopped.outcome, Outcome::Stopped);
        assert_eq!(stopped.run_id, running);
        assert!(
            stopped.counts.expired >= 20 && stopped.counts.expired < 120,
            "{:?}",
            stopped.counts
        );
        assert_eq!(stopped.counts.expired % 10, 0, "stopped inside a batch");

        let next = app
            .cleanup
            .run_once(Trigger::Manual, CleanupPolicy::default(), false, Scope::All)
            .await
            .unwrap();
        assert_eq!(next.outcome, Outcome::Ok);
        assert_eq!(stopped.counts.expired + next.counts.expired, 120);
        assert!(remaining(&app, &["bulk"]).await.is_empty());

        let status = app.cleanup.status();
        assert_eq!(
            (
                status.totals.runs,
                status.totals.failed_runs,
                status.totals.deleted.expired
            ),
            (2, 0, 120)
        );
        assert_eq!(status.last_run.unwrap().run_id, next.run_id);
        assert!(!status.running);
    }
);

all_stores!(
    one_holder_at_a_time_and_an_expired_lease_is_taken_over,
    |app| async move {
        let store = app.store();
        let now = || OffsetDateTime::now_utc();
        assert_eq!(
            store
                .acquire_lease("l", "h1", "run1", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::Acquired
        );
        let held = store
            .acquire_lease("l", "h2", "run2", 1, now())
            .await
            .unwrap();
        assert_eq!(
            held,
            LeaseOutcome::HeldBy {
                holder: "h1".into(),
                run_id: Some("run1".into())
            }
        );
        // The holder renews; another name is independent.
        assert_eq!(
            store
                .acquire_lease("l", "h1", "run1", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::Acquired
        );
        assert_eq!(
            store
                .acquire_lease("other", "h2", "run2", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::Acquired
        );
        // Released: the next asker gets it.
        store.release_lease("l", "h1").await.unwrap();
        assert_eq!(
            store
                .acquire_lease("l", "h2", "run2", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::Acquired
        );
        // Not released (a crashed holder): taken over once it expires, not before.
        assert!(matches!(
            store
                .acquire_lease("l", "h3", "run3", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::HeldBy { .. }
        ));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(
            store
                .acquire_lease("l", "h3", "run3", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::Acquired
        );
        // Releasing someone else's lease does nothing.
        store.release_lease("l", "h2").await.unwrap();
        assert!(matches!(
            store
                .acquire_lease("l", "h2", "run4", 1, now())
                .await
                .unwrap(),
            LeaseOutcome::HeldBy { .. }
        ));
    }
);

all_stores!(
    another_instance_holding_the_lease_means_already_running,
    |app| async move {
        app.store()
            .acquire_lease(
                sessionkeeper::cleanup::LEASE_NAME,
                "elsewhere:1:x",
                "their-run",
                60,
                app.clock_now(),
            )
            .await
            .unwrap();
        match app
            .cleanup
            .run_once(Trigger::Manual, CleanupPolicy::default(), false, Scope::All)
            .await
        {
            Err(CleanupError::AlreadyRunning { run_id }) => assert_eq!(run_id, "their-run"),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        // A dry run deletes nothing, so it needs no lease.
        let dry = app
            .cleanup
            .run_once(Trigger::Manual, CleanupPolicy::default(), true, Scope::All)
            .await
            .unwrap();
        assert_eq!(dry.outcome, Outcome::Ok);
    }
);

all_stores!(
    runs_are_recorded_newest_first_with_a_cursor,
    |app| async move {
        let mut ids = Vec::new();
        for (i, trigger) in [
            Trigger::Manual,
            Trigger::Cli,
            Trigger::Manual,
            Trigger::Interval,
            Trigger::Startup,
        ]
        .into_iter()
        .enumerate()
        {
            app.clock.advance(Duration::seconds(1));
            let run = app
                .cleanup
                .run_once(trigger, CleanupPolicy::default(), i % 2 == 1, Scope::All)
                .await
                .unwrap();
            ids.push(run.run_id);
        }
        ids.reverse();
        let store = app.store();
        let first = store.list_cleanup_runs(2, None, None).await.unwrap();
        assert_eq!(
            first
                .runs
                .iter()
                .map(|r| r.run_id.clone())
                .collect::<Vec<_>>(),
            ids[..2]
        );
        let cursor = Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
        let second = store
            .list_cleanup_runs(2, Some(&cursor), None)
            .await
            .unwrap();
        assert_eq!(
            second
                .runs
                .iter()
                .map(|r| r.run_id.clone())
                .collect::<Vec<_>>(),
            ids[2..4]
        );
        let cursor = Cursor::decode(second.next_cursor.as_deref().unwrap()).unwrap();
        let last = store
            .list_cleanup_runs(2, Some(&cursor), None)
            .await
            .unwrap();
        assert_eq!(last.runs.len(), 1);
        assert_eq!(last.next_cursor, None);

        let newest = &first.runs[0];
        assert_eq!(
            (newest.trigger, newest.dry_run, newest.outcome),
            (Trigger::Startup, false, Outcome::Ok)
        );
        assert_eq!(newest.policy, CleanupPolicy::default());
        assert!(newest.finished_at.unwrap() >= newest.started_at && newest.duration_ms.is_some());
        assert!(first.runs[1].dry_run);
        let json = serde_json::to_value(newest).unwrap();
        for key in [
            "runId",
            "trigger",
            "dryRun",
            "policy",
            "counts",
            "total",
            "startedAt",
            "finishedAt",
            "durationMs",
            "outcome",
            "error",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["trigger"], "startup");
        assert_eq!(
            json["counts"],
            serde_json::json!({"expired": 0, "inactive": 0, "excess": 0})
        );
    }
);

all_stores!(
    metrics_count_deletions_runs_and_sessions,
    |app| async move {
        fn value(text: &str, series: &str) -> f64 {
            text.lines()
                .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        }
        let before = app
            .get("/metrics", None)
            .await
            .body
            .as_str()
            .unwrap_or_default()
            .to_string();
        seed_expired(&app, 7).await;
        let run = app
            .cleanup
            .run_once(Trigger::Manual, CleanupPolicy::default(), false, Scope::All)
            .await
            .unwrap();
        assert_eq!(run.counts.expired, 7);
        // The session gauges are refreshed in the background after the run.
        app.cleanup.gauges_refreshed().await;
        let res = app.get("/metrics", None).await;
        assert_eq!(res.status, 200);
        assert!(
            res.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let after = res.body.as_str().unwrap();
        let deleted = "sessionkeeper_cleanup_sessions_deleted_total{layer=\"expired\"}";
        assert!(
            value(after, deleted) - value(&before, deleted) >= 7.0,
            "{after}"
        );
        let runs = "sessionkeeper_cleanup_runs_total{outcome=\"ok\",trigger=\"manual\"}";
        assert!(value(after, runs) - value(&before, runs) >= 1.0, "{after}");
        assert!(
            after.contains("# TYPE sessionkeeper_cleanup_run_duration_seconds histogram"),
            "{after}"
        );
        assert!(
            after.contains("sessionkeeper_cleanup_run_duration_seconds_bucket{le=\"0.1\"}"),
            "{after}"
        );
        for status in ["active", "expired", "inactive"] {
            assert!(
                after.contains(&format!("sessionkeeper_sessions{{status=\"{status}\"}}")),
                "{after}"
            );
        }
    }
);

all_stores!(
    the_gauges_count_sessions_by_status,
    settings(),
    |app| async move {
        for u in USERS {
            add_user(&app, u, None).await;
        }
        let t = app.clock_now();
        seed(&app, &fixture(t)).await;
        let g = app.store().session_gauges(t, 30).await.unwrap();
        assert_eq!((g.expired, g.inactive, g.active), (2, 1, 12));
    }
);
