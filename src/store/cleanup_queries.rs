//! The SQL of the cleanup, built once per schema from the [`Schema`] names.
//!
//! Parameter layout shared by the layer statements: `$1` now, `$2` the inactivity cutoff, `$3`
//! the per-user limit, `$4`/`$5` whether the expired/inactive layers are on. The excess layer
//! keeps only sessions that no enabled earlier layer removes ("survivors"), so its statements
//! take the layer switches as parameters rather than assuming the earlier layers already ran:
//! a dry run deletes nothing and must still count exactly what a real run would.
//! Statements with a tenant scope come in pairs: `[unscoped, scoped]`, the tenant bound last.

use super::Backend;
use super::schema::{Schema, q};
use std::sync::Mutex;

pub struct CleanupQueries {
    pub count_expired: [&'static str; 2],
    pub count_inactive: [&'static str; 2],
    pub count_excess: [&'static str; 2],
    pub sample_expired: [&'static str; 2],
    pub sample_inactive: [&'static str; 2],
    pub sample_excess: [&'static str; 2],
    pub gauges: &'static str,
    pub delete_expired: [&'static str; 2],
    pub delete_inactive: [&'static str; 2],
    /// PostgreSQL: the quoted session table name (bound as `$1` of `heap_blocks`).
    pub session_table: &'static str,
    /// PostgreSQL: the session table's length in heap blocks, NULL before version 14 (no TID
    /// Range Scan, so a block range would read the whole table).
    pub heap_blocks: &'static str,
    /// PostgreSQL: a per-row layer within heap positions `[from, to)` (tids as text), after
    /// the layer's own parameters (expired: `$1` now; inactive: `$1` now, `$2` cutoff): `from`,
    /// `to`, then the tenant.
    pub delete_expired_range: [&'static str; 2],
    pub delete_inactive_range: [&'static str; 2],
    /// The same, at most `limit` rows (after `to`; the tenant last), in physical order; returns
    /// the count and where the first row left over is (NULL when none).
    pub delete_expired_capped: [&'static str; 2],
    pub delete_inactive_capped: [&'static str; 2],
    pub users_over_limit: &'static str,
    pub delete_excess: [&'static str; 2],
    /// PostgreSQL: `$1` name, `$2` holder, `$3` run id, `$4` seconds (the database clock).
    /// SQLite: `$4` the new expiry, `$5` now (the process clock).
    pub acquire_lease: &'static str,
    pub lease_holder: &'static str,
    pub release_lease: &'static str,
    pub record_run: &'static str,
    pub list_runs: &'static str,
}

/// One leaked set of statements per (schema, backend) for the life of the process.
pub fn queries_for(schema: &Schema, backend: Backend) -> &'static CleanupQueries {
    static CACHE: Mutex<Vec<(Schema, Backend, &'static CleanupQueries)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, found)) = cache.iter().find(|(s, b, _)| s == schema && *b == backend) {
        return found;
    }
    let built: &'static CleanupQueries = Box::leak(Box::new(CleanupQueries::new(schema, backend)));
    cache.push((schema.clone(), backend, built));
    built
}

impl CleanupQueries {
    fn new(schema: &Schema, backend: Backend) -> Self {
        let s = &schema.session;
        let st = q(&s.table);
        let (id, uid, exp, upd, created) = (
            q(&s.id),
            q(&s.user_id),
            q(&s.expires_at),
            q(&s.updated_at),
            q(&s.created_at),
        );
        let survivor = |a: &str| {
            format!("(NOT $4 OR {a}.{exp} >= $1) AND (NOT $5 OR {a}.{exp} < $1 OR {a}.{upd} >= $2)")
        };
        let activity_desc = format!("s.{upd} DESC, s.{created} DESC, s.{id} DESC");
        // Each user's survivors, most recently active first; ranks above the limit are excess.
        let ranked = |extra: &str| {
            format!(
                "SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.{uid} ORDER BY {activity_desc}) AS sk_rank \
                 FROM {st} s WHERE {} {extra}",
                survivor("s")
            )
        };
        let over_limit_users = format!(
            "SELECT s2.{uid} FROM {st} s2 WHERE {} GROUP BY s2.{uid} HAVING COUNT(*) > $3",
            survivor("s2")
        );
        let scoped = |base: &str, alias: &str, param: usize, tail: &str| -> [&'static str; 2] {
            [
                leak(format!("{base} {tail}")),
                leak(format!(
                    "{base} AND {} {tail}",
                    schema.tenant_filter(alias, param)
                )),
            ]
        };

        let count_excess_unscoped = format!(
            "SELECT CAST(COALESCE(SUM(c), 0) AS BIGINT) FROM \
             (SELECT COUNT(*) - $3 AS c FROM {st} s WHERE {} GROUP BY s.{uid} HAVING COUNT(*) > $3) x",
            survivor("s")
        );
        let count_excess_scoped = format!(
            "SELECT COUNT(*) FROM ({}) r WHERE r.sk_rank > $3 AND {}",
            ranked(&format!("AND s.{uid} IN ({over_limit_users})")),
            schema.tenant_filter("r", 6)
        );

        // Deletes by primary key of a bounded selection. PostgreSQL plans `id IN (subquery)`
        // as a hash semi-join over the whole table (one full scan per batch, quadratic over a
        // run); an array of ids makes it primary-key lookups.
        let (del_open, del_close) = match backend {
            Backend::Postgres => (format!("DELETE FROM {st} WHERE {id} = ANY(ARRAY("), "))"),
            Backend::Sqlite => (format!("DELETE FROM {st} WHERE {id} IN ("), ")"),
        };
        // Deletes in physical order (PostgreSQL 14+): a TID Range Scan reads only the range's
        // blocks, sequentially, as a plain DELETE does, where an index walk visits the heap at
        // random. `pred` is the layer on alias `s`; `n` its number of parameters.
        let range_delete = |pred: &str, n: usize| -> [&'static str; 2] {
            let (from, to) = (n + 1, n + 2);
            let base = format!(
                "DELETE FROM {st} s WHERE s.ctid >= CAST(${from} AS tid) \
                 AND s.ctid < CAST(${to} AS tid) AND {pred}"
            );
            [
                leak(base.clone()),
                leak(format!("{base} AND {}", schema.tenant_filter("s", n + 3))),
            ]
        };
        // The capped form finds the first matching row past the cap, then deletes the matching
        // rows before it: cutting by position rather than re-fetching a list of row ids keeps
        // the scan sequential.
        let capped_delete = |pred: &str, n: usize| -> [&'static str; 2] {
            let (from, to, limit) = (n + 1, n + 2, n + 3);
            let statement = |tenant: String| {
                let range = format!("s.ctid >= CAST(${from} AS tid) AND {pred}{tenant}");
                leak(format!(
                    "WITH cut AS MATERIALIZED (SELECT s.ctid FROM {st} s WHERE {range} \
                     AND s.ctid < CAST(${to} AS tid) OFFSET ${limit} LIMIT 1), \
                     d AS (DELETE FROM {st} s WHERE {range} \
                     AND s.ctid < LEAST(CAST(${to} AS tid), (SELECT cut.ctid FROM cut)) RETURNING 1) \
                     SELECT COUNT(*), (SELECT CAST(cut.ctid AS TEXT) FROM cut) FROM d"
                ))
            };
            [
                statement(String::new()),
                statement(format!(" AND {}", schema.tenant_filter("s", n + 4))),
            ]
        };
        let lease_table = q("sessionkeeper_lease");
        let acquire_lease = match backend {
            Backend::Postgres => format!(
                "INSERT INTO {lease_table} (\"name\", \"holder\", \"runId\", \"expiresAt\") \
                 VALUES ($1, $2, $3, now() + make_interval(secs => $4)) \
                 ON CONFLICT (\"name\") DO UPDATE SET \"holder\" = excluded.\"holder\", \
                 \"runId\" = excluded.\"runId\", \"expiresAt\" = excluded.\"expiresAt\" \
                 WHERE {lease_table}.\"expiresAt\" < now() OR {lease_table}.\"holder\" = excluded.\"holder\""
            ),
            Backend::Sqlite => format!(
                "INSERT INTO {lease_table} (\"name\", \"holder\", \"runId\", \"expiresAt\") \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (\"name\") DO UPDATE SET \"holder\" = excluded.\"holder\", \
                 \"runId\" = excluded.\"runId\", \"expiresAt\" = excluded.\"expiresAt\" \
                 WHERE {lease_table}.\"expiresAt\" < $5 OR {lease_table}.\"holder\" = excluded.\"holder\""
            ),
        };

        let run_cols = "\"id\", \"trigger\", \"dryRun\", \"policy\", \"expired\", \"inactive\", \"excess\", \
                        \"total\", \"startedAt\", \"finishedAt\", \"durationMs\", \"outcome\", \"error\"";
        let updates = [
            "trigger",
            "dryRun",
            "policy",
            "expired",
            "inactive",
            "excess",
            "total",
            "startedAt",
            "finishedAt",
            "durationMs",
            "outcome",
            "error",
            "instance",
        ]
        .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
        .join(", ");

        Self {
            count_expired: scoped(
                &format!("SELECT COUNT(*) FROM {st} s WHERE s.{exp} < $1"),
                "s",
                2,
                "",
            ),
            count_inactive: scoped(
                &format!("SELECT COUNT(*) FROM {st} s WHERE s.{exp} >= $1 AND s.{upd} < $2"),
                "s",
                3,
                "",
            ),
            count_excess: [leak(count_excess_unscoped), leak(count_excess_scoped)],
            sample_expired: scoped(
                &format!("SELECT s.{id}, s.{uid}, s.{exp}, s.{upd} FROM {st} s WHERE s.{exp} < $1"),
                "s",
                3,
                &format!("ORDER BY s.{exp}, s.{id} LIMIT $2"),
            ),
            sample_inactive: scoped(
                &format!(
                    "SELECT s.{id}, s.{uid}, s.{exp}, s.{upd} FROM {st} s \
                     WHERE s.{exp} >= $1 AND s.{upd} < $2"
                ),
                "s",
                4,
                &format!("ORDER BY s.{upd}, s.{id} LIMIT $3"),
            ),
            sample_excess: scoped(
                &format!(
                    "SELECT r.{id}, r.{uid}, r.{exp}, r.{upd} FROM ({}) r WHERE r.sk_rank > $3",
                    ranked(&format!("AND s.{uid} IN ({over_limit_users})"))
                ),
                "r",
                7,
                &format!("ORDER BY r.{uid}, r.sk_rank LIMIT $6"),
            ),
            gauges: leak(format!(
                "SELECT COUNT(*), \
                 CAST(COALESCE(SUM(CASE WHEN s.{exp} < $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN s.{exp} >= $1 AND s.{upd} < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM {st} s"
            )),
            delete_expired: scoped(
                &format!("{del_open}SELECT s.{id} FROM {st} s WHERE s.{exp} < $1"),
                "s",
                3,
                &format!("ORDER BY s.{exp} LIMIT $2{del_close}"),
            ),
            delete_inactive: scoped(
                &format!(
                    "{del_open}SELECT s.{id} FROM {st} s WHERE s.{exp} >= $1 AND s.{upd} < $2"
                ),
                "s",
                4,
                &format!("ORDER BY s.{upd} LIMIT $3{del_close}"),
            ),
            session_table: leak(st.clone()),
            heap_blocks: leak(
                "SELECT CASE WHEN CAST(current_setting('server_version_num') AS INT) >= 140000 \
                 THEN pg_relation_size(CAST($1 AS regclass)) / CAST(current_setting('block_size') AS BIGINT) END"
                    .to_owned(),
            ),
            delete_expired_range: range_delete(&format!("s.{exp} < $1"), 1),
            delete_inactive_range: range_delete(&format!("s.{exp} >= $1 AND s.{upd} < $2"), 2),
            delete_expired_capped: capped_delete(&format!("s.{exp} < $1"), 1),
            delete_inactive_capped: capped_delete(&format!("s.{exp} >= $1 AND s.{upd} < $2"), 2),
            users_over_limit: leak(format!(
                "SELECT s.{uid}, COUNT(*) FROM {st} s WHERE s.{uid} > $6 AND {} \
                 GROUP BY s.{uid} HAVING COUNT(*) > $3 ORDER BY s.{uid} LIMIT $7",
                survivor("s")
            )),
            delete_excess: scoped(
                &format!(
                    "{del_open}SELECT r.{id} FROM ({}) r WHERE r.sk_rank > $3",
                    ranked(&format!("AND s.{uid} > $6 AND s.{uid} <= $7"))
                ),
                "r",
                9,
                &format!("LIMIT $8{del_close}"),
            ),
            acquire_lease: leak(acquire_lease),
            lease_holder: leak(format!(
                "SELECT \"holder\", \"runId\" FROM {lease_table} WHERE \"name\" = $1"
            )),
            release_lease: leak(format!(
                "DELETE FROM {lease_table} WHERE \"name\" = $1 AND \"holder\" = $2"
            )),
            record_run: leak(format!(
                "INSERT INTO \"sessionkeeper_cleanup_run\" ({run_cols}, \"instance\") \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (\"id\") DO UPDATE SET {updates}"
            )),
            list_runs: leak(format!(
                "SELECT {run_cols} FROM \"sessionkeeper_cleanup_run\" \
                 WHERE ($1 IS NULL OR \"startedAt\" < $1 OR (\"startedAt\" = $1 AND \"id\" < $2)) \
                 ORDER BY \"startedAt\" DESC, \"id\" DESC LIMIT $3"
            )),
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}
