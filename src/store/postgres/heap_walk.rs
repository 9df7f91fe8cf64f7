//! PostgreSQL's heap walk: the cleanup deletes a per-row layer in physical order. A TID Range
//! Scan (PostgreSQL 14+) reads only a range's blocks, sequentially, as a plain DELETE does,
//! where an index walk visits the heap at random. Reached through
//! [`CleanupStore::heap_walk`](crate::store::cleanup::CleanupStore::heap_walk).

use super::PgStore;
use crate::domain::ending::Ending;
use crate::store::Backend;
use crate::store::Result;
use crate::store::StoreError;
use crate::store::cleanup::{
    CappedBatch, Criteria, HeapPos, HeapWalk, RowLayer, pick_reach, tenant_slot,
};
use crate::store::ended::with_ending;
use crate::store::ended_sql::{Del, recorded_capped};
use crate::store::engine::{Args, Read, Run};
use crate::store::statements::leak;
use crate::store::tables::{Schema, q};
use async_trait::async_trait;
use sqlx::Postgres;

/// The statements of the walk. Per-row statements come in pairs, `[unscoped, scoped]` (the
/// absolute and inactive layers: threes, with `excluding`, see `cleanup_sql`), and
/// take the layer's own parameters first (expired: `$1` now; absolute: `$1` now, `$2` the
/// absolute cutoff; inactive: `$1` now, `$2` cutoff, `$3` the absolute cutoff), then `from`, `to` (tids as text), the cap where there is one, and the tenant.
#[derive(Debug)]
pub struct HeapSql {
    /// The quoted session table name (bound as `$1` of `heap_blocks`).
    session_table: &'static str,
    /// The session table's length in heap blocks, NULL before version 14 (no TID Range Scan,
    /// so a block range would read the whole table).
    heap_blocks: &'static str,
    expired_range: [Del; 3],
    absolute_range: [Del; 3],
    inactive_range: [Del; 3],
    /// At most `limit` rows in physical order; returns the count and where the first row
    /// left over is (NULL when none).
    expired_capped: [Del; 3],
    absolute_capped: [Del; 3],
    inactive_capped: [Del; 3],
}

/// SQL text builder for [`HeapSql`].
pub fn heap_walk_sql(schema: &Schema) -> HeapSql {
    let s = &schema.session;
    let st = q(&s.table);
    let (exp, created) = (q(&s.expires_at), q(&s.created_at));
    // The recorded forms take the ending's parameters after the tenant's.
    let excluded = |param: usize| schema.tenant_excluded("s", param, Backend::Postgres);
    let range_delete = |pred: &str, n: usize| -> [Del; 3] {
        let (from, to) = (n + 1, n + 2);
        let base = format!(
            "DELETE FROM {st} s WHERE s.ctid >= CAST(${from} AS tid) \
             AND s.ctid < CAST(${to} AS tid) AND {pred}"
        );
        let scoped = format!("{base} AND {}", schema.tenant_filter("s", n + 3));
        let excluding = format!("{base} AND {}", excluded(n + 3));
        Del::pair(schema, &super::DIALECT, [&base, &scoped, &excluding], n + 4)
    };
    // The capped form finds the first matching row past the cap, then deletes the matching
    // rows before it: cutting by position rather than re-fetching a list of row ids keeps the
    // scan sequential.
    let capped_delete = |pred: &str, n: usize| -> [Del; 3] {
        let (from, to, limit) = (n + 1, n + 2, n + 3);
        let statement = |tenant: String| {
            let range = format!("s.ctid >= CAST(${from} AS tid) AND {pred}{tenant}");
            let plain = format!(
                "WITH cut AS MATERIALIZED (SELECT s.ctid FROM {st} s WHERE {range} \
                 AND s.ctid < CAST(${to} AS tid) OFFSET ${limit} LIMIT 1), \
                 d AS (DELETE FROM {st} s WHERE {range} \
                 AND s.ctid < LEAST(CAST(${to} AS tid), (SELECT cut.ctid FROM cut)) RETURNING 1) \
                 SELECT COUNT(*) AS \"n\", (SELECT CAST(cut.ctid AS TEXT) FROM cut) AS \"cut\" FROM d"
            );
            let [records, events, both] = recorded_capped(schema, &plain, n + 5);
            Del {
                records: leak(records),
                events: leak(events),
                both: leak(both),
                plain: leak(plain),
            }
        };
        [
            statement(String::new()),
            statement(format!(" AND {}", schema.tenant_filter("s", n + 4))),
            statement(format!(" AND {}", excluded(n + 4))),
        ]
    };
    let expired = format!("s.{exp} < $1");
    let absolute = format!("s.{exp} >= $1 AND s.{created} < $2");
    let idle = crate::store::last_active::LastActive::new(schema, crate::store::Backend::Postgres)
        .before_where("s", "$2");
    let inactive = format!("s.{exp} >= $1 AND {idle} AND s.{created} >= $3");
    HeapSql {
        session_table: leak(st.clone()),
        heap_blocks: "SELECT CASE WHEN CAST(current_setting('server_version_num') AS INT) >= 140000 \
             THEN pg_relation_size(CAST($1 AS regclass)) / CAST(current_setting('block_size') AS BIGINT) END AS \"blocks\"",
        expired_range: range_delete(&expired, 1),
        absolute_range: range_delete(&absolute, 2),
        inactive_range: range_delete(&inactive, 3),
        expired_capped: capped_delete(&expired, 1),
        absolute_capped: capped_delete(&absolute, 2),
        inactive_capped: capped_delete(&inactive, 3),
    }
}

