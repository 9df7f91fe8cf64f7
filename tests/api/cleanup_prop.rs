//! Property: over random session sets and policies, a run deletes exactly the sessions
//! `domain::cleanup_plan::plan` names (per layer), and a dry run counts exactly those.

use crate::all_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use sessionkeeper::domain::cleanup_plan::{Layer, SessionMeta};
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::{CleanupPolicy, Scope};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

const USERS: [&str; 4] = ["p0", "p1", "p2", "p3"];

/// Times on a coarse grid around `now` so that ties and exact boundaries are common: expiry in
/// half days from -3 to +3 (0 = exactly now), last activity 0 to 4 whole days ago (the
/// inactivity timeout is 1 to 3 days), creation 0 or 1 hour before that (the absolute timeout
/// is off or 1 to 4 days, so creation exactly at its boundary is common too).
#[derive(Debug, Clone)]
struct Row {
    user: usize,
    expires_half_days: i64,
    idle_days: i64,
    created_hours_before: i64,
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (0..USERS.len(), -3i64..=3, 0i64..=4, 0i64..=1).prop_map(|(user, e, i, c)| Row {
            user,
            expires_half_days: e,
            idle_days: i,
            created_hours_before: c,
        }),
        0..30,
    )
}

fn policies() -> impl Strategy<Value = CleanupPolicy> {
    (
        any::<bool>(),
        any::<bool>(),
        1u32..=3,
        any::<bool>(),
        1u32..=4,
        // The absolute timeout in whole days, on the same grid as creation: off or 1 to 4.
        prop::option::of(1i64..=4),
    )
        .prop_map(|(e, i, days, l, max, abs)| CleanupPolicy {
            clean_expired_tokens: e,
            clean_inactive_sessions: i,
            inactivity_days: days,
            enforce_session_limits: l,
            max_sessions_per_user: max,
            absolute_timeout_seconds: abs.map(|d| d * 86_400),
            inactivity_seconds: None,
        })
}

fn sessions(rows: &[Row], now: OffsetDateTime) -> Vec<SessionMeta> {
    rows.iter()
        .enumerate()
        .map(|(n, r)| {
            let updated = now - Duration::days(r.idle_days);
            meta(
                // Ids are not in insertion order, so the id tie-break is exercised.
                &format!("s{:02}", (n * 7) % 31),
                USERS[r.user],
                now + Duration::hours(12 * r.expires_half_days),
                updated - Duration::hours(r.created_hours_before),
                updated,
            )
        })
        .collect()
}

fn cases() -> u32 {
    std::env::var("CLEANUP_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

all_stores!(
    a_run_deletes_exactly_what_the_plan_names,
    Settings::new()
        .set("SESSION_CLEANUP_BATCH_SIZE", "3")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "0"),
    |app| async move {
        for u in USERS {
            add_user(&app, u, None).await;
        }
        let now = app.clock_now();
        let mut runner = TestRunner::new(PropConfig {
            cases: cases(),
            failure_persistence: None,
            ..PropConfig::default()
        });
        let handle = tokio::runtime::Handle::current();
        let result = runner.run(&(rows(), policies()), |(rows, policy)| {
            let sessions = sessions(&rows, now);
            let (dry, real, left) = tokio::task::block_in_place(|| {
                handle.block_on(async {
                    seed(&app, &sessions).await;
                    let dry = app
                        .cleanup
                        .run_once(Trigger::Manual, policy, true, Scope::All)
                        .await
                        .unwrap();
                    let real = app
                        .cleanup
                        .run_once(Trigger::Manual, policy, false, Scope::All)
                        .await
                        .unwrap();
                    (dry, real, remaining(&app, &USERS).await)
                })
            });
            let planned = planned(&sessions, &policy, now);
            let n = |l: Layer| planned.get(&l).map_or(0, |s| s.len() as u64);
            let want = (
                n(Layer::Expired),
                n(Layer::Absolute),
                n(Layer::Inactive),
                n(Layer::Excess),
            );
            prop_assert_eq!(
                (
                    real.counts.expired,
                    real.counts.absolute,
                    real.counts.inactive,
                    real.counts.excess
                ),
                want
            );
            prop_assert_eq!(dry.counts, real.counts);
            let gone: BTreeSet<String> = planned.into_values().flatten().collect();
            let all: BTreeSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
            prop_assert_eq!(
                left,
                all.difference(&gone).cloned().collect::<BTreeSet<_>>()
            );
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
);
