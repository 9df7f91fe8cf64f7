//! The cleanup applies per-tenant policies (issue 13, part 5): a tenant's inactivity and
//! absolute timeouts, its per-user limit and its tenant-wide cap, each counted in the run's
//! counts (the cap in `excess`), a dry run counting exactly what the real run then deletes,
//! tenant B untouched, unset fields falling back to the global policy. A tenant value looser
//! than the global one holds too: the global layer of a field the tenant sets leaves its
//! sessions. Both stores (PostgreSQL's global layers through the heap walk, SQLite's through
//! the indexes), the injected clock, batches of two.

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
    dry_then_real_under(app, scope, global()).await
}

/// [`dry_then_real`] under the global `policy`.
async fn dry_then_real_under(app: &TestApp, scope: Scope, policy: CleanupPolicy) -> CleanupRun {
    let users = ["a1", "a2", "b1", "c1"];
    let before = remaining(app, &users).await;
    let dry = app
        .cleanup
        .run_once(Trigger::Manual, policy, true, scope.clone())
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
        .run_once(Trigger::Manual, policy, false, scope)
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

/// The global policy of the looser-tenant tests: an hour idle, a day since sign-in, two per
/// user.
fn strict_global() -> CleanupPolicy {
    CleanupPolicy {
        inactivity_seconds: Some(3600),
        absolute_timeout_seconds: Some(86_400),
        max_sessions_per_user: 2,
        ..CleanupPolicy::default()
    }
}

both_stores!(
    a_looser_inactivity_timeout_keeps_what_the_global_one_ends,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (s, h, d) = units();
        setup(
            &app,
            &[
                // Idle past the global hour, within A's four.
                meta("a-2h", "a1", t + d, t - h * 5, t - 2 * h),
                meta("a-edge", "a1", t + d, t - h * 5, t - 4 * h + s),
                meta("a-over", "a2", t + d, t - h * 5, t - 4 * h - s),
                // B has no policy: the global hour. Three idle ones, more than a batch: the
                // heap walk's capped statement leaves A's too.
                meta("b-2h", "b1", t + d, t - h * 5, t - 2 * h),
                meta("b-3h", "b1", t + d, t - h * 5, t - 3 * h),
                meta("b-4h", "b1", t + d, t - h * 5, t - 4 * h),
                meta("b-edge", "b1", t + d, t - h * 5, t - h + s),
            ],
            TenantPolicy {
                inactivity_timeout_seconds: Some(4 * 3600),
                ..TenantPolicy::default()
            },
        )
        .await;
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!((run.counts.inactive, run.total), (4, 4));
        assert_eq!(
            remaining(&app, &["a1", "a2", "b1"]).await,
            set(&["a-2h", "a-edge", "b-edge"])
        );
        assert_eq!(
            ended_in_a(&app, &run).await,
            pairs(&[("a-over", "inactive")])
        );
        // Two seconds on, a-edge is a second past A's timeout and b-edge past the global.
        app.clock.advance(2 * s);
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!((run.counts.inactive, run.total), (2, 2));
        assert_eq!(remaining(&app, &["a1", "a2", "b1"]).await, set(&["a-2h"]));
        // A run scoped to A leaves it to A's timeout too.
        let run = dry_then_real_under(&app, Scope::Tenant("A".into()), strict_global()).await;
        assert_eq!(run.total, 0);
        assert_eq!(remaining(&app, &["a1"]).await, set(&["a-2h"]));
    }
);

both_stores!(
    a_looser_absolute_timeout_keeps_what_the_global_one_ends,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (s, h, d) = units();
        setup(
            &app,
            &[
                // Older than the global day, younger than A's three; used a minute ago.
                meta("a-2d", "a1", t + d, t - 2 * d, t - s * 60),
                meta("a-edge", "a1", t + d, t - 3 * d + s, t - s * 60),
                meta("a-over", "a2", t + d, t - 3 * d - s, t - s * 60),
                // A sets no inactivity: the global hour still ends this one (in A's own pass).
                meta("a-idle", "a2", t + d, t - 2 * d, t - 2 * h),
                meta("b-2d", "b1", t + d, t - 2 * d, t - s * 60),
                meta("b-young", "b1", t + d, t - d + s, t - s * 60),
            ],
            TenantPolicy {
                absolute_timeout_seconds: Some(3 * 86_400),
                ..TenantPolicy::default()
            },
        )
        .await;
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!(
            (run.counts.absolute, run.counts.inactive, run.total),
            (2, 1, 3)
        );
        assert_eq!(
            remaining(&app, &["a1", "a2", "b1"]).await,
            set(&["a-2d", "a-edge", "b-young"])
        );
        assert_eq!(
            ended_in_a(&app, &run).await,
            pairs(&[("a-over", "absolute-timeout"), ("a-idle", "inactive")])
        );
        app.clock.advance(2 * s);
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!((run.counts.absolute, run.total), (2, 2));
        assert_eq!(remaining(&app, &["a1", "a2", "b1"]).await, set(&["a-2d"]));
    }
);