impl PgStore {
    fn heap_sql(&self) -> Result<&'static HeapSql> {
        self.sql
            .heap
            .as_ref()
            .ok_or_else(|| StoreError::Schema("no heap walk statements".into()))
    }
}

/// The layer's own parameters: now, then the cutoffs its predicate reads.
fn layer_args(c: &Criteria<'_>, layer: RowLayer) -> Args<Postgres> {
    let args = Args::new().time(c.now);
    match layer {
        RowLayer::Expired => args,
        RowLayer::Absolute => args.time(c.absolute_cutoff()),
        RowLayer::Inactive => args.time(c.cutoff()).time(c.absolute_cutoff()),
    }
}

/// The statement for the run's scope and overrides, and the ending to record with it
/// (`None`: records off).
fn pick(three: &[Del; 3], c: &Criteria<'_>, layer: RowLayer) -> (&'static str, Option<Ending>) {
    let del = *pick_reach(three, c, layer.into());
    match c.ending(layer.into()) {
        Some(end) => (del.form(&end), Some(end)),
        None => (del.plain, None),
    }
}

#[async_trait]
impl HeapWalk for PgStore {
    async fn session_heap_blocks(&self) -> Result<Option<u64>> {
        let q = self.heap_sql()?;
        let row = self
            .fetch_one(q.heap_blocks, Args::new().text(q.session_table))
            .await?;
        Ok(row
            .opt_int("blocks")?
            .map(|n| u64::try_from(n).unwrap_or(0)))
    }

    async fn delete_layer_range(
        &self,
        c: &Criteria<'_>,
        layer: RowLayer,
        from: HeapPos,
        to: u64,
        limit: u32,
    ) -> Result<Option<u64>> {
        let q = self.heap_sql()?;
        let (sql, end) = match layer {
            RowLayer::Expired => pick(&q.expired_range, c, layer),
            RowLayer::Absolute => pick(&q.absolute_range, c, layer),
            RowLayer::Inactive => pick(&q.inactive_range, c, layer),
        };
        let args = layer_args(c, layer)
            .text(&from.tid())
            .text(&HeapPos::block_start(to).tid());
        let mut args = tenant_slot(args, c, layer.into());
        if let Some(end) = &end {
            args = with_ending(args, end, end.endpoints > 0);
        }
        let args = args.finish()?;
        // Optimistic: the common case (the range holds no more than the cap) costs one plain
        // range delete; the rare overflow is undone.
        let mut tx = self.begin().await?;
        let deleted = match end {
            None => tx.execute(sql, args, self.pooler).await?,
            // The recorded form returns the delete's count as `n`.
            Some(_) => tx
                .fetch_optional(sql, args, self.pooler)
                .await?
                .map_or(Ok(0), |r| r.int("n"))
                .map(|n| u64::try_from(n).unwrap_or(0))?,
        };
        if deleted > u64::from(limit) {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(deleted))
    }

    async fn delete_layer_capped(
        &self,
        c: &Criteria<'_>,
        layer: RowLayer,
        from: HeapPos,
        to: u64,
        limit: u32,
    ) -> Result<CappedBatch> {
        let q = self.heap_sql()?;
        let (sql, end) = match layer {
            RowLayer::Expired => pick(&q.expired_capped, c, layer),
            RowLayer::Absolute => pick(&q.absolute_capped, c, layer),
            RowLayer::Inactive => pick(&q.inactive_capped, c, layer),
        };
        let args = layer_args(c, layer)
            .text(&from.tid())
            .text(&HeapPos::block_start(to).tid())
            .int(i64::from(limit));
        let mut args = tenant_slot(args, c, layer.into());
        if let Some(end) = &end {
            args = with_ending(args, end, end.endpoints > 0);
        }
        let row = self.fetch_one(sql, args).await?;
        let cut = match row.opt_text("cut")? {
            Some(t) => Some(
                HeapPos::parse(&t)
                    .ok_or_else(|| StoreError::Schema(format!("unreadable tid {t:?}")))?,
            ),
            None => None,
        };
        Ok(CappedBatch {
            deleted: u64::try_from(row.int("n")?).unwrap_or(0),
            cut,
        })
    }
}
