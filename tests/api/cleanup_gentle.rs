//! `SESSION_CLEANUP_MAX_ROWS_PER_SECOND`: a run spreads its deletes so that, on average, it
//! removes no more rows a second than the cap, over every layer, and still removes exactly
//! what the policy names. On both stores (and behind the pooler).

use crate::all_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use sessionkeeper::domain::cleanup_plan::Layer;
use sessionkeeper::domain::run::{Outcome, Trigger};
use sessionkeeper::domain::{CleanupPolicy, Scope};
use std::collections::BTreeSet;
use std::time::Instant;
use time::Duration;

const CAP: u64 = 100;
/// A batch under the cap holds a tenth of a second's rows.
const BATCH: u64 = CAP / 10;

fn capped() -> Settings {
    Settings::new()
        .set("MAX_SESSIONS_PER_USER", "3")
        .set("SESSION_INACTIVITY_TIMEOUT_DAYS", "30")
        .set("SESSION_CLEANUP_BATCH_PAUSE_PERCENT", "0")
        .set("SESSION_CLEANUP_MAX_ROWS_PER_SECOND", &CAP.to_string())
}

/// 97 sessions to remove in all three layers, with a limit of 3 and 30 days of inactivity:
/// 60 expired, 26 idle for 40 days (one user each), 11 of user "many"'s 14; user "few" is at
/// the limit and keeps its 3.
fn fixture(t: time::OffsetDateTime) -> Vec<sessionkeeper::domain::cleanup_plan::SessionMeta> {
    let (h, d) = (Duration::hours(1), Duration::days(1));
    let mut out = Vec::new();
    for i in 0..60 {
        let at = t - 2 * d + Duration::seconds(i);
        out.push(meta(&format!("exp{i:02}"), "old", at + d, at, at));
    }
    for i in 0..26 {
        let at = t - 40 * d + Duration::seconds(i);
        out.push(meta(
            &format!("idle{i:02}"),
            &format!("idle{i:02}"),
            t + d,
            at,
            at,
        ));
    }
    for i in 0..14 {
        let at = t - Duration::minutes(i + 1);
        out.push(meta(&format!("many{i:02}"), "many", t + d, at - h, at));
    }
    for i in 0..3 {
        let at = t - Duration::minutes(i + 1);
        out.push(meta(&format!("few{i}"), "few", t + d, at - h, at));
    }
    out
}

all_stores!(
    a_capped_run_removes_what_the_policy_names_no_faster_than_the_cap,
    capped(),
    |app| async move {
        let t = app.clock_now();
        let sessions = fixture(t);
        let users: BTreeSet<String> = sessions.iter().map(|s| s.user_id.clone()).collect();
        for u in &users {
            add_user(&app, u, None).await;
        }
        seed(&app, &sessions).await;
        let policy = CleanupPolicy {
            max_sessions_per_user: 3,
            inactivity_days: 30,
            ..CleanupPolicy::default()
        };
        let plan = planned(&sessions, &policy, t);
        let count = |l: Layer| plan.get(&l).map_or(0, |s| s.len() as u64);
        assert_eq!(
            [Layer::Expired, Layer::Inactive, Layer::Excess].map(count),
            [60, 26, 11],
            "the fixture is what this test says"
        );

        let service = app.cleanup.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            service
                .run_once(Trigger::Manual, policy, false, Scope::All)
                .await
        });
        // Part-way, the run has removed some rows and not all, several times over: it goes
        // in small batches (without the cap each layer here is one batch).
        let cleanup = app.cleanup.clone();
        let mut part_way = BTreeSet::new();
        while !task.is_finished() {
            if let Some(c) = cleanup.status().running_counts
                && (1..97).contains(&c.total())
            {
                part_way.insert(c.total());
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let run = task.await.unwrap().unwrap();
        let took = started.elapsed();
        assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
        assert_eq!(
            (run.counts.expired, run.counts.inactive, run.counts.excess),
            (60, 26, 11)
        );
        assert!(part_way.len() >= 3, "progress seen part-way: {part_way:?}");
        // The last batch follows the wait for the rows before it: 97 rows at 100 a second,
        // in batches of 10, take at least the time the first 87 are due.
        let due = std::time::Duration::from_millis((97 - BATCH) * 1000 / CAP);
        assert!(took >= due, "97 rows in {took:?} at a cap of {CAP}/s");

        let all: BTreeSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
        let gone: BTreeSet<String> = plan.values().flatten().cloned().collect();
        let users: Vec<&str> = users.iter().map(String::as_str).collect();
        assert_eq!(
            remaining(&app, &users).await,
            all.difference(&gone).cloned().collect::<BTreeSet<_>>()
        );
    }
);
