//! Cleanup of a real Better Auth app's sessions (issue 5, steps 1 to 3): the Node app
//! (compat/node/ba-server.mjs) makes its users and sessions through its own API, the test ages
//! some of them in SQL, and `sessionkeeper cleanup` (the binary, in shared mode) must report
//! and then remove exactly what the pure plan (`domain::cleanup_plan::plan`) computes from the
//! rows, while the Node app keeps running and keeps working. On Better Auth's default names
//! and on the snake_case mapping, on SQLite (better-sqlite3) and PostgreSQL.

use crate::helpers::*;
use crate::shared::{catalog, sql};
use crate::shared_node::{Node, ba_env, snake_mapping, start_node};
use sessionkeeper::cleanup::CleanupService;
use sessionkeeper::domain::cleanup_plan::{Layer, SessionMeta, plan};
use sessionkeeper::domain::run::{Outcome, Trigger};
use sessionkeeper::domain::{CleanupPolicy, ManualClock, Scope};
use sessionkeeper::store::cleanup::Criteria;
use sessionkeeper::store::ts::Ts;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

const LIMIT: u32 = 3;

/// The session table's names as the Node app was configured (ba-server.mjs BA_SCHEMA), written
/// out here rather than taken from sessionkeeper's mapping, so the test checks the mapping.
struct Names {
    table: &'static str,
    user_id: &'static str,
    expires_at: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
    org: &'static str,
}

fn names(snake: bool) -> Names {
    if snake {
        Names {
            table: "sessions",
            user_id: "user_id",
            expires_at: "expires_at",
            created_at: "created_at",
            updated_at: "updated_at",
            org: "active_organization_id",
        }
    } else {
        Names {
            table: "session",
            user_id: "userId",
            expires_at: "expiresAt",
            created_at: "createdAt",
            updated_at: "updatedAt",
            org: "activeOrganizationId",
        }
    }
}

/// One session row as the database holds it.
#[derive(Debug, Clone)]
struct Stored {
    meta: SessionMeta,
    token: String,
    org: Option<String>,
}

async fn rows(url: &str, n: &Names) -> Vec<Stored> {
    fn decode<R: Row>(r: &R) -> Stored
    where
        for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        for<'a> Ts: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        usize: sqlx::ColumnIndex<R>,
    {
        Stored {
            meta: SessionMeta {
                id: r.get(0),
                user_id: r.get(2),
                expires_at: r.get::<Ts, _>(3).0,
                created_at: r.get::<Ts, _>(4).0,
                updated_at: r.get::<Ts, _>(5).0,
            },
            token: r.get(1),
            org: r.get(6),
        }
    }
    let q = format!(
        r#"SELECT "id", "token", "{}", "{}", "{}", "{}", "{}" FROM "{}" ORDER BY "id""#,
        n.user_id, n.expires_at, n.created_at, n.updated_at, n.org, n.table
    );
    let q = sqlx::AssertSqlSafe(q);
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let out = sqlx::query(q).fetch_all(&pool).await.unwrap();
        pool.close().await;
        out.iter().map(decode).collect()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let out = sqlx::query(q).fetch_all(&pool).await.unwrap();
        pool.close().await;
        out.iter().map(decode).collect()
    }
}

fn ids(rows: &[Stored]) -> BTreeSet<String> {
    rows.iter().map(|r| r.meta.id.clone()).collect()
}

/// The plan as `id -> layer`, and its counts per layer.
fn planned(rows: &[Stored], now: OffsetDateTime) -> BTreeMap<String, Layer> {
    let metas: Vec<SessionMeta> = rows.iter().map(|r| r.meta.clone()).collect();
    plan(&metas, &policy(), now).into_iter().collect()
}

fn counts(plan: &BTreeMap<String, Layer>) -> serde_json::Value {
    let n = |l: Layer| plan.values().filter(|x| **x == l).count();
    serde_json::json!({
        "expired": n(Layer::Expired),
        "inactive": n(Layer::Inactive),
        "excess": n(Layer::Excess),
    })
}

fn policy() -> CleanupPolicy {
    CleanupPolicy {
        max_sessions_per_user: LIMIT,
        absolute_timeout_seconds: None,
        ..CleanupPolicy::default()
    }
}