both_stores!(
    a_looser_per_user_limit_keeps_up_to_the_tenants_limit,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (s, _h, d) = units();
        let mut sessions = Vec::new();
        for i in 1..=6 {
            sessions.push(meta(&format!("a{i}"), "a1", t + d, t - d / 2, t - i * s));
            sessions.push(meta(&format!("b{i}"), "b1", t + d, t - d / 2, t - i * s));
        }
        // Three for a2: over the global two, within A's four.
        for i in 1..=3 {
            sessions.push(meta(&format!("c{i}"), "a2", t + d, t - d / 2, t - i * s));
        }
        setup(
            &app,
            &sessions,
            TenantPolicy {
                max_sessions_per_user: Some(4),
                ..TenantPolicy::default()
            },
        )
        .await;
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!((run.counts.excess, run.total), (2 + 4, 6));
        assert_eq!(
            remaining(&app, &["a1"]).await,
            set(&["a1", "a2", "a3", "a4"])
        );
        assert_eq!(remaining(&app, &["a2"]).await, set(&["c1", "c2", "c3"]));
        assert_eq!(remaining(&app, &["b1"]).await, set(&["b1", "b2"]));
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!(run.total, 0, "a second run finds nothing more");
    }
);

both_stores!(
    tenants_overriding_different_layers_in_one_run,
    settings(),
    |app| async move {
        let t = app.clock_now();
        let (s, h, d) = units();
        add_user(&app, "c1", Some("C")).await;
        setup(
            &app,
            &[
                meta("a-idle", "a1", t + d, t - h * 5, t - 2 * h),
                meta("a-old", "a2", t + d, t - 2 * d, t - s),
                meta("c-idle", "c1", t + d, t - h * 5, t - 2 * h),
                meta("c-old", "c1", t + d, t - 2 * d, t - s),
                meta("b-idle", "b1", t + d, t - h * 5, t - 2 * h),
            ],
            TenantPolicy {
                inactivity_timeout_seconds: Some(3 * 3600),
                ..TenantPolicy::default()
            },
        )
        .await;
        put(
            &app,
            "C",
            TenantPolicy {
                absolute_timeout_seconds: Some(3 * 86_400),
                ..TenantPolicy::default()
            },
        )
        .await;
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        // A keeps its idle one, not its old one; C the reverse; B neither.
        assert_eq!(
            (run.counts.absolute, run.counts.inactive, run.total),
            (1, 2, 3)
        );
        assert_eq!(
            remaining(&app, &["a1", "a2", "b1", "c1"]).await,
            set(&["a-idle", "c-old"])
        );
    }
);

both_stores!(
    a_looser_timeout_by_the_sessions_organization,
    settings().set("TENANT_SOURCE", "organization"),
    |app| async move {
        let t = app.clock_now();
        let (s, h, d) = units();
        for u in ["a1", "a2", "b1", "c1"] {
            add_user(&app, u, None).await;
        }
        seed(
            &app,
            &[
                meta("a-2h", "a1", t + d, t - h * 5, t - 2 * h),
                meta("a-over", "a2", t + d, t - h * 5, t - 4 * h - s),
                // Another organization, and none.
                meta("b-2h", "b1", t + d, t - h * 5, t - 2 * h),
                meta("n-2h", "c1", t + d, t - h * 5, t - 2 * h),
                meta("n-fresh", "c1", t + d, t - h * 5, t - s),
            ],
        )
        .await;
        exec_sql(
            &app,
            "UPDATE \"session\" SET \"activeOrganizationId\" = 'A' WHERE \"id\" IN ('a-2h', 'a-over')",
        )
        .await;
        exec_sql(
            &app,
            "UPDATE \"session\" SET \"activeOrganizationId\" = 'B' WHERE \"id\" = 'b-2h'",
        )
        .await;
        put(
            &app,
            "A",
            TenantPolicy {
                inactivity_timeout_seconds: Some(4 * 3600),
                ..TenantPolicy::default()
            },
        )
        .await;
        let run = dry_then_real_under(&app, Scope::All, strict_global()).await;
        assert_eq!((run.counts.inactive, run.total), (3, 3));
        assert_eq!(
            remaining(&app, &["a1", "a2", "b1", "c1"]).await,
            set(&["a-2h", "n-fresh"])
        );
    }
);

both_stores!(
    a_scoped_run_ranks_all_of_a_users_sessions_and_deletes_its_tenants,
    settings().set("TENANT_SOURCE", "organization"),
    |app| async move {
        let t = app.clock_now();
        let (_s, h, d) = units();
        add_user(&app, "a1", None).await;
        // Most recently active first: b-1, a-2, a-3, b-4, a-5, a-6. With a limit of 2 the
        // ranks over all of them make a-3, b-4, a-5 and a-6 excess; a run confined to A
        // deletes A's excess only, three of them: more than a batch of two.
        let spec = [
            ("b-1", 1, "B"),
            ("a-2", 2, "A"),
            ("a-3", 3, "A"),
            ("b-4", 4, "B"),
            ("a-5", 5, "A"),
            ("a-6", 6, "A"),
        ];
        let sessions: Vec<_> = spec
            .iter()
            .map(|(id, hours, _)| meta(id, "a1", t + d, t - d, t - *hours * h))
            .collect();
        seed(&app, &sessions).await;
        for (id, _, org) in spec {
            exec_sql(
                &app,
                &format!(
                    "UPDATE \"session\" SET \"activeOrganizationId\" = '{org}' WHERE \"id\" = '{id}'"
                ),
            )
            .await;
        }
        let policy = CleanupPolicy {
            max_sessions_per_user: 2,
            ..global()
        };
        let run = dry_then_real_under(&app, Scope::Tenant("A".into()), policy).await;
        assert_eq!((run.counts.excess, run.total), (3, 3));
        assert_eq!(remaining(&app, &["a1"]).await, set(&["b-1", "a-2", "b-4"]));
    }
);
