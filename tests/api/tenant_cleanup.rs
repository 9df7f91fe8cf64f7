//! The cleanup applies per-tenant policies (issue 13, part 5): a tenant's inactivity and
//! absolute timeouts, its per-user limit and its tenant-wide cap, each counted in the run's
//! counts (the cap in `excess`), a dry run counting exactly what the real run then deletes,
//! tenant B untouched, unset fields falling back to the global policy. Both stores, the
//! injected clock, batches of two.

use crate::both_stores;
use crate::cleanup_seed::*;
use crate::helpers::*;
use sessionkeeper::domain::cleanup_plan::SessionMeta;
use sessionkeeper::domain::run::{CleanupRun, Outcome, Trigger};
use sessionkeeper::domain::tenant_policy::TenantPolicy;
use sessionkeeper::domain::{CleanupPolicy, Scope};
use sessionkeeper::store::ended::EndedQuery;
use sessionkeeper::store::tenant_policy::StoredTenantPolicy;
use std::collections::BTreeSet;
use time::Duration;

fn settings() -> Settings {
    Settings::new()
        .set("SESSION_CLEANUP_BATCH_SIZE", "2")
        .set("SESSION_CLEANUP_BATCH_PAUSE_MS", "0")
}

/// The global policy of these tests: 30 days idle, 10 per user, no absolute timeout.
fn global() -> CleanupPolicy {
    CleanupPolicy::default()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn put(app: &TestApp, tenant: &str, policy: TenantPolicy) {
    app.store()
        .put_tenant_policy(&StoredTenantPolicy {
            tenant_id: tenant.into(),
            policy,
            updated_at: app.clock_now(),
            updated_by: "test".into(),
        })
        .await
        .unwrap();
}

/// Users a1, a2 in tenant A and b1 in tenant B, the sessions, then A's policy.
async fn setup(app: &TestApp, sessions: &[SessionMeta], a: TenantPolicy) {
    for (u, t) in [("a1", "A"), ("a2", "A"), ("b1", "B")] {
        add_user(app, u, Some(t)).await;
    }
    seed(app, sessions).await;
    put(app, "A", a).await;
}

/// Stores a last activity for session `id` as the activity flush does.
async fn active_at(app: &TestApp, id: &str, at: time::OffsetDateTime) {
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    exec_sql(
        app,
        &format!(
            "INSERT INTO \"sessionkeeper_activity\" (\"sessionId\", \"lastActiveAt\") VALUES ('{id}', {ms})"
        ),
    )
    .await;
}

/// A dry run, then the real run in the same scope: both count the same, and the dry run's
/// sample names exactly what the real run deleted (when it fits the sample).
async fn dry_then_real(app: &TestApp, scope: Scope) -> CleanupRun {
    let users = ["a1", "a2", "b1"];
    let before = remaining(app, &users).await;
    let dry = app
        .cleanup
        .run_once(Trigger::Manual, global(), true, scope.clone())
        .await
        .unwrap();
    assert_eq!(dry.outcome, Outcome::Ok, "{:?}", dry.error);
    assert_eq!(
        remaining(app, &users).await,
        before,
        "a dry run deletes nothing"
    );
    let real = app
        .cleanup
        .run_once(Trigger::Manual, global(), false, scope)
        .await
        .unwrap();
    assert_eq!(real.outcome, Outcome::Ok, "{:?}", real.error);
    assert_eq!(dry.counts, real.counts);
    assert_eq!(dry.total, real.total);
    let after = remaining(app, &users).await;
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    let sampled: BTreeSet<String> = dry
        .sample
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.session_id)
        .collect();
    assert_eq!(sampled, gone);
    real
}