/// The environment of a `sessionkeeper` command on the app's database (shared mode, its
/// mapping, the test's session limit), as an operator would set it.
fn sk_env(url: &str, snake: bool) -> Vec<(String, String)> {
    let mut settings = Settings::new()
        .set("DATABASE_URL", url)
        .set("SESSIONKEEPER_MODE", "shared")
        .set("BETTER_AUTH_SECRET", SECRET)
        .set("MAX_SESSIONS_PER_USER", &LIMIT.to_string())
        .set("RUST_LOG", "warn");
    if snake {
        settings = snake_mapping(settings);
    }
    settings.0
}

async fn sessionkeeper(env: Vec<(String, String)>, args: &[&str]) -> (String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let shown = args.join(" ");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sessionkeeper"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "sessionkeeper {shown} failed:\n{stderr}\n{stdout}"
    );
    (stdout, stderr)
}

/// `SET col = '<ISO-8601>'`: the same text is a timestamptz literal on PostgreSQL and exactly
/// what Better Auth writes on SQLite.
fn at(t: OffsetDateTime) -> String {
    format!("'{}'", sessionkeeper::domain::timefmt::format(t))
}

/// The Better Auth tables, columns and indexes, without sessionkeeper's own.
async fn better_auth_catalog(url: &str) -> Vec<String> {
    catalog(url)
        .await
        .into_iter()
        .filter(|l| !l.contains("sessionkeeper_"))
        .collect()
}

