//! The SQL of the cleanup, built once per schema from the [`Schema`] names.
//!
//! Parameter layout shared by the layer statements: `$1` now, `$2` the inactivity cutoff, `$3`
//! the per-user limit, `$4`/`$5` whether the expired/inactive layers are on, `$6` the absolute
//! cutoff (the epoch when that layer is off: no session is older). The inactive and excess
//! layers keep only sessions that no enabled earlier layer removes ("survivors"), so their statements
//! take the layer switches as parameters rather than assuming the earlier layers already ran:
//! a dry run deletes nothing and must still count exactly what a real run would.
//! Statements with a tenant scope come in pairs: `[unscoped, scoped]`, the tenant bound last.
//! The absolute, inactive and excess layers' statements have a third variant, `excluding`:
//! unscoped, but leaving the sessions of the tenants listed in the tenant's place (those whose
//! own policy sets the layer's value, which their own passes apply alone). With no tenant
//! policy stored a run never uses it, so the common case runs the unscoped statements as is.

use super::Backend;
use super::ended_sql::Del;
use super::engine::Dialect;
use super::last_active::LastActive;
use super::statements::leak;
use super::tables::rows::{RUN_COLUMNS, pick, select, session_columns};
use super::tables::{Schema, q};

#[derive(Debug)]
pub struct CleanupSql {
    pub count_expired: [&'static str; 2],
    /// `$1` now, `$2` the absolute cutoff (then the sample's or batch's limit), the tenant.
    pub count_absolute: [&'static str; 3],
    pub sample_absolute: [&'static str; 3],
    pub delete_absolute: [Del; 3],
    pub count_inactive: [&'static str; 3],
    pub count_excess: [&'static str; 3],
    pub sample_expired: [&'static str; 2],
    pub sample_inactive: [&'static str; 3],
    pub sample_excess: [&'static str; 3],
    pub gauges: &'static str,
    pub delete_expired: [Del; 2],
    pub delete_inactive: [Del; 3],
    /// `[unscoped, excluding]` (the excluded tenants bound as `$9`).
    pub users_over_limit: [&'static str; 2],
    pub delete_excess: [Del; 3],
    /// `$1` name, `$2` holder, `$3` run id, then the expiry (see `Dialect::lease_expiry`).
    pub acquire_lease: &'static str,
    pub lease_holder: &'static str,
    pub release_lease: &'static str,
    pub record_run: &'static str,
    /// `$1` the batch size: activity rows whose session is gone.
    pub delete_orphan_activity: &'static str,
    /// `$1` now.
    pub count_verifications: &'static str,
    /// `$1` now, `$2` the batch size.
    pub delete_verifications: &'static str,
    /// `$1` now, `$2` the error: every run still `running` becomes `failed`.
    pub abandon_runs: &'static str,
    pub list_runs: &'static str,
}

impl CleanupSql {
    /// SQL text builder: one statement (pair) per field.
    pub fn new(schema: &Schema, dialect: &Dialect) -> Self {
        let s = &schema.session;
        let st = q(&s.table);
        let (id, uid, exp, upd, created) = (
            q(&s.id),
            q(&s.user_id),
            q(&s.expires_at),
            q(&s.updated_at),
            q(&s.created_at),
        );
        // Last activity: `updatedAt`, or the later of it and our stored activity.
        let last = LastActive::new(schema, dialect.backend);
        let survivor = |a: &str| {
            format!(
                "(NOT $4 OR {a}.{exp} >= $1) AND (NOT $5 OR {a}.{exp} < $1 OR {}) \
                 AND ({a}.{exp} < $1 OR {a}.{created} >= $6)",
                last.since(a, "$2")
            )
        };
        let sample = |alias: &str| {
            format!(
                "{}, {} AS \"lastActiveAt\"",
                select(
                    alias,
                    &pick(
                        &session_columns(s),
                        ["id", "userId", "expiresAt", "updatedAt"],
                    ),
                ),
                last.value(alias)
            )
        };
        let (sample_s, sample_r) = (sample("s"), sample("r"));
        let activity_desc = format!("{} DESC, s.{created} DESC, s.{id} DESC", last.value("s"));
        // Each user's survivors, most recently active first; ranks above the limit are excess.
        let ranked = |extra: &str| {
            format!(
                "SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.{uid} ORDER BY {activity_desc}) AS sk_rank \
                 FROM {st} s WHERE {} {extra}",
                survivor("s")
            )
        };
        let over_limit = |extra: &str| {
            format!(
                "SELECT s2.{uid} FROM {st} s2 WHERE {}{extra} GROUP BY s2.{uid} HAVING COUNT(*) > $3",
                survivor("s2")
            )
        };
        let over_limit_users = over_limit("");
        let scoped = |base: &str, alias: &str, param: usize, tail: &str| -> [&'static str; 2] {
            [
                leak(format!("{base} {tail}")),
                leak(format!(
                    "{base} AND {} {tail}",
                    schema.tenant_filter(alias, param)
                )),
            ]
        };
        let excluded =
            |alias: &str, param: usize| schema.tenant_excluded(alias, param, dialect.backend);
        // `scoped`, then the variant leaving the listed tenants (bound where the tenant is).
        let layered = |base: &str, alias: &str, param: usize, tail: &str| -> [&'static str; 3] {
            let [unscoped, scoped] = scoped(base, alias, param, tail);
            let excluding = leak(format!("{base} AND {} {tail}", excluded(alias, param)));
            [unscoped, scoped, excluding]
        };

        let count_excess_where = |extra: &str| {
            format!(
                "SELECT CAST(COALESCE(SUM(c), 0) AS BIGINT) AS \"n\" FROM \
                 (SELECT COUNT(*) - $3 AS c FROM {st} s WHERE {}{extra} GROUP BY s.{uid} HAVING COUNT(*) > $3) x",
                survivor("s")
            )
        };
        let count_excess_unscoped = count_excess_where("");
        // The excess layer's excluding variants leave the listed tenants' sessions out of the
        // ranking itself: their users are ranked by their tenant's own pass only.
        let count_excess_excluding = count_excess_where(&format!(" AND {}", excluded("s", 7)));
        let sample_excess_excluding = format!(
            "SELECT {sample_r} FROM ({}) r WHERE r.sk_rank > $3 ORDER BY r.{uid}, r.sk_rank LIMIT $7",
            ranked(&format!(
                "AND s.{uid} IN ({}) AND {}",
                over_limit(&format!(" AND {}", excluded("s2", 8))),
                excluded("s", 8)
            ))
        );
        let count_excess_scoped = format!(
            "SELECT COUNT(*) AS \"n\" FROM ({}) r WHERE r.sk_rank > $3 AND {}",
            ranked(&format!("AND s.{uid} IN ({over_limit_users})")),
            schema.tenant_filter("r", 7)
        );

        // Deletes by primary key of a bounded selection (see `Dialect::delete_ids`).
        let (ids_open, del_close) = dialect.delete_ids;
        let del_open = format!("DELETE FROM {st} WHERE {id} {ids_open}");
        // The excess deletes, `[unscoped, scoped, excluding]`: `$7`/`$8` the user id range,
        // `$9` the batch, `$10` the tenant's place, `$11` the users of the range that
        // `users_over_limit` found (PostgreSQL only).
        let excess_windowed = || {
            let [unscoped, scoped] = scoped(
                &format!(
                    "{del_open}SELECT r.{id} FROM ({}) r WHERE r.sk_rank > $3",
                    ranked(&format!("AND s.{uid} > $7 AND s.{uid} <= $8"))
                ),
                "r",
                10,
                &format!("LIMIT $9{del_close}"),
            );
            let excluding = format!(
                "{del_open}SELECT r.{id} FROM ({}) r WHERE r.sk_rank > $3 LIMIT $9{del_close}",
                ranked(&format!(
                    "AND s.{uid} > $7 AND s.{uid} <= $8 AND {}",
                    excluded("s", 10)
                ))
            );
            [unscoped, scoped, leak(excluding)]
        };
        // PostgreSQL ranks each listed user's survivors on their own, found through the
        // `userId` index, and deletes by `ctid`: at 1M sessions a batch of 50,000 took a third
        // to a half of the time of one window over the range's survivors (a sort of all of
        // them, spilling past `work_mem`) followed by a primary-key probe per deleted row
        // (bench/cleanup/README.md, "the excess layer"). The scoped variant ranks every
        // survivor of the user and deletes those in the tenant, as the windowed form does.
        let per_user = |inner: &str, outer: &str| {
            let cols = if outer.is_empty() { "" } else { ", s.*" };
            leak(format!(
                "DELETE FROM {st} WHERE ctid = ANY(ARRAY(SELECT x.sk_ctid \
                 FROM unnest(CAST($11 AS TEXT[])) AS u(sk_uid) CROSS JOIN LATERAL \
                 (SELECT s.ctid AS sk_ctid{cols} FROM {st} s WHERE s.{uid} = u.sk_uid AND {}{inner} \
                 ORDER BY {activity_desc} OFFSET $3) x \
                 WHERE u.sk_uid > $7 AND u.sk_uid <= $8{outer} LIMIT $9))",
                survivor("s")
            ))
        };
        let excess_per_user = || {
            [
                per_user("", ""),
                per_user("", &format!(" AND {}", schema.tenant_filter("x", 10))),
                per_user(&format!(" AND {}", excluded("s", 10)), ""),
            ]
        };
        let del = |pair: [&str; 2], first: usize| Del::pair(schema, dialect, pair, first);
        let del3 = |three: [&str; 3], first: usize| Del::pair(schema, dialect, three, first);
        let lease_table = q("sessionkeeper_lease");
        let vt = q(&schema.verification);
        let (expiry, now) = dialect.lease_expiry;
        let acquire_lease = format!(
            "INSERT INTO {lease_table} (\"name\", \"holder\", \"runId\", \"expiresAt\") \
             VALUES ($1, $2, $3, {expiry}) \
             ON CONFLICT (\"name\") DO UPDATE SET \"holder\" = excluded.\"holder\", \
             \"runId\" = excluded.\"runId\", \"expiresAt\" = excluded.\"expiresAt\" \
             WHERE {lease_table}.\"expiresAt\" < {now} OR {lease_table}.\"holder\" = excluded.\"holder\""
        );

        let idle = last.before_where("s", "$2");
        let (gauge_join, gauge_idle) = (last.join("s"), last.before_joined("s", "$2"));

        let run_cols = RUN_COLUMNS.map(q).join(", ");
        // One placeholder per column, and one for the instance.
        let run_params = (1..=RUN_COLUMNS.len() + 1)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        // Every column but the key is rewritten, and the instance that ran it.
        let updates = RUN_COLUMNS[1..]
            .iter()
            .chain(&["instance"])
            .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");

        Self {
            count_expired: scoped(
                &format!("SELECT COUNT(*) AS \"n\" FROM {st} s WHERE s.{exp} < $1"),
                "s",
                2,
                "",
            ),
            count_absolute: layered(
                &format!(
                    "SELECT COUNT(*) AS \"n\" FROM {st} s WHERE s.{exp} >= $1 AND s.{created} < $2"
                ),
                "s",
                3,
                "",
            ),
            sample_absolute: layered(
                &format!("SELECT {sample_s} FROM {st} s WHERE s.{exp} >= $1 AND s.{created} < $2"),
                "s",
                4,
                &format!("ORDER BY s.{created}, s.{id} LIMIT $3"),
            ),
            delete_absolute: del3(
                layered(
                    &format!(
                        "{del_open}SELECT s.{id} FROM {st} s WHERE s.{exp} >= $1 AND s.{created} < $2"
                    ),
                    "s",
                    4,
                    &format!("ORDER BY s.{created} LIMIT $3{del_close}"),
                ),
                5,
            ),
            // Inactive: `$3` the absolute cutoff, so a dry run does not count twice a session
            // that the absolute layer removes first.
            count_inactive: layered(
                &format!(
                    "SELECT COUNT(*) AS \"n\" FROM {st} s WHERE s.{exp} >= $1 AND {idle} \
                     AND s.{created} >= $3"
                ),
                "s",
                4,
                "",
            ),
            count_excess: [
                leak(count_excess_unscoped),
                leak(count_excess_scoped),
                leak(count_excess_excluding),
            ],
            sample_expired: scoped(
                &format!("SELECT {sample_s} FROM {st} s WHERE s.{exp} < $1"),
                "s",
                3,
                &format!("ORDER BY s.{exp}, s.{id} LIMIT $2"),
            ),
            sample_inactive: layered(
                &format!(
                    "SELECT {sample_s} FROM {st} s \
                     WHERE s.{exp} >= $1 AND {idle} AND s.{created} >= $3"
                ),
                "s",
                5,
                &format!("ORDER BY s.{upd}, s.{id} LIMIT $4"),
            ),
            sample_excess: {
                let [unscoped, scoped] = scoped(
                    &format!(
                        "SELECT {sample_r} FROM ({}) r WHERE r.sk_rank > $3",
                        ranked(&format!("AND s.{uid} IN ({over_limit_users})"))
                    ),
                    "r",
                    8,
                    &format!("ORDER BY r.{uid}, r.sk_rank LIMIT $7"),
                );
                [unscoped, scoped, leak(sample_excess_excluding)]
            },
            gauges: leak(format!(
                "SELECT COUNT(*) AS \"total\", \
                 CAST(COALESCE(SUM(CASE WHEN s.{exp} < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS \"expired\", \
                 CAST(COALESCE(SUM(CASE WHEN s.{exp} >= $1 AND {gauge_idle} THEN 1 ELSE 0 END), 0) AS BIGINT) AS \"inactive\" \
                 FROM {st} s{gauge_join}"
            )),
            delete_expired: del(
                scoped(
                    &format!("{del_open}SELECT s.{id} FROM {st} s WHERE s.{exp} < $1"),
                    "s",
                    3,
                    &format!("ORDER BY s.{exp} LIMIT $2{del_close}"),
                ),
                4,
            ),
            delete_inactive: del3(
                layered(
                    &format!(
                        "{del_open}SELECT s.{id} FROM {st} s WHERE s.{exp} >= $1 AND {idle} \
                         AND s.{created} >= $3"
                    ),
                    "s",
                    5,
                    &format!("ORDER BY s.{upd} LIMIT $4{del_close}"),
                ),
                6,
            ),
            users_over_limit: ["", &format!(" AND {}", excluded("s", 9))].map(|extra| {
                leak(format!(
                    "SELECT s.{uid} AS \"userId\", COUNT(*) AS \"n\" FROM {st} s WHERE s.{uid} > $7 AND {}{extra} \
                     GROUP BY s.{uid} HAVING COUNT(*) > $3 ORDER BY s.{uid} LIMIT $8",
                    survivor("s")
                ))
            }),
            delete_excess: del3(
                match dialect.backend {
                    Backend::Postgres => excess_per_user(),
                    Backend::Sqlite => excess_windowed(),
                },
                12,
            ),
            acquire_lease: leak(acquire_lease),
            lease_holder: leak(format!(
                "SELECT \"holder\", \"runId\" FROM {lease_table} WHERE \"name\" = $1"
            )),
            release_lease: leak(format!(
                "DELETE FROM {lease_table} WHERE \"name\" = $1 AND \"holder\" = $2"
            )),
            delete_orphan_activity: leak(format!(
                "DELETE FROM \"sessionkeeper_activity\" WHERE \"sessionId\" {ids_open}SELECT a.\"sessionId\" FROM \"sessionkeeper_activity\" a \
                 WHERE NOT EXISTS (SELECT 1 FROM {st} s WHERE s.{id} = a.\"sessionId\") LIMIT $1{del_close}"
            )),
            count_verifications: leak(format!(
                "SELECT COUNT(*) AS \"n\" FROM {vt} WHERE \"expiresAt\" < $1"
            )),
            delete_verifications: leak(format!(
                "DELETE FROM {vt} WHERE \"id\" {ids_open}SELECT \"id\" FROM {vt} WHERE \"expiresAt\" < $1 LIMIT $2{del_close}"
            )),
            record_run: leak(format!(
                "INSERT INTO \"sessionkeeper_cleanup_run\" ({run_cols}, \"instance\") \
                 VALUES ({run_params}) \
                 ON CONFLICT (\"id\") DO UPDATE SET {updates}"
            )),
            abandon_runs: leak(
                "UPDATE \"sessionkeeper_cleanup_run\" SET \"outcome\" = 'failed', \"error\" = $2, \
                 \"finishedAt\" = $1 WHERE \"outcome\" = 'running'"
                    .to_owned(),
            ),
            list_runs: leak(format!(
                "SELECT {run_cols} FROM \"sessionkeeper_cleanup_run\" \
                 WHERE ($1 IS NULL OR \"startedAt\" < $1 OR (\"startedAt\" = $1 AND \"id\" < $2)) \
                 AND ($4 IS NULL OR \"tenantId\" = $4) \
                 ORDER BY \"startedAt\" DESC, \"id\" DESC LIMIT $3"
            )),
        }
    }
}
