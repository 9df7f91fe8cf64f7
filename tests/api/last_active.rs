//! Last activity everywhere (issue 13, part 3): the cleanup's inactive and excess layers, dry
//! runs, the stats, the admin list and termination records read the later of `updatedAt` and
//! the stored activity (`sessionkeeper_activity`); `SESSION_INACTIVITY_TIMEOUT_SECONDS` reaches
//! the cleanup; with `SESSION_ACTIVITY_TRACKING=false` it is `updatedAt` alone. Both stores,
//! the injected clock, activity written through the store's own flush.

use crate::admin::support::{Auth, SERVICE_TOKEN, get};
use crate::both_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use serde_json::Value;
use sessionkeeper::domain::cleanup_plan::Layer;
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::timefmt;
use sessionkeeper::domain::{CleanupPolicy, Scope};
use sessionkeeper::service::activity::millis;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

const USER: &str = "act-user";

fn settings() -> Settings {
    Settings::new().set("ADMIN_API_TOKEN", SERVICE_TOKEN)
}

fn svc() -> Auth {
    Auth::Bearer(SERVICE_TOKEN.into())
}

/// Inactive past one day (or `seconds`), no limit in the way unless asked.
fn policy(seconds: Option<i64>, limit: Option<u32>) -> CleanupPolicy {
    CleanupPolicy {
        clean_expired_tokens: true,
        clean_inactive_sessions: true,
        inactivity_days: 1,
        enforce_session_limits: limit.is_some(),
        max_sessions_per_user: limit.unwrap_or(100),
        absolute_timeout_seconds: None,
        inactivity_seconds: seconds,
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn store_activity(app: &TestApp, entries: &[(&str, OffsetDateTime)]) {
    let rows: Vec<(String, i64)> = entries
        .iter()
        .map(|(id, t)| (id.to_string(), millis(*t)))
        .collect();
    app.store().flush_activity(&rows).await.unwrap();
}

/// The admin list's view of every session, by id.
async fn listed(app: &TestApp) -> std::collections::BTreeMap<String, Value> {
    let res = get(app, "/api/admin/sessions?limit=100", &svc()).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

async fn stats(app: &TestApp) -> Value {
    let res = get(app, "/api/admin/sessions/stats", &svc()).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body
}

/// `stale-active`: written two days ago, used an hour ago (stored activity).
/// `stale`: written two days ago, no stored activity. `stale-twice`: written three days ago,
/// last used two days ago. `fresh`: written an hour ago, stored activity older than that.
async fn fixture(app: &TestApp, t: OffsetDateTime) {
    let (h, d) = (Duration::hours(1), Duration::days(1));
    seed(
        app,
        &[
            meta("stale-active", USER, t + d, t - 3 * d, t - 2 * d),
            meta("stale", USER, t + d, t - 3 * d, t - 2 * d),
            meta("stale-twice", USER, t + d, t - 4 * d, t - 3 * d),
            meta("fresh", USER, t + d, t - 4 * d, t - h),
        ],
    )
    .await;
    store_activity(
        app,
        &[
            ("stale-active", t - h),
            ("stale-twice", t - 2 * d),
            ("fresh", t - 2 * h),
        ],
    )
    .await;
}

async fn ended_record(app: &TestApp, id: &str) -> Value {
    let ended = get(app, "/api/admin/sessions/ended?limit=10", &svc()).await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    ended.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sessionId"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no record for {id}: {:?}", ended.body))
}

both_stores!(
    stored_activity_keeps_a_session_active_everywhere,
    settings().set("SESSION_INACTIVITY_TIMEOUT_SECONDS", "86400"),
    |app| async move {
        let t = app.clock_now();
        add_user(&app, USER, None).await;
        fixture(&app, t).await;
        let (h, d) = (Duration::hours(1), Duration::days(1));

        // The admin list: last used is the later of the two, and the status follows it.
        let list = listed(&app).await;
        let at = |id: &str| list[id]["lastActiveAt"].as_str().unwrap().to_owned();
        assert_eq!(at("stale-active"), timefmt::format(t - h));
        assert_eq!(at("stale"), timefmt::format(t - 2 * d));
        assert_eq!(at("stale-twice"), timefmt::format(t - 2 * d));
        assert_eq!(
            at("fresh"),
            timefmt::format(t - h),
            "updatedAt is the later"
        );
        assert_eq!(
            list["stale-active"]["updatedAt"],
            timefmt::format(t - 2 * d).as_str(),
            "updatedAt itself is unchanged"
        );
        assert_eq!(list["stale-active"]["status"], "active");
        assert_eq!(list["stale"]["status"], "inactive");
        assert_eq!(list["stale-twice"]["status"], "inactive");
        for (status, want) in [
            ("active", set(&["stale-active", "fresh"])),
            ("inactive", set(&["stale", "stale-twice"])),
        ] {
            let res = get(
                &app,
                &format!("/api/admin/sessions?status={status}"),
                &svc(),
            )
            .await;
            let ids: BTreeSet<String> = res.body["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(ids, want, "{status}");
        }
        // "Last used" filters read it too.
        let from = timefmt::format(t - 2 * h);
        let res = get(
            &app,
            &format!("/api/admin/sessions?lastUsedFrom={from}"),
            &svc(),
        )
        .await;
        assert_eq!(
            res.body["sessions"].as_array().unwrap().len(),
            2,
            "{:?}",
            res.body
        );

        // The stats' active/idle split.
        let st = stats(&app).await;
        assert_eq!(st["totalSessions"], 4, "{st}");
        assert_eq!(st["inactiveSessions"], 2, "{st}");
        assert_eq!(st["totalActiveSessions"], 2, "{st}");
        // The cleanup's session gauges (one whole-table count, a join on PostgreSQL).
        let g = app.store().session_gauges_at(t, t - d).await.unwrap();
        assert_eq!((g.active, g.expired, g.inactive), (2, 0, 2), "{g:?}");

        // A dry run under the configured policy (the seconds override) counts and samples by
        // last activity; the real run removes the same.
        let p = app.keeper.core().config().cleanup.policy;
        assert_eq!(p.inactivity_seconds, Some(86_400));
        let dry = app
            .cleanup
            .run_once(Trigger::Manual, p, true, Scope::All)
            .await
            .unwrap();
        assert_eq!(dry.counts.inactive, 2, "{dry:?}");
        let sample = dry.sample.clone().unwrap_or_default();
        let sampled: BTreeSet<String> = sample.iter().map(|s| s.session_id.clone()).collect();
        assert_eq!(sampled, set(&["stale", "stale-twice"]));
        for s in &sample {
            assert_eq!(s.layer, Layer::Inactive);
            assert_eq!(s.last_active_at, t - 2 * d, "{}", s.session_id);
        }
        let run = app
            .cleanup
            .run_once(Trigger::Manual, p, false, Scope::All)
            .await
            .unwrap();
        assert_eq!(run.counts.inactive, 2);
        assert_eq!(run.policy.inactivity_seconds, Some(86_400));
        assert_eq!(
            remaining(&app, &[USER]).await,
            set(&["stale-active", "fresh"])
        );

        // The termination record carries the last activity, not `updatedAt`.
        let rec = ended_record(&app, "stale-twice").await;
        assert_eq!(rec["lastActiveAt"], timefmt::format(t - 2 * d).as_str());
        assert_eq!(rec["reason"], "inactive");
        let rec = ended_record(&app, "stale").await;
        assert_eq!(rec["lastActiveAt"], timefmt::format(t - 2 * d).as_str());
    }
);

both_stores!(
    the_seconds_override_reaches_the_inactive_layer,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (s, d) = (Duration::seconds(1), Duration::days(1));
        add_user(&app, USER, None).await;
        // `updatedAt` a day old everywhere: only the stored activity tells them apart.
        seed(
            &app,
            &[
                meta("inside", USER, t + d, t - 2 * d, t - d),
                meta("edge", USER, t + d, t - 2 * d, t - d),
                meta("outside", USER, t + d, t - 2 * d, t - d),
            ],
        )
        .await;
        store_activity(
            &app,
            &[
                ("inside", t - 599 * s),
                ("edge", t - 600 * s),
                ("outside", t - 601 * s),
            ],
        )
        .await;
        let p = policy(Some(600), None);
        let dry = app
            .cleanup
            .run_once(Trigger::Manual, p, true, Scope::All)
            .await
            .unwrap();
        assert_eq!(dry.counts.inactive, 1, "{dry:?}");
        let run = app
            .cleanup
            .run_once(Trigger::Manual, p, false, Scope::All)
            .await
            .unwrap();
        assert_eq!(run.counts.inactive, 1);
        assert_eq!(remaining(&app, &[USER]).await, set(&["inside", "edge"]));
        // The days still rule without the override: a day-old session is not 2 days idle.
        let days = CleanupPolicy {
            inactivity_days: 2,
            ..policy(None, None)
        };
        let none = app
            .cleanup
            .run_once(Trigger::Manual, days, true, Scope::All)
            .await
            .unwrap();
        assert_eq!(none.counts.inactive, 0);
    }
);

/// Three live sessions of one user, limit 2: by `updatedAt` alone `b` is the least recently
/// active; its stored activity makes it the most recent, and `c` goes instead.
async fn excess_fixture(app: &TestApp, t: OffsetDateTime) {
    let (m, h, d) = (Duration::minutes(1), Duration::hours(1), Duration::days(1));
    seed(
        app,
        &[
            meta("a", USER, t + d, t - d, t - h),
            meta("b", USER, t + d, t - d, t - 5 * h),
            meta("c", USER, t + d, t - d, t - 3 * h),
        ],
    )
    .await;
    store_activity(app, &[("b", t - m)]).await;
}

both_stores!(
    the_excess_layer_ranks_by_last_activity,
    settings(),
    |app| async move {
        let t = app.clock_now();
        add_user(&app, USER, None).await;
        excess_fixture(&app, t).await;
        let p = policy(None, Some(2));
        let dry = app
            .cleanup
            .run_once(Trigger::Manual, p, true, Scope::All)
            .await
            .unwrap();
        assert_eq!(dry.counts.excess, 1);
        let sample = dry.sample.unwrap_or_default();
        assert_eq!(sample.len(), 1);
        assert_eq!(sample[0].session_id, "c");
        app.cleanup
            .run_once(Trigger::Manual, p, false, Scope::All)
            .await
            .unwrap();
        assert_eq!(remaining(&app, &[USER]).await, set(&["a", "b"]));
    }
);

both_stores!(
    tracking_off_reads_updated_at_alone,
    settings().set("SESSION_ACTIVITY_TRACKING", "false"),
    |app| async move {
        let t = app.clock_now();
        let d = Duration::days(1);
        add_user(&app, USER, None).await;
        // Rows in the activity table (say, from an earlier run with tracking on) are ignored.
        fixture(&app, t).await;
        let list = listed(&app).await;
        assert_eq!(
            list["stale-active"]["lastActiveAt"],
            timefmt::format(t - 2 * d).as_str()
        );
        assert_eq!(list["stale-active"]["status"], "active", "30 days");
        let p = policy(None, None);
        let run = app
            .cleanup
            .run_once(Trigger::Manual, p, false, Scope::All)
            .await
            .unwrap();
        assert_eq!(run.counts.inactive, 3, "{run:?}");
        assert_eq!(remaining(&app, &[USER]).await, set(&["fresh"]));
        let rec = ended_record(&app, "stale-twice").await;
        assert_eq!(rec["lastActiveAt"], timefmt::format(t - 3 * d).as_str());

        // Excess by `updatedAt`: `b` goes.
        excess_fixture(&app, t).await;
        app.cleanup
            .run_once(Trigger::Manual, policy(None, Some(2)), false, Scope::All)
            .await
            .unwrap();
        assert_eq!(remaining(&app, &[USER]).await, set(&["a", "c"]));
    }
);