async fn cleanup_of_a_better_auth_app(db: Db, snake: bool, with_indexes: bool) {
    let Some(dir) = crate::compat::compat_dir() else {
        return;
    };
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let url = test_db.url.clone();
    let n = names(snake);
    let node_env = ba_env(&test_db, snake);
    let server = start_node(&dir, &node_env, &[]);
    let node = Node::new(&server);

    // 1. Better Auth makes the users and sessions through its own API. Each sign-in is a new
    //    session; the cookie of each is kept by its token.
    let mut cookies: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut tokens: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (user, sessions) in [
        ("alice", 6),
        ("bob", 3),
        ("carol", 5),
        ("dave", 3),
        ("erin", 1),
    ] {
        let email = format!("{user}@example.com");
        for i in 0..sessions {
            let res = if i == 0 {
                node.sign_up(&email).await
            } else {
                node.sign_in(&email).await
            };
            let token = res.body["token"].as_str().expect("token").to_string();
            let cookie = res.session_cookie().expect("session cookie");
            cookies.insert(token.clone(), (email.clone(), cookie));
            tokens.entry(user.to_string()).or_default().push(token);
        }
    }
    let cookie_of = |user: &str, i: usize| cookies[&tokens[user][i]].1.clone();
    // Alice's sessions 0, 2 and 5 have her organization active (the organization plugin's
    // column is the tenant of TENANT_SOURCE=organization).
    let org = node
        .post(
            "/api/auth/organization/create",
            Some(&cookie_of("alice", 2)),
            serde_json::json!({"name": "Acme", "slug": "acme"}),
        )
        .await;
    assert_eq!(org.status, 200, "{:?}", org.body);
    let org_id = org.body["id"].as_str().unwrap().to_string();
    for i in [0, 2, 5] {
        let set = node
            .post(
                "/api/auth/organization/set-active",
                Some(&cookie_of("alice", i)),
                serde_json::json!({"organizationId": org_id}),
            )
            .await;
        assert_eq!(set.status, 200, "{:?}", set.body);
    }

    // Age sessions in SQL, by token (Better Auth stores tokens in plaintext). Limit 3,
    // inactivity 30 days:
    // - alice: 0 expired; 1..5 last active 1h, 2h, 3h, 3h, 5h ago, so 3 and 4 tie on updatedAt
    //   (createdAt decides: 4 is newer, 3 goes) and 5 goes: excess 3 and 5.
    // - bob: 0 expired, 1 idle for 40 days (inactive), 2 untouched.
    // - carol: 0 expired, 1 inactive, 2..4 untouched: three survivors, so no excess (the limit
    //   counts only what the earlier layers leave).
    // - dave: three untouched (at the limit). erin: expired, and idle too (counted once, expired).
    let now = sessionkeeper::domain::clock::truncate_ms(OffsetDateTime::now_utc());
    let day = Duration::days(1);
    let hour = Duration::hours(1);
    let t = |user: &str, i: usize| tokens[user][i].clone();
    let mut aging = vec![
        (t("alice", 0), n.expires_at, now - day),
        (t("bob", 0), n.expires_at, now - hour),
        (t("bob", 1), n.updated_at, now - 40 * day),
        (t("carol", 0), n.expires_at, now - 2 * day),
        (t("carol", 1), n.updated_at, now - 31 * day),
        (t("erin", 0), n.expires_at, now - 3 * day),
        (t("erin", 0), n.updated_at, now - 60 * day),
    ];
    for (i, ago) in [(1, 1), (2, 2), (3, 3), (4, 3), (5, 5)] {
        aging.push((t("alice", i), n.updated_at, now - ago * hour));
    }
    let script: String = aging
        .iter()
        .map(|(token, col, value)| {
            format!(
                r#"UPDATE "{}" SET "{col}" = {} WHERE "token" = '{token}';"#,
                n.table,
                at(*value)
            )
        })
        .collect();
    sql(&test_db, &script).await;

    // The plan, from the rows alone; and the aging did what the comment above says.
    let before = rows(&url, &n).await;
    assert_eq!(before.len(), 18);
    let expected = planned(&before, now);
    let id_of: BTreeMap<String, String> = before
        .iter()
        .map(|r| (r.token.clone(), r.meta.id.clone()))
        .collect();
    let by_hand: BTreeMap<String, Layer> = [
        (t("alice", 0), Layer::Expired),
        (t("bob", 0), Layer::Expired),
        (t("carol", 0), Layer::Expired),
        (t("erin", 0), Layer::Expired),
        (t("bob", 1), Layer::Inactive),
        (t("carol", 1), Layer::Inactive),
        (t("alice", 3), Layer::Excess),
        (t("alice", 5), Layer::Excess),
    ]
    .into_iter()
    .map(|(token, layer)| (id_of[&token].clone(), layer))
    .collect();
    assert_eq!(
        expected, by_hand,
        "the aged rows are not what the test meant"
    );
    let in_org: BTreeSet<String> = before
        .iter()
        .filter(|r| r.org.as_deref() == Some(org_id.as_str()))
        .map(|r| r.meta.id.clone())
        .collect();
    assert_eq!(
        in_org,
        [0, 2, 5].map(|i| id_of[&t("alice", i)].clone()).into()
    );

    let better_auth_before = better_auth_catalog(&url).await;
    if with_indexes {
        let (out, err) = sessionkeeper(sk_env(&url, snake), &["migrate", "--indexes"]).await;
        assert_eq!(out.matches("-- created ").count(), 6, "{out}\n{err}");
        let table = n.table;
        assert!(
            out.contains(&format!(
                r#"ON "{table}" ("{}", "{}" DESC, "{}" DESC, "id" DESC)"#,
                n.user_id, n.updated_at, n.created_at
            )),
            "{out}"
        );
    }

    // 2a. Tenant-scoped counts, sample and run through the library, on the mapped organization
    //     column: exactly the sessions of the tenant that the global plan names (ranks for the
    //     limit still taken over all of the user's sessions).
    let mut org_settings = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("TENANT_SOURCE", "organization")
        .set("MAX_SESSIONS_PER_USER", &LIMIT.to_string());
    if snake {
        org_settings = snake_mapping(org_settings);
    }
    let config = test_config(&url, &org_settings);
    let store = sessionkeeper::app::open_store(&config).await.unwrap();
    let tenant = Scope::Tenant(org_id.clone());
    let scoped_plan: BTreeMap<String, Layer> = expected
        .iter()
        .filter(|(id, _)| in_org.contains(*id))
        .map(|(id, l)| (id.clone(), *l))
        .collect();
    assert_eq!(scoped_plan.len(), 2, "alice 0 (expired) and 5 (excess)");
    let p = policy();
    let criteria = Criteria {
        policy: &p,
        now,
        scope: &tenant,
        actor: None,
        overrides: None,
    };
    let c = store.cleanup_counts(&criteria).await.unwrap();
    assert_eq!(
        serde_json::to_value(c).unwrap(),
        counts(&scoped_plan),
        "scoped counts"
    );
    let sample: BTreeMap<String, Layer> = store
        .cleanup_sample(&criteria, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.session_id, s.layer))
        .collect();
    assert_eq!(sample, scoped_plan, "scoped sample");
    let service = CleanupService::new(
        store.clone(),
        Arc::new(ManualClock::new(now)),
        config.cleanup.clone(),
    );
    let run = service
        .run_once(Trigger::Manual, p, false, tenant.clone())
        .await
        .unwrap();
    assert_eq!(run.outcome, Outcome::Ok, "{:?}", run.error);
    assert_eq!(
        serde_json::to_value(run.counts).unwrap(),
        counts(&scoped_plan)
    );
    let after_scoped = rows(&url, &n).await;
    let gone: BTreeSet<String> = ids(&before)
        .difference(&ids(&after_scoped))
        .cloned()
        .collect();
    assert_eq!(gone, scoped_plan.keys().cloned().collect(), "scoped run");
    drop(service);
    drop(store);

    // 2b. Without a tenant column (TENANT_SOURCE's default in shared mode: Better Auth has no
    //     tenantId), a tenant scope matches nothing and changes nothing; the global counts are
    //     the plan's.
    let mut plain = Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        .set("MAX_SESSIONS_PER_USER", &LIMIT.to_string());
    if snake {
        plain = snake_mapping(plain);
    }
    let config = test_config(&url, &plain);
    let store = sessionkeeper::app::open_store(&config).await.unwrap();
    let remaining_plan = planned(&after_scoped, now);
    let mut rest = expected.clone();
    rest.retain(|id, _| !scoped_plan.contains_key(id));
    assert_eq!(
        remaining_plan, rest,
        "the rest of a plan is the plan of the rest"
    );
    let all = Criteria {
        policy: &p,
        now,
        scope: &Scope::All,
        actor: None,
        overrides: None,
    };
    assert_eq!(
        serde_json::to_value(store.cleanup_counts(&all).await.unwrap()).unwrap(),
        counts(&remaining_plan)
    );
    let nobody = Criteria {
        scope: &tenant,
        ..all
    };
    assert_eq!(
        serde_json::to_value(store.cleanup_counts(&nobody).await.unwrap()).unwrap(),
        serde_json::json!({"expired": 0, "inactive": 0, "excess": 0})
    );
    assert!(store.cleanup_sample(&nobody, 100).await.unwrap().is_empty());
    // The session gauges (refreshed by each run for /metrics) on the same names.
    let cutoff = now - Duration::days(30);
    let expired = after_scoped
        .iter()
        .filter(|r| r.meta.expires_at < now)
        .count() as u64;
    let inactive = after_scoped
        .iter()
        .filter(|r| r.meta.expires_at >= now && r.meta.updated_at < cutoff)
        .count() as u64;
    let g = store.session_gauges(now, 30).await.unwrap();
    assert_eq!(
        (g.active, g.expired, g.inactive),
        (
            after_scoped.len() as u64 - expired - inactive,
            expired,
            inactive
        )
    );
    let service = CleanupService::new(
        store.clone(),
        Arc::new(ManualClock::new(now)),
        config.cleanup.clone(),
    );
    let run = service
        .run_once(Trigger::Manual, p, false, tenant.clone())
        .await
        .unwrap();
    assert_eq!(
        (run.outcome, run.total),
        (Outcome::Ok, 0),
        "{:?}",
        run.error
    );
    assert_eq!(ids(&rows(&url, &n).await), ids(&after_scoped));
    drop(service);
    drop(store);

    // 2c. The binary: the dry run reports exactly the plan and deletes nothing; the real run
    //     removes exactly the planned ids and nothing else.
    let (out, err) = sessionkeeper(sk_env(&url, snake), &["cleanup", "--dry-run", "--json"]).await;
    let dry: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(
        (dry["dryRun"].as_bool(), dry["outcome"].as_str()),
        (Some(true), Some("ok")),
        "{dry}"
    );
    assert_eq!(dry["counts"], counts(&remaining_plan), "{dry}");
    assert_eq!(dry["total"], remaining_plan.len());
    assert_eq!(dry["policy"]["maxSessionsPerUser"], LIMIT);
    let sample: BTreeMap<String, Layer> = dry["sample"]
        .as_array()
        .expect("a dry run lists a sample")
        .iter()
        .map(|s| {
            let layer = match s["layer"].as_str() {
                Some("expired") => Layer::Expired,
                Some("inactive") => Layer::Inactive,
                Some("excess") => Layer::Excess,
                other => panic!("layer {other:?}"),
            };
            (s["sessionId"].as_str().unwrap().to_string(), layer)
        })
        .collect();
    assert_eq!(sample, remaining_plan, "the sample is the whole plan here");
    for token in cookies.keys() {
        assert!(!out.contains(token.as_str()), "a token was printed");
    }
    assert_eq!(
        ids(&rows(&url, &n).await),
        ids(&after_scoped),
        "the dry run deleted"
    );

    let (out, err) = sessionkeeper(sk_env(&url, snake), &["cleanup", "--json"]).await;
    let real: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(
        (real["dryRun"].as_bool(), real["outcome"].as_str()),
        (Some(false), Some("ok")),
        "{real}"
    );
    assert_eq!(real["counts"], counts(&remaining_plan), "{real}");
    let after = rows(&url, &n).await;
    let mut want = ids(&after_scoped);
    want.retain(|id| !remaining_plan.contains_key(id));
    assert_eq!(ids(&after), want, "the real run removed something else");
    // Survivors are untouched, column by column.
    for r in &after {
        let old = before.iter().find(|b| b.meta.id == r.meta.id).unwrap();
        assert_eq!(
            (&r.meta, &r.token, &r.org),
            (&old.meta, &old.token, &old.org)
        );
    }
    assert_eq!(
        better_auth_catalog(&url).await,
        better_auth_before,
        "a Better Auth table, column or index changed"
    );

    // 3. The Node app, still running: removed sessions are null, survivors validate, sign-in
    //    and sign-up work.
    let removed: BTreeSet<String> = ids(&before).difference(&ids(&after)).cloned().collect();
    assert_eq!(removed.len(), 8);
    for (token, (email, cookie)) in &cookies {
        let who = node.whoami(cookie).await;
        if removed.contains(&id_of[token]) {
            assert_eq!(
                who, None,
                "a removed session of {email} still works in Node"
            );
        } else {
            assert_eq!(
                who.as_deref(),
                Some(email.as_str()),
                "a survivor of {email}"
            );
        }
    }
    node.sign_in("bob@example.com").await;
    let late = node.sign_up("frank@example.com").await;
    let late_cookie = late.session_cookie().unwrap();
    assert_eq!(
        node.whoami(&late_cookie).await.as_deref(),
        Some("frank@example.com")
    );

    // The Node app restarts: no migration to run and its own schema check passes, with our
    // tables (and, where made, our indexes) in its database.
    drop(server);
    let server = start_node(&dir, &node_env, &[("BA_MIGRATE", "verify")]);
    let node = Node::new(&server);
    let survivor = id_of
        .iter()
        .find(|(_, id)| !removed.contains(*id))
        .map(|(token, _)| cookies[token].clone())
        .unwrap();
    assert_eq!(node.whoami(&survivor.1).await, Some(survivor.0));
    assert_eq!(
        node.whoami(&late_cookie).await.as_deref(),
        Some("frank@example.com")
    );
    node.sign_in("dave@example.com").await;
}

mod default_names {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::cleanup_of_a_better_auth_app(crate::helpers::Db::Sqlite, false, false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::cleanup_of_a_better_auth_app(crate::helpers::Db::Postgres, false, false).await
    }
}

/// With `migrate --indexes` first (built from the mapped names; CONCURRENTLY on PostgreSQL).
mod snake_case_names {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::cleanup_of_a_better_auth_app(crate::helpers::Db::Sqlite, true, true).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::cleanup_of_a_better_auth_app(crate::helpers::Db::Postgres, true, true).await
    }
}