/// The termination records the run wrote for tenant A, as (session, reason), each by
/// `cleanup:<runId>`.
async fn ended_in_a(app: &TestApp, run: &CleanupRun) -> BTreeSet<(String, String)> {
    let rows = app
        .store()
        .list_ended(&EndedQuery {
            tenant: Some("A".into()),
            user_id: None,
            reason: None,
            ended_from: None,
            ended_to: None,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            assert_eq!(r.actor, format!("cleanup:{}", run.run_id));
            (r.session_id, r.reason)
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A second, an hour, a day.
fn units() -> (Duration, Duration, Duration) {
    (Duration::seconds(1), Duration::hours(1), Duration::days(1))
}

both_stores!(
    a_tenants_inactivity_timeout_by_the_second,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (s, h, d) = units();
        setup(
            &app,
            &[
                meta("a-over", "a1", t + d, t - d, t - h - s),
                meta("a-under", "a1", t + d, t - d, t - h + s),
                meta("a2-over", "a2", t + d, t - d, t - 2 * h),
                // `updatedAt` two hours ago, but used ten minutes ago: stays.
                meta("a-used", "a2", t + d, t - d, t - 2 * h),
                meta("b-idle", "b1", t + d, t - d, t - 20 * d),
                // Idle past the global 30 days in A: the global fallback, still `inactive`.
                meta("a-ancient", "a2", t + d, t - 40 * d, t - 31 * d),
            ],
            TenantPolicy {
                inactivity_timeout_seconds: Some(3600),
                ..TenantPolicy::default()
            },
        )
        .await;
        active_at(&app, "a-used", t - 10 * Duration::minutes(1)).await;
        let run = dry_then_real(&app, Scope::All).await;
        assert_eq!((run.counts.inactive, run.total), (3, 3));
        assert_eq!(
            remaining(&app, &["a1", "a2", "b1"]).await,
            set(&["a-under", "a-used", "b-idle"])
        );
        assert_eq!(
            ended_in_a(&app, &run).await,
            pairs(&[
                ("a-over", "inactive"),
                ("a2-over", "inactive"),
                ("a-ancient", "inactive")
            ])
        );
    }
);

both_stores!(a_tenants_absolute_timeout, settings(), |app| async move {
    let t = app.clock_now();
    let (s, _h, d) = units();
    setup(
        &app,
        &[
            meta("a-old", "a1", t + d, t - d - s, t - s),
            meta("a-young", "a1", t + d, t - d + s, t - s),
            meta("b-old", "b1", t + d, t - 5 * d, t - s),
            meta("a-expired", "a2", t - s, t - 5 * d, t - 2 * d),
        ],
        TenantPolicy {
            absolute_timeout_seconds: Some(86_400),
            ..TenantPolicy::default()
        },
    )
    .await;
    let run = dry_then_real(&app, Scope::All).await;
    assert_eq!(
        (run.counts.expired, run.counts.absolute, run.total),
        (1, 1, 2)
    );
    assert_eq!(
        remaining(&app, &["a1", "a2", "b1"]).await,
        set(&["a-young", "b-old"])
    );
    assert_eq!(
        ended_in_a(&app, &run).await,
        pairs(&[("a-old", "absolute-timeout"), ("a-expired", "expired")])
    );
});

both_stores!(a_tenants_per_user_limit, settings(), |app| async move {
    let t = app.clock_now();
    let (_s, h, d) = units();
    let mut sessions = Vec::new();
    for i in 1..=5 {
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        sessions.push(meta(&a, "a1", t + d, t - d, t - i * h));
        sessions.push(meta(&b, "b1", t + d, t - d, t - i * h));
    }
    setup(
        &app,
        &sessions,
        TenantPolicy {
            max_sessions_per_user: Some(2),
            ..TenantPolicy::default()
        },
    )
    .await;
    let run = dry_then_real(&app, Scope::All).await;
    assert_eq!((run.counts.excess, run.total), (3, 3));
    assert_eq!(
        remaining(&app, &["a1"]).await,
        set(&["a1", "a2"]),
        "the two most recently active stay"
    );
    assert_eq!(remaining(&app, &["b1"]).await.len(), 5);
    let reasons: BTreeSet<String> = ended_in_a(&app, &run)
        .await
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(reasons, set(&["evicted-limit"]));
});

both_stores!(
    a_tenants_cap_keeps_its_most_recently_active,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (_s, h, d) = units();
        setup(
            &app,
            &[
                meta("a1-1", "a1", t + d, t - d, t - h),
                meta("a1-4", "a1", t + d, t - d, t - 4 * h),
                meta("a2-2", "a2", t + d, t - d, t - 2 * h),
                meta("a2-3", "a2", t + d, t - d, t - 3 * h),
                meta("a2-5", "a2", t + d, t - d, t - 5 * h),
                meta("a2-6", "a2", t + d, t - d, t - 6 * h),
                // Removed by the global inactive layer: not counted against the cap.
                meta("a2-idle", "a2", t + d, t - 40 * d, t - 31 * d),
                meta("b-1", "b1", t + d, t - d, t - 7 * h),
                meta("b-2", "b1", t + d, t - d, t - 8 * h),
                meta("b-3", "b1", t + d, t - d, t - 9 * h),
                meta("b-4", "b1", t + d, t - d, t - 10 * h),
            ],
            TenantPolicy {
                max_sessions_per_tenant: Some(3),
                ..TenantPolicy::default()
            },
        )
        .await;
        // By last activity: a2-6, updated six hours ago, was used a minute ago.
        active_at(&app, "a2-6", t - Duration::minutes(1)).await;
        let run = dry_then_real(&app, Scope::All).await;
        assert_eq!(
            (run.counts.inactive, run.counts.excess, run.total),
            (1, 3, 4)
        );
        assert_eq!(
            remaining(&app, &["a1", "a2"]).await,
            set(&["a1-1", "a2-2", "a2-6"])
        );
        assert_eq!(remaining(&app, &["b1"]).await.len(), 4);
        assert_eq!(
            ended_in_a(&app, &run).await,
            pairs(&[
                ("a2-idle", "inactive"),
                ("a1-4", "evicted-limit"),
                ("a2-3", "evicted-limit"),
                ("a2-5", "evicted-limit")
            ])
        );
    }
);

both_stores!(
    a_tenant_scoped_run_applies_only_its_tenants_policy,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (_s, h, d) = units();
        setup(
            &app,
            &[
                meta("a-idle", "a1", t + d, t - d, t - 2 * h),
                meta("a-used", "a1", t + d, t - d, t - h / 2),
                meta("b-idle", "b1", t + d, t - d, t - 2 * h),
            ],
            TenantPolicy {
                inactivity_timeout_seconds: Some(3600),
                ..TenantPolicy::default()
            },
        )
        .await;
        put(
            &app,
            "B",
            TenantPolicy {
                inactivity_timeout_seconds: Some(60),
                ..TenantPolicy::default()
            },
        )
        .await;
        let run = dry_then_real(&app, Scope::Tenant("B".into())).await;
        assert_eq!((run.counts.inactive, run.total), (1, 1));
        assert_eq!(
            remaining(&app, &["a1", "b1"]).await,
            set(&["a-idle", "a-used"])
        );
        let run = dry_then_real(&app, Scope::Tenant("A".into())).await;
        assert_eq!((run.counts.inactive, run.total), (1, 1));
        assert_eq!(remaining(&app, &["a1", "b1"]).await, set(&["a-used"]));
    }
);
